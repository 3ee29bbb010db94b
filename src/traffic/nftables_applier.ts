/**
 * flanneld's rules in nftables mode (net-conf `EnableNFTables`), in one `nft -f` transaction.
 *
 * At start, as flanneld's main and `NFTablesManager`: the iptables mode's chains are removed,
 * both tables are created (whatever the families, as flanneld's `Init`), then masquerade
 * (IPv4, IPv6) and forward (IPv4, IPv6) chains are flushed and filled. Unlike flanneld, which
 * only flushes and deletes FLANNEL-POSTRTG (and looks for FLANNEL-FWD in the wrong table), the
 * iptables clean-up here also removes the jumps and FLANNEL-FWD; and a chain no longer wanted is
 * deleted.
 *
 * flanneld never checks its nftables rules again; here each table is listed at every resync and
 * compared with its listing right after the last install, so the check does not depend on how a
 * given nft version prints rules. A difference re-applies the family's whole transaction.
 *
 * @module
 */
import type { Family } from "../net/ip.ts";
import type { ModeApplier, TrafficAction } from "./actions.ts";
import type { ResolvedTrafficConfig } from "./config.ts";
import { FAMILY_NAME, purposeOf, removeFlannelChains } from "./iptables_tool.ts";
import {
  addTableLine,
  deleteChainLine,
  forwardLines,
  listedChains,
  masqueradeLines,
  NFT_FORWARD_CHAIN,
  NFT_MASQ_CHAIN,
  NFT_TABLES,
} from "./nftables_rules.ts";
import { NftTool } from "./nft_tool.ts";
import type { CommandRunner } from "./runner.ts";

const FAMILIES: readonly Family[] = [4, 6];

export class NftablesApplier implements ModeApplier {
  readonly #nft: NftTool;
  #comments = true;
  #fullyRandom = false;
  /** Each table's listing right after our last transaction. */
  readonly #installed = new Map<Family, string>();

  constructor(
    private readonly config: ResolvedTrafficConfig,
    private readonly runner: CommandRunner,
  ) {
    this.#nft = new NftTool(runner);
  }

  async install(actions: TrafficAction[]): Promise<void> {
    this.#comments = await this.#nft.probeComments();
    await removeFlannelChains({
      runner: this.runner,
      variant: this.config.iptablesVariant,
      tools: new Map(),
      wanted: () => false,
      reason: () => "nftables mode",
    }, actions);
    if (this.config.ipMasq && this.config.fullyRandom) {
      this.#fullyRandom = await this.#nft.probeFullyRandom(this.#comments);
      if (!this.#fullyRandom) {
        actions.push({
          kind: "skipped",
          unit: "nftables masquerade fully-random",
          reason: "the kernel or nft does not support it",
        });
      }
    }
    const unwanted = await this.#unwantedChains();
    await this.#nft.apply([...this.#lines(FAMILIES), ...unwanted.map((u) => u.line)]);
    for (const removed of unwanted) {
      actions.push({ kind: "removed", unit: removed.unit, reason: removed.reason });
    }
    for (const unit of this.#units(FAMILIES)) actions.push({ kind: "installed", unit });
    await this.#record(FAMILIES);
  }

  async check(): Promise<string[]> {
    const listings = await Promise.all(
      FAMILIES.map((family) => this.#nft.listTable(NFT_TABLES[family])),
    );
    const broken = FAMILIES.filter((family, i) => {
      const installed = this.#installed.get(family);
      return listings[i] === undefined || installed === undefined || listings[i] !== installed;
    });
    return this.#units(broken);
  }

  async repair(units: readonly string[], actions: TrafficAction[]): Promise<void> {
    const families = FAMILIES.filter((family) =>
      this.#units([family]).some((unit) => units.includes(unit))
    );
    if (families.length === 0) return;
    await this.#nft.apply(this.#lines(families));
    for (const unit of this.#units(families).filter((unit) => units.includes(unit))) {
      actions.push({ kind: "repaired", unit });
    }
    await this.#record(families);
  }

  #configured(family: Family) {
    return this.config.families.find((networks) => networks.family === family);
  }

  /** The transaction for `families`, in flanneld's order: tables, masquerade, forward. */
  #lines(families: readonly Family[]): string[] {
    const lines = families.map((family) => addTableLine(NFT_TABLES[family], this.#comments));
    if (this.config.ipMasq) {
      for (const family of families) {
        const networks = this.#configured(family);
        if (!networks) continue;
        lines.push(
          ...masqueradeLines(
            family,
            networks.network,
            networks.subnet,
            this.#fullyRandom,
            this.#comments,
          ),
        );
      }
    }
    if (this.config.forwardRules) {
      for (const family of families) {
        const networks = this.#configured(family);
        if (networks) lines.push(...forwardLines(family, networks.network, this.#comments));
      }
    }
    return lines;
  }

  /** The unit names of `families`; a family with no rules is known by its (empty) table. */
  #units(families: readonly Family[]): string[] {
    return families.flatMap((family) => {
      const name = FAMILY_NAME[family];
      const units = [];
      if (this.#configured(family)) {
        if (this.config.ipMasq) units.push(`nftables ${name} ${purposeOf("nat")}`);
        if (this.config.forwardRules) units.push(`nftables ${name} ${purposeOf("filter")}`);
      }
      return units.length > 0 ? units : [`nftables ${name} table`];
    });
  }

  #wants(family: Family, chain: string): boolean {
    if (!this.#configured(family)) return false;
    return chain === NFT_MASQ_CHAIN ? this.config.ipMasq : this.config.forwardRules;
  }

  /** flannel chains that exist but are no longer wanted, and the lines that delete them. */
  async #unwantedChains(): Promise<Array<{ line: string; unit: string; reason: string }>> {
    const found = [];
    for (const family of FAMILIES) {
      const listing = await this.#nft.listTable(NFT_TABLES[family]);
      if (listing === undefined) continue;
      for (const chain of listedChains(listing)) {
        if (![NFT_MASQ_CHAIN, NFT_FORWARD_CHAIN].includes(chain) || this.#wants(family, chain)) {
          continue;
        }
        const purpose = chain === NFT_MASQ_CHAIN ? "masquerade" : "forward";
        found.push({
          line: deleteChainLine(family, chain),
          unit: `nftables ${FAMILY_NAME[family]} ${purpose}`,
          reason: !this.#configured(family)
            ? `${FAMILY_NAME[family]} is not configured`
            : `${purpose === "masquerade" ? "masquerade is" : "forward rules are"} off`,
        });
      }
    }
    return found;
  }

  async #record(families: readonly Family[]): Promise<void> {
    for (const family of families) {
      const listing = await this.#nft.listTable(NFT_TABLES[family]);
      if (listing === undefined) this.#installed.delete(family);
      else this.#installed.set(family, listing);
    }
  }
}

/**
 * iptables and iptables-restore of one family: their version, a chain's listing
 * (`iptables -S`), a transaction (`iptables-restore --noflush`), and the removal of flannel
 * chains that are not wanted (also the iptables clean-up of the nftables mode).
 *
 * @module
 */
import type { Family } from "../net/ip.ts";
import type { TrafficAction } from "./actions.ts";
import type { IptablesVariant } from "./config.ts";
import {
  appendLines,
  type ChainListing,
  FLANNEL_CHAINS,
  hasLeftovers,
  type IptablesTable,
  parseIptablesVersion,
  removalLines,
  restoreBlock,
} from "./iptables_rules.ts";
import { CommandError, type CommandRunner, MissingToolError, runChecked } from "./runner.ts";

export const FAMILY_NAME: Record<Family, string> = { 4: "IPv4", 6: "IPv6" };
/** Seconds to wait for the xtables lock (legacy iptables); the next resync tries again. */
const LOCK_WAIT_SECONDS = "5";

/** The programs of one family in one variant. */
export function iptablesBinaries(
  family: Family,
  variant: IptablesVariant,
): { iptables: string; restore: string } {
  const base = family === 4 ? "iptables" : "ip6tables";
  const name = variant === "default" ? base : `${base}-${variant}`;
  return { iptables: name, restore: `${name}-restore` };
}

/** What a table's flannel chain is for, in unit names ("iptables IPv4 masquerade"). */
export function purposeOf(table: IptablesTable): "masquerade" | "forward" {
  return table === "nat" ? "masquerade" : "forward";
}

/** iptables and iptables-restore of one family. */
export class IptablesTool {
  readonly binaries: { iptables: string; restore: string };
  #wait = true;
  #randomFully = false;
  #description = "";

  constructor(
    readonly family: Family,
    variant: IptablesVariant,
    private readonly runner: CommandRunner,
  ) {
    this.binaries = iptablesBinaries(family, variant);
  }

  /** Whether `--random-fully` is available (iptables 1.6.2 and later), once probed. */
  get randomFully(): boolean {
    return this.#randomFully;
  }

  /** e.g. "iptables 1.8.9 (nf_tables)", once probed. */
  get description(): string {
    return this.#description;
  }

  /** Asks both programs for their version; a missing one is a MissingToolError. */
  async probe(): Promise<void> {
    const text = await runChecked(this.runner, [this.binaries.iptables, "--version"]);
    await runChecked(this.runner, [this.binaries.restore, "--version"]);
    const version = parseIptablesVersion(text);
    if (!version) {
      throw new Error(`cannot read the version of ${this.binaries.iptables}: ${text.trim()}`);
    }
    // flanneld's tests: go-iptables `HasRandomFully`, flannel `ipTablesHasWaitSupport`.
    this.#wait = version.atLeast162;
    this.#randomFully = version.atLeast162;
    this.#description = `${this.binaries.iptables} ${version.version} (${version.backend})`;
  }

  #argv(table: IptablesTable, chain: string): string[] {
    const wait = this.#wait ? ["-w", LOCK_WAIT_SECONDS] : [];
    return [this.binaries.iptables, ...wait, "-t", table, "-S", chain];
  }

  /** The `-A` lines of `table`'s `builtin` chain and of `chain` (undefined if it is absent). */
  async list(table: IptablesTable, builtin: string, chain: string): Promise<ChainListing> {
    const [builtinResult, chainResult] = await Promise.all([
      this.runner.run(this.#argv(table, builtin)),
      this.runner.run(this.#argv(table, chain)),
    ]);
    if (builtinResult.code !== 0) {
      throw new CommandError(this.#argv(table, builtin), builtinResult);
    }
    // Exit status 1 is "no such chain" (iptables-nft 1.8.9 words it "incompatible"); anything
    // else wrong shows up when the transaction that would create the chain fails.
    if (chainResult.code !== 0 && chainResult.code !== 1) {
      throw new CommandError(this.#argv(table, chain), chainResult);
    }
    return {
      builtin: appendLines(builtinResult.stdout),
      chain: chainResult.code === 0 ? appendLines(chainResult.stdout) : undefined,
    };
  }

  /** Applies `lines` to `table` in one `iptables-restore --noflush` transaction. */
  async restore(table: IptablesTable, lines: readonly string[]): Promise<void> {
    const wait = this.#wait ? ["-w", LOCK_WAIT_SECONDS] : [];
    await runChecked(
      this.runner,
      [this.binaries.restore, "--noflush", ...wait],
      restoreBlock(table, lines),
    );
  }
}

export interface FlannelChainRemoval {
  runner: CommandRunner;
  variant: IptablesVariant;
  /** Tools already probed, by family. */
  tools: ReadonlyMap<Family, IptablesTool>;
  /** Whether this family's flannel chain in this table is to stay. */
  wanted(family: Family, table: IptablesTable): boolean;
  /** Why it is removed, for the report. */
  reason(family: Family, table: IptablesTable): string;
}

/**
 * Removes every flannel chain (with the jumps to it) that is not wanted, in both families and
 * both tables. A family whose programs are not installed is skipped and reported.
 */
export async function removeFlannelChains(
  removal: FlannelChainRemoval,
  actions: TrafficAction[],
): Promise<void> {
  for (const family of [4, 6] as const) {
    let tool = removal.tools.get(family);
    if (!tool) {
      tool = new IptablesTool(family, removal.variant, removal.runner);
      try {
        await tool.probe();
      } catch (error) {
        if (!(error instanceof MissingToolError)) throw error;
        actions.push({
          kind: "skipped",
          unit: `iptables ${FAMILY_NAME[family]} clean-up`,
          reason: error.message,
        });
        continue;
      }
    }
    for (const { table, builtin, chain } of FLANNEL_CHAINS) {
      if (removal.wanted(family, table)) continue;
      const listing = await tool.list(table, builtin, chain);
      if (!hasLeftovers(chain, listing)) continue;
      await tool.restore(table, removalLines(chain, listing));
      actions.push({
        kind: "removed",
        unit: `iptables ${FAMILY_NAME[family]} ${purposeOf(table)}`,
        reason: removal.reason(family, table),
      });
    }
  }
}

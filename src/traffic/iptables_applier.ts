/**
 * flanneld's rules in iptables mode: installed, checked and repaired through `iptables -S` (one
 * listing per chain) and `iptables-restore --noflush` (one transaction per chain).
 *
 * At start, as flanneld's main and `SetupAndEnsure*Rules`: the nftables mode's tables are
 * deleted, the previous lease's masquerade rules are deleted when the Network or the lease
 * changed, then masquerade (IPv4, IPv6), then forward (IPv4, IPv6) are installed. Unlike
 * flanneld, a flannel chain that is no longer wanted (masquerade or forward rules turned off, a
 * family no longer configured) is removed, so nothing is left behind.
 *
 * @module
 */
import type { Family } from "../net/ip.ts";
import type { ModeApplier, TrafficAction } from "./actions.ts";
import { type FamilyNetworks, leaseChanged, type ResolvedTrafficConfig } from "./config.ts";
import {
  forwardRules,
  installLines,
  type IptablesRuleSet,
  type IptablesTable,
  masqueradeRules,
  ruleSetInPlace,
  ruleText,
  teardownLines,
} from "./iptables_rules.ts";
import { FAMILY_NAME, IptablesTool, purposeOf, removeFlannelChains } from "./iptables_tool.ts";
import { removeNftablesState } from "./nft_tool.ts";
import type { CommandRunner } from "./runner.ts";

interface Unit {
  name: string;
  family: Family;
  set: IptablesRuleSet;
  tool: IptablesTool;
}

export class IptablesApplier implements ModeApplier {
  readonly #tools = new Map<Family, IptablesTool>();
  /** Whether each family's MASQUERADE rules carry --random-fully. */
  readonly #randomFully = new Map<Family, boolean>();
  #units: Unit[] = [];

  constructor(
    private readonly config: ResolvedTrafficConfig,
    private readonly runner: CommandRunner,
  ) {}

  /** The programs in use, e.g. "iptables 1.8.9 (nf_tables)", once installed. */
  get tools(): string[] {
    return [...this.#tools.values()].map((tool) => tool.description);
  }

  async install(actions: TrafficAction[]): Promise<void> {
    for (const { family } of this.config.families) {
      const tool = new IptablesTool(family, this.config.iptablesVariant, this.runner);
      await tool.probe();
      this.#tools.set(family, tool);
      this.#randomFully.set(family, this.config.fullyRandom && tool.randomFully);
      if (this.config.ipMasq && this.config.fullyRandom && !tool.randomFully) {
        actions.push({
          kind: "skipped",
          unit: `iptables ${FAMILY_NAME[family]} --random-fully`,
          reason: `${tool.description} does not support it`,
        });
      }
    }
    this.#units = this.#desiredUnits();
    await removeNftablesState(this.runner, actions);
    await removeFlannelChains({
      runner: this.runner,
      variant: this.config.iptablesVariant,
      tools: this.#tools,
      wanted: (family, table) =>
        this.#units.some((unit) => unit.family === family && unit.set.table === table),
      reason: (family, table) => this.#whyUnwanted(family, table),
    }, actions);
    for (const unit of this.#units) {
      if (unit.set.table === "nat") await this.#removePreviousLease(unit, actions);
      await this.#installUnit(unit);
      actions.push({ kind: "installed", unit: unit.name });
    }
  }

  /** Lists every chain at once (the listings are read-only), then compares. */
  async check(): Promise<string[]> {
    const listings = await Promise.all(
      this.#units.map((unit) => unit.tool.list(unit.set.table, unit.set.builtin, unit.set.chain)),
    );
    return this.#units.filter((unit, i) => !ruleSetInPlace(unit.set, listings[i]!))
      .map((unit) => unit.name);
  }

  async repair(units: readonly string[], actions: TrafficAction[]): Promise<void> {
    for (const unit of this.#units.filter((unit) => units.includes(unit.name))) {
      await this.#installUnit(unit);
      actions.push({ kind: "repaired", unit: unit.name });
    }
  }

  /** flanneld's order: masquerade of each family, then forward of each family. */
  #desiredUnits(): Unit[] {
    const unit = (networks: FamilyNetworks, set: IptablesRuleSet): Unit => ({
      name: `iptables ${FAMILY_NAME[networks.family]} ${purposeOf(set.table)}`,
      family: networks.family,
      set,
      tool: this.#tools.get(networks.family)!,
    });
    const { families, ipMasq, forwardRules: forward } = this.config;
    return [
      ...(ipMasq ? families : []).map((networks) =>
        unit(
          networks,
          masqueradeRules(
            networks.family,
            networks.network,
            networks.subnet,
            this.#randomFully.get(networks.family)!,
          ),
        )
      ),
      ...(forward ? families : []).map((networks) =>
        unit(networks, forwardRules(networks.network))
      ),
    ];
  }

  /**
   * One transaction, then a listing to confirm it: should iptables ever print a rule unlike
   * our text, that is an error naming the line, not a silent repair at every resync.
   */
  async #installUnit(unit: Unit): Promise<void> {
    const { table, builtin, chain } = unit.set;
    await unit.tool.restore(
      table,
      installLines(unit.set, await unit.tool.list(table, builtin, chain)),
    );
    const after = await unit.tool.list(table, builtin, chain);
    if (ruleSetInPlace(unit.set, after)) return;
    const expected = unit.set.rules.slice(1).map((rule) => ruleText("-A", rule));
    const listed = after.chain ?? [];
    const at = expected.findIndex((line, i) => listed[i] !== line);
    throw new Error(
      `${unit.name}: installed, but ${unit.tool.binaries.iptables} lists ` +
        (at < 0
          ? `POSTROUTING/FORWARD as ${JSON.stringify(after.builtin)}`
          : `${JSON.stringify(listed[at] ?? "nothing")} where ${
            JSON.stringify(expected[at])
          } was written`),
    );
  }

  /** flanneld's recycling of the old lease's masquerade rules (`SetupAndEnsureMasqRules`). */
  async #removePreviousLease(unit: Unit, actions: TrafficAction[]): Promise<void> {
    const current = this.config.families.find(({ family }) => family === unit.family)!;
    const previous = this.config.previous.find(({ family }) => family === unit.family)!;
    if (!leaseChanged(current, previous)) return;
    const old = masqueradeRules(
      unit.family,
      previous.network,
      previous.subnet,
      this.#randomFully.get(unit.family)!,
    );
    const listing = await unit.tool.list(old.table, old.builtin, old.chain);
    const lines = teardownLines(old, listing);
    if (lines.length === 0) return;
    await unit.tool.restore(old.table, lines);
    const unknown = previous.network.endsWith("/0") && previous.subnet.endsWith("/0");
    actions.push({
      kind: "removed",
      unit: unit.name,
      reason: unknown
        ? "no previous lease (subnet.env): the lease-independent rules are installed afresh"
        : `the lease was ${previous.subnet} in ${previous.network}`,
    });
  }

  #whyUnwanted(family: Family, table: IptablesTable): string {
    if (!this.config.families.some((networks) => networks.family === family)) {
      return `${FAMILY_NAME[family]} is not configured`;
    }
    return table === "nat" ? "masquerade is off" : "forward rules are off";
  }
}

/**
 * flanneld's own command sequence at start, run inside a namespace with the payloads of
 * flannel_golden.ts, so kernel tests can compare our rules with flanneld's and switch a node
 * between the two. Follows flannel's code step by step, including its `-C` checks:
 *
 * iptables mode (main.go, iptables.go): delete the nftables tables; per masquerade family the
 * old lease's teardown (`ChainExists` + `-C` per rule, then one `-D` transaction), `ClearChain`
 * (`-N`, or `-F` when it exists), then the bootstrap (`-C` per rule; `-D` before `-A` for those
 * that exist); then the same `ClearChain` + bootstrap for forward.
 *
 * nftables mode (nftables.go): `ClearAndDeleteChain` of nat FLANNEL-POSTRTG and nat FLANNEL-FWD
 * in both families (the `-X` fails while POSTROUTING still jumps there; flanneld logs that),
 * then one `nft -f` per step: each table, masquerade per family, forward per family.
 *
 * @module
 */
import type { Netns } from "../helpers/netns.ts";
import { FLANNEL_NFT_TABLES } from "./flannel_golden.ts";

export type Variant = "default" | "nft" | "legacy";

export function iptablesCommand(family: 4 | 6, variant: Variant): string {
  const base = family === 4 ? "iptables" : "ip6tables";
  return variant === "default" ? base : `${base}-${variant}`;
}

/** Splits a restore line into arguments; the double-quoted comment is one argument. */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((match) => match[1] ?? match[2]!);
}

async function must(ns: Netns, argv: string[], stdin?: string): Promise<void> {
  const result = await ns.run(argv, stdin === undefined ? {} : { stdin });
  if (result.code !== 0) throw new Error(`${argv.join(" ")}: ${result.stderr.trim()}`);
}

class FlanneldIptables {
  constructor(
    private readonly ns: Netns,
    private readonly family: 4 | 6,
    private readonly variant: Variant,
  ) {}

  #iptables(args: string[]) {
    return this.ns.run([iptablesCommand(this.family, this.variant), "--wait", ...args]);
  }

  async #chainExists(table: string, chain: string): Promise<boolean> {
    return (await this.#iptables(["-t", table, "-S", chain, "1"])).code === 0;
  }

  async #exists(table: string, appendLine: string): Promise<boolean> {
    const [, chain, ...spec] = words(appendLine);
    return (await this.#iptables(["-t", table, "-C", chain!, ...spec])).code === 0;
  }

  async #restore(table: string, lines: string[]): Promise<void> {
    const restore = `${iptablesCommand(this.family, this.variant)}-restore`;
    await must(
      this.ns,
      [restore, "--noflush", "--wait"],
      `*${table}\n${lines.join("\n")}\nCOMMIT\n`,
    );
  }

  async clearChain(table: string, chain: string): Promise<void> {
    if ((await this.#iptables(["-t", table, "-N", chain])).code === 0) return;
    const flushed = await this.#iptables(["-t", table, "-F", chain]);
    if (flushed.code !== 0) throw new Error(`-F ${chain}: ${flushed.stderr}`);
  }

  /** `teardownIPTables` of a golden payload's rules. */
  async teardown(payload: string): Promise<void> {
    const [head, ...rest] = payload.trim().split("\n");
    const table = head!.slice(1);
    const chain = words(rest[1]!)[1]!;
    if (!await this.#chainExists(table, chain)) return;
    const lines: string[] = [];
    for (const line of rest.filter((line) => line.startsWith("-A "))) {
      if (await this.#exists(table, line)) lines.push(`-D${line.slice(2)}`);
    }
    if (lines.length > 0) await this.#restore(table, lines);
  }

  /** `ClearChain` then `ipTablesBootstrap` of a golden payload. */
  async install(payload: string): Promise<void> {
    const [head, ...rest] = payload.trim().split("\n");
    const table = head!.slice(1);
    const appends = rest.filter((line) => line.startsWith("-A "));
    await this.clearChain(table, words(appends[1]!)[1]!);
    const lines: string[] = [];
    for (const line of appends) {
      if (await this.#exists(table, line)) lines.push(`-D${line.slice(2)}`);
      lines.push(line);
    }
    await this.#restore(table, lines);
  }

  /** `ClearAndDeleteChain`; flanneld ignores its failures. */
  async clearAndDeleteChain(table: string, chain: string): Promise<void> {
    if (!await this.#chainExists(table, chain)) return;
    if ((await this.#iptables(["-t", table, "-F", chain])).code === 0) {
      await this.#iptables(["-t", table, "-X", chain]);
    }
  }
}

export interface FlanneldIptablesStart {
  variant?: Variant;
  /** Masquerade payloads per family (flannel_golden.ts); none when --ip-masq is off. */
  masq?: Array<[4 | 6, string]>;
  /** The old lease's payloads per family, torn down first (lease changed). */
  teardown?: Array<[4 | 6, string]>;
  /** Forward payloads per family; none with --iptables-forward-rules=false. */
  forward?: Array<[4 | 6, string]>;
}

/** flanneld's start in iptables mode. */
export async function flanneldIptables(ns: Netns, start: FlanneldIptablesStart): Promise<void> {
  const variant = start.variant ?? "default";
  for (const table of ["ip flannel-ipv4", "ip6 flannel-ipv6"]) {
    await ns.run(["nft", "delete", "table", ...table.split(" ")]);
  }
  for (const [family, payload] of start.masq ?? []) {
    const tool = new FlanneldIptables(ns, family, variant);
    const old = start.teardown?.find(([f]) => f === family);
    if (old) await tool.teardown(old[1]);
    await tool.install(payload);
  }
  for (const [family, payload] of start.forward ?? []) {
    await new FlanneldIptables(ns, family, variant).install(payload);
  }
}

/** flanneld's start in nftables mode, with the nft transactions of flannel_golden.ts. */
export async function flanneldNftables(
  ns: Netns,
  transactions: { masq?: string[]; forward?: string[] },
): Promise<void> {
  for (const family of [4, 6] as const) {
    const tool = new FlanneldIptables(ns, family, "default");
    await tool.clearAndDeleteChain("nat", "FLANNEL-POSTRTG");
    await tool.clearAndDeleteChain("nat", "FLANNEL-FWD");
  }
  const steps = [
    ...FLANNEL_NFT_TABLES.trim().split("\n").map((line) => `${line}\n`),
    ...transactions.masq ?? [],
    ...transactions.forward ?? [],
  ];
  for (const step of steps) await must(ns, ["nft", "-f", "-"], step);
}

/**
 * Netfilter state of a test namespace as text that can be compared between namespaces, and a
 * CommandRunner that runs our tools inside one.
 *
 * @module
 */
import type { Netns } from "../helpers/netns.ts";
import { DenoCommandRunner } from "../../src/traffic/runner.ts";
import { iptablesCommand, type Variant } from "./flanneld_emulation.ts";

/** Runs the module's tools inside `ns`. */
export function runnerIn(ns: Netns): DenoCommandRunner {
  return new DenoCommandRunner({ prefix: ns.command([]) });
}

/**
 * `iptables-save` without what differs between two namespaces with the same rules: comment
 * lines (dates, warnings), counters, and tables nobody wrote to (only built-in chains with
 * their default policy, no rules).
 */
export async function savedRules(ns: Netns, family: 4 | 6, variant: Variant): Promise<string> {
  const text = await ns.check([`${iptablesCommand(family, variant)}-save`]);
  const blocks = text.split(/^(?=\*)/m).map((block) =>
    block.split("\n").filter((line) => line !== "" && !line.startsWith("#"))
      .map((line) => line.replace(/\[\d+:\d+\]$/, "[0:0]"))
  ).filter((lines) => lines[0]?.startsWith("*"));
  const touched = blocks.filter((lines) =>
    lines.some((line) => line.startsWith("-") || /^:\S+ - /.test(line))
  );
  return touched.map((lines) => lines.join("\n")).join("\n");
}

/** `nft list ruleset` with iptables-nft's own warnings dropped. */
export async function nftRuleset(ns: Netns): Promise<string> {
  const text = await ns.check(["nft", "list", "ruleset"]);
  return text.split("\n").filter((line) => !line.startsWith("# Warning")).join("\n");
}

/** Every line of `iptables-save` (both families) that names a flannel chain or comment. */
export async function flannelIptablesLines(ns: Netns, variant: Variant): Promise<string[]> {
  const lines: string[] = [];
  for (const family of [4, 6] as const) {
    const text = await savedRules(ns, family, variant);
    lines.push(...text.split("\n").filter((line) => /FLANNEL|flanneld/.test(line)));
  }
  return lines;
}

/**
 * The flannel tables only: iptables-nft leaves its own (then empty) `ip nat` and `ip filter`
 * tables, which belong to iptables and to whoever else writes there, as flanneld leaves them.
 */
export async function flannelNftRuleset(ns: Netns): Promise<string> {
  const tables = [];
  for (const table of ["ip flannel-ipv4", "ip6 flannel-ipv6"]) {
    const result = await ns.run(["nft", "list", "table", ...table.split(" ")]);
    tables.push(result.code === 0 ? result.stdout : `(no table ${table})`);
  }
  return tables.join("");
}

/** The flannel tables `nft list tables` shows. */
export async function flannelNftTables(ns: Netns): Promise<string[]> {
  const text = await ns.check(["nft", "list", "tables"]);
  return text.split("\n").filter((line) => line.includes("flannel"));
}

export async function waitFor(
  what: string,
  done: () => Promise<boolean> | boolean,
  withinMs: number,
): Promise<number> {
  const started = performance.now();
  while (!await done()) {
    if (performance.now() - started > withinMs) {
      throw new Error(`${what}: not within ${withinMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return performance.now() - started;
}

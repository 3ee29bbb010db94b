/**
 * flanneld's iptables rules as text, and what to feed `iptables-restore --noflush` to install,
 * check and remove them. Pure functions: no process is run here.
 *
 * The rules (flannel `pkg/trafficmngr/iptables/iptables.go`, `masqRules`, `masqIP6Rules`,
 * `forwardRules`), each with its comment:
 * - masquerade, table `nat`: `POSTROUTING -j FLANNEL-POSTRTG`, then in `FLANNEL-POSTRTG` the
 *   kube-proxy mark RETURN, pod→Network RETURN, Network→pod RETURN, !Network→pod RETURN,
 *   Network→!multicast MASQUERADE, !Network→Network MASQUERADE;
 * - forward, table `filter`: `FORWARD -j FLANNEL-FWD`, then `-s Network ACCEPT`, `-d Network
 *   ACCEPT`.
 *
 * Rules are written exactly as `iptables -S` prints them, so a chain's listing can be compared
 * line by line: that is how presence *and order* are checked.
 *
 * @module
 */
import type { Family } from "../net/ip.ts";

export const MASQ_COMMENT = "flanneld masq";
export const FORWARD_COMMENT = "flanneld forward";
/** kube-proxy's masquerade mark: such packets are left to kube-proxy (no double NAT). */
export const KUBE_PROXY_MARK = "0x4000/0x4000";
export const MASQ_CHAIN = "FLANNEL-POSTRTG";
export const FORWARD_CHAIN = "FLANNEL-FWD";

const MULTICAST: Record<Family, string> = { 4: "224.0.0.0/4", 6: "ff00::/8" };

export type IptablesTable = "nat" | "filter";

/** One rule as an `iptables` argument list after the chain name. */
export interface IptablesRule {
  chain: string;
  spec: readonly string[];
}

/**
 * One flannel chain with its jump: the jump from a built-in chain comes first, then the chain's
 * own rules, in flanneld's order.
 */
export interface IptablesRuleSet {
  table: IptablesTable;
  /** The built-in chain that jumps to `chain` (POSTROUTING or FORWARD). */
  builtin: string;
  chain: string;
  rules: readonly IptablesRule[];
}

/** The flannel chains a table may hold, for clean-up. */
export const FLANNEL_CHAINS: ReadonlyArray<Pick<IptablesRuleSet, "table" | "builtin" | "chain">> = [
  { table: "nat", builtin: "POSTROUTING", chain: MASQ_CHAIN },
  { table: "filter", builtin: "FORWARD", chain: FORWARD_CHAIN },
];

function commented(comment: string, head: string[], target: string[]): string[] {
  return [...head, "-m", "comment", "--comment", comment, "-j", ...target];
}

/** flanneld's masquerade rules for `network` and the pod `subnet` of one family. */
export function masqueradeRules(
  family: Family,
  network: string,
  subnet: string,
  randomFully: boolean,
): IptablesRuleSet {
  const masquerade = randomFully ? ["MASQUERADE", "--random-fully"] : ["MASQUERADE"];
  const inChain = (head: string[], target: string[]): IptablesRule => ({
    chain: MASQ_CHAIN,
    spec: commented(MASQ_COMMENT, head, target),
  });
  return {
    table: "nat",
    builtin: "POSTROUTING",
    chain: MASQ_CHAIN,
    rules: [
      { chain: "POSTROUTING", spec: commented(MASQ_COMMENT, [], [MASQ_CHAIN]) },
      inChain(["-m", "mark", "--mark", KUBE_PROXY_MARK], ["RETURN"]),
      inChain(["-s", subnet, "-d", network], ["RETURN"]),
      inChain(["-s", network, "-d", subnet], ["RETURN"]),
      inChain(["!", "-s", network, "-d", subnet], ["RETURN"]),
      inChain(["-s", network, "!", "-d", MULTICAST[family]], masquerade),
      inChain(["!", "-s", network, "-d", network], masquerade),
    ],
  };
}

/** flanneld's forward rules for `network`. */
export function forwardRules(network: string): IptablesRuleSet {
  return {
    table: "filter",
    builtin: "FORWARD",
    chain: FORWARD_CHAIN,
    rules: [
      { chain: "FORWARD", spec: commented(FORWARD_COMMENT, [], [FORWARD_CHAIN]) },
      { chain: FORWARD_CHAIN, spec: commented(FORWARD_COMMENT, ["-s", network], ["ACCEPT"]) },
      { chain: FORWARD_CHAIN, spec: commented(FORWARD_COMMENT, ["-d", network], ["ACCEPT"]) },
    ],
  };
}

/** `-A CHAIN spec` with the comment in double quotes, as iptables-restore reads and -S prints. */
export function ruleText(action: "-A" | "-D", rule: IptablesRule): string {
  const words = rule.spec.map((word, i) => rule.spec[i - 1] === "--comment" ? `"${word}"` : word);
  return [action, rule.chain, ...words].join(" ");
}

/** One table's block for iptables-restore. */
export function restoreBlock(table: IptablesTable, lines: readonly string[]): string {
  return `*${table}\n${lines.map((line) => `${line}\n`).join("")}COMMIT\n`;
}

/** What `iptables -t T -S` showed of a rule set's two chains. */
export interface ChainListing {
  /** The `-A` lines of the built-in chain. */
  builtin: readonly string[];
  /** The `-A` lines of the flannel chain, or undefined when the chain does not exist. */
  chain: readonly string[] | undefined;
}

/** The `-A` lines of `iptables -S CHAIN` output, in order. */
export function appendLines(listing: string): string[] {
  return listing.split("\n").filter((line) => line.startsWith("-A "));
}

/** Every rule of the built-in chain that jumps to `chain`, ours or anybody's. */
export function jumpsTo(chain: string, builtinLines: readonly string[]): string[] {
  const target = ` -j ${chain}`;
  return builtinLines.filter((line) => line.endsWith(target) || line.includes(`${target} `));
}

function asDelete(appendLine: string): string {
  return `-D${appendLine.slice(2)}`;
}

/**
 * True when the rules are in place: exactly one jump (ours) in the built-in chain, and the
 * flannel chain holding exactly our rules in our order.
 */
export function ruleSetInPlace(set: IptablesRuleSet, listing: ChainListing): boolean {
  const [jump, ...own] = set.rules.map((rule) => ruleText("-A", rule));
  const jumps = jumpsTo(set.chain, listing.builtin);
  if (jumps.length !== 1 || jumps[0] !== jump) return false;
  const chain = listing.chain;
  return chain !== undefined && chain.length === own.length &&
    chain.every((line, i) => line === own[i]);
}

/**
 * The lines that (re)install a rule set in one transaction: the chain's declaration (which
 * creates it, or flushes it under --noflush), every jump to it deleted, then every rule
 * appended. flanneld sends the same lines after flushing the chain with a separate `iptables -F`
 * (`ipTablesCleanAndBuild`); declaring it instead leaves no moment without the rules.
 */
export function installLines(set: IptablesRuleSet, listing: ChainListing): string[] {
  return [
    `:${set.chain} - [0:0]`,
    ...jumpsTo(set.chain, listing.builtin).map(asDelete),
    ...set.rules.map((rule) => ruleText("-A", rule)),
  ];
}

/**
 * flanneld's `teardownIPTables` of the previous lease's rules: a `-D` for each rule that exists,
 * nothing when the flannel chain does not exist.
 */
export function teardownLines(set: IptablesRuleSet, listing: ChainListing): string[] {
  if (listing.chain === undefined) return [];
  const present = new Set([...listing.builtin, ...listing.chain]);
  return set.rules.map((rule) => ruleText("-A", rule)).filter((line) => present.has(line))
    .map(asDelete);
}

/** The lines that remove a flannel chain: every jump to it, then its rules, then the chain. */
export function removalLines(chain: string, listing: ChainListing): string[] {
  const jumps = jumpsTo(chain, listing.builtin).map(asDelete);
  if (listing.chain === undefined) return jumps;
  return [...jumps, `-F ${chain}`, `-X ${chain}`];
}

/** True when there is something of a flannel chain to remove. */
export function hasLeftovers(chain: string, listing: ChainListing): boolean {
  return listing.chain !== undefined || jumpsTo(chain, listing.builtin).length > 0;
}

/**
 * Whether an iptables of this `--version` text has `--random-fully` and `--wait` for
 * iptables-restore: both came with 1.6.2 (go-iptables `iptablesHasRandomFully`, flannel
 * `ipTablesHasWaitSupport`). Also returns the backend it names: "nf_tables" or "legacy".
 */
export function parseIptablesVersion(
  text: string,
): { version: string; atLeast162: boolean; backend: string } | undefined {
  const match = /v([0-9]+)\.([0-9]+)\.([0-9]+)(?:\s+\((\w+))?/.exec(text);
  if (!match) return undefined;
  const [major, minor, patch] = [match[1], match[2], match[3]].map(Number) as [
    number,
    number,
    number,
  ];
  const atLeast162 = major > 1 || (major === 1 && (minor > 6 || (minor === 6 && patch >= 2)));
  return { version: `${major}.${minor}.${patch}`, atLeast162, backend: match[4] ?? "legacy" };
}

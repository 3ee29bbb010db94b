/**
 * flanneld's nftables rules (net-conf `EnableNFTables`) as the `nft -f` text flanneld's library
 * (knftables) writes. Pure functions: no process is run here.
 *
 * flannel `pkg/trafficmngr/nftables/nftables.go`: tables `ip flannel-ipv4` and
 * `ip6 flannel-ipv6` (both are created whatever the families, by `Init`); chain `postrtg`
 * (nat, postrouting, srcnat = 100) flushed then filled by `addMasqRules`; chain `forward`
 * (filter, forward, filter = 0) flushed then filled with two accepts.
 *
 * @module
 */
import type { Family } from "../net/ip.ts";

export interface NftTable {
  /** nft's address family keyword. */
  family: "ip" | "ip6";
  name: string;
}

export const NFT_TABLES: Record<Family, NftTable> = {
  4: { family: "ip", name: "flannel-ipv4" },
  6: { family: "ip6", name: "flannel-ipv6" },
};
export const NFT_MASQ_CHAIN = "postrtg";
export const NFT_FORWARD_CHAIN = "forward";
/** kube-proxy's mark as flanneld matches it in nftables mode (the value, not masked). */
export const NFT_KUBE_PROXY_MARK = "0x4000";

const MULTICAST: Record<Family, string> = { 4: "224.0.0.0/4", 6: "ff00::/8" };
const PROBE_CHAIN = "masqueradeTest";

/** Writes a string as Go's `%q` does for the plain ASCII text used here. */
function quoted(text: string): string {
  return JSON.stringify(text);
}

function ref(table: NftTable): string {
  return `${table.family} ${table.name}`;
}

/** knftables' `add table`, with the comment unless the kernel lacks object comments. */
export function addTableLine(table: NftTable, comments: boolean): string {
  const comment = comments ? ` { comment ${quoted(`rules for ${table.name}`)} ; }` : "";
  return `add table ${ref(table)}${comment}`;
}

function addBaseChainLine(
  table: NftTable,
  chain: string,
  spec: { type: string; hook: string; priority: number; comment: string },
  comments: boolean,
): string {
  const comment = comments ? ` comment ${quoted(spec.comment)} ;` : "";
  return `add chain ${
    ref(table)
  } ${chain} { type ${spec.type} hook ${spec.hook} priority ${spec.priority} ;${comment} }`;
}

/** flanneld's masquerade chain for one family, flushed and filled (`SetupAndEnsureMasqRules`). */
export function masqueradeLines(
  family: Family,
  network: string,
  subnet: string,
  fullyRandom: boolean,
  comments: boolean,
): string[] {
  const table = NFT_TABLES[family];
  const rule = (text: string) => `add rule ${ref(table)} ${NFT_MASQ_CHAIN} ${text}`;
  const ip = table.family;
  const masquerade = fullyRandom ? "masquerade fully-random" : "masquerade";
  return [
    addBaseChainLine(table, NFT_MASQ_CHAIN, {
      type: "nat",
      hook: "postrouting",
      priority: 100,
      comment: "chain to manage traffic masquerading by flannel",
    }, comments),
    `flush chain ${ref(table)} ${NFT_MASQ_CHAIN}`,
    rule(`meta mark ${NFT_KUBE_PROXY_MARK} return`),
    rule(`${ip} saddr ${subnet} ${ip} daddr ${network} return`),
    rule(`${ip} saddr ${network} ${ip} daddr ${subnet} return`),
    // flanneld writes "!= subnet" here where its iptables rule says "! -s network"; kept as is
    // so both daemons leave the same ruleset (it makes the last rule unreachable).
    rule(`${ip} saddr != ${subnet} ${ip} daddr ${network} return`),
    rule(`${ip} saddr ${network} ${ip} daddr != ${MULTICAST[family]} ${masquerade}`),
    rule(`${ip} saddr != ${network} ${ip} daddr ${network} ${masquerade}`),
  ];
}

/** flanneld's forward chain for one family, flushed and filled (`SetupAndEnsureForwardRules`). */
export function forwardLines(family: Family, network: string, comments: boolean): string[] {
  const table = NFT_TABLES[family];
  const rule = (text: string) => `add rule ${ref(table)} ${NFT_FORWARD_CHAIN} ${text}`;
  return [
    addBaseChainLine(table, NFT_FORWARD_CHAIN, {
      type: "filter",
      hook: "forward",
      priority: 0,
      comment: "chain to accept flannel traffic",
    }, comments),
    `flush chain ${ref(table)} ${NFT_FORWARD_CHAIN}`,
    rule(`${table.family} saddr ${network} accept`),
    rule(`${table.family} daddr ${network} accept`),
  ];
}

export function deleteChainLine(family: Family, chain: string): string {
  return `delete chain ${ref(NFT_TABLES[family])} ${chain}`;
}

export function deleteTableLine(table: NftTable): string {
  return `delete table ${ref(table)}`;
}

/** knftables' probe for object comments (`New`): checked with `nft --check`, never applied. */
export function commentProbe(): string {
  return `${addTableLine(NFT_TABLES[4], false)} { comment "test" ; }\n`;
}

/**
 * flanneld's probe for `masquerade fully-random` (`checkRandomfully`), checked with
 * `nft --check`. Its table is added first, as flanneld has always created it by then.
 */
export function fullyRandomProbe(comments: boolean): string {
  const table = NFT_TABLES[4];
  return [
    `add table ${ref(table)}`,
    addBaseChainLine(table, PROBE_CHAIN, {
      type: "nat",
      hook: "postrouting",
      priority: 100,
      comment: "chain to test if masquerade random fully is supported",
    }, comments),
    `flush chain ${ref(table)} ${PROBE_CHAIN}`,
    `add rule ${ref(table)} ${PROBE_CHAIN} ip saddr != 127.0.0.1 masquerade fully-random`,
    "",
  ].join("\n");
}

/** The table names `nft list tables` printed (`table ip flannel-ipv4` lines). */
export function listedTables(text: string): NftTable[] {
  const tables: NftTable[] = [];
  for (const line of text.split("\n")) {
    const match = /^table (ip|ip6) (\S+)$/.exec(line.trim());
    if (match) tables.push({ family: match[1] as NftTable["family"], name: match[2]! });
  }
  return tables;
}

/** The chain names of one table in `nft list table` output. */
export function listedChains(text: string): string[] {
  return [...text.matchAll(/^\s*chain (\S+) \{$/gm)].map((match) => match[1]!);
}

/** Joins transaction lines into `nft -f -` input. */
export function nftScript(lines: readonly string[]): string {
  return lines.map((line) => `${line}\n`).join("");
}

/**
 * Which addresses of an interface can be a VTEP's address, best first, as flanneld ranks them
 * (pkg/ip/iface.go): unicast only (no loopback, multicast, unspecified or broadcast address) and
 * not deprecated; global before link-local, permanent (configured) before dynamic (DHCP, SLAAC),
 * and non-temporary before temporary (IPv6 privacy addresses; for IPv4 the same bit marks a
 * secondary address). Two differences, both about addresses that cannot work: an address that
 * failed duplicate address detection is skipped, and one of non-global scope counts as
 * link-local. Equal addresses keep the kernel's order.
 *
 * @module
 */
import type { Family } from "../net/ip.ts";
import { parseIP } from "../net/ip.ts";
import type { Address } from "../netlink/mod.ts";

const IFA_F_SECONDARY_OR_TEMPORARY = 0x01;
const IFA_F_DADFAILED = 0x08;
const IFA_F_DEPRECATED = 0x20;
const IFA_F_PERMANENT = 0x80;
const RT_SCOPE_UNIVERSE = 0;

interface Kind {
  usable: boolean;
  linkLocal: boolean;
}

function kindOf(text: string): Kind {
  const ip = parseIP(text);
  if (!ip) return { usable: false, linkLocal: false };
  const v = ip.value;
  if (ip.family === 4) {
    const unusable = v === 0n || v === 0xffffffffn || v >> 24n === 127n || v >> 28n === 0xen;
    return { usable: !unusable, linkLocal: v >> 16n === 0xa9fen };
  }
  const unusable = v === 0n || v === 1n || v >> 120n === 0xffn;
  return { usable: !unusable, linkLocal: v >> 118n === 0x3fan };
}

/** Smaller is better: [not global, not permanent, temporary]. */
function rank(address: Address, kind: Kind): number[] {
  return [
    kind.linkLocal || address.scope !== RT_SCOPE_UNIVERSE ? 1 : 0,
    address.flags & IFA_F_PERMANENT ? 0 : 1,
    address.flags & IFA_F_SECONDARY_OR_TEMPORARY ? 1 : 0,
  ];
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return 0;
}

/** The usable `family` addresses of interface `ifindex` among `addresses`, best first. */
export function usableAddresses(addresses: Address[], ifindex: number, family: Family): string[] {
  return addresses
    .filter((address) => address.ifindex === ifindex && address.family === family)
    .map((address) => ({ address, kind: kindOf(address.address) }))
    .filter(({ address, kind }) =>
      kind.usable && (address.flags & (IFA_F_DEPRECATED | IFA_F_DADFAILED)) === 0
    )
    .map(({ address, kind }) => ({ text: address.address, rank: rank(address, kind) }))
    // Array.prototype.sort is stable: equal ranks keep the kernel's order.
    .sort((a, b) => compareRanks(a.rank, b.rank))
    .map(({ text }) => text);
}

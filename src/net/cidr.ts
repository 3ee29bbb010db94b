/**
 * CIDR prefixes as Go's `net.ParseCIDR` sees them. The address keeps its host bits, as CNI's
 * `types.ParseCIDR` does (a route `dst` of `10.1.2.3/8` is echoed unchanged).
 *
 * @module
 */
import { bitsOf, type Family, formatIP, type IP, parseIP } from "./ip.ts";

export interface CIDR {
  /** The address as written, host bits kept; v4-mapped text gives family 4. */
  readonly ip: IP;
  readonly prefix: number;
  /** Width of the mask as Go stores it: 4 for dotted quads, 6 for any text with a colon. */
  readonly maskFamily: Family;
}

const DIGITS = /^[0-9]+$/;

/** Parses `text` as Go's `net.ParseCIDR` does (no zone, decimal prefix within the family). */
export function parseCIDR(text: string): CIDR | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const ip = parseIP(address);
  if (!ip || !DIGITS.test(prefixText)) return undefined;
  const maskFamily: Family = address.includes(":") ? 6 : 4;
  const prefix = Number(prefixText);
  if (prefix > bitsOf(maskFamily)) return undefined;
  return { ip, prefix, maskFamily };
}

/** `ip/prefix` with the address as written, as Go's `IPNet.String()` prints it. */
export function formatCIDR(cidr: CIDR): string {
  return `${formatIP(cidr.ip)}/${cidr.prefix}`;
}

function hostMask(family: Family, prefix: number): bigint {
  return (1n << BigInt(bitsOf(family) - prefix)) - 1n;
}

/** The first address of the prefix (host bits cleared). */
export function networkAddress(cidr: CIDR): IP {
  return { family: cidr.ip.family, value: cidr.ip.value & ~hostMask(cidr.ip.family, cidr.prefix) };
}

/** The last address of the prefix (host bits set). */
export function lastAddress(cidr: CIDR): IP {
  return { family: cidr.ip.family, value: cidr.ip.value | hostMask(cidr.ip.family, cidr.prefix) };
}

/** True when `ip` is of the prefix's family and inside it. */
export function cidrContains(cidr: CIDR, ip: IP): boolean {
  if (ip.family !== cidr.ip.family) return false;
  const mask = ~hostMask(ip.family, cidr.prefix);
  return (ip.value & mask) === (cidr.ip.value & mask);
}

/** True when the address has no host bits set. */
export function isNetworkAddress(cidr: CIDR): boolean {
  return (cidr.ip.value & hostMask(cidr.ip.family, cidr.prefix)) === 0n;
}

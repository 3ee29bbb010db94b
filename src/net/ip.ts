/**
 * IP addresses as Go's `net` package sees them: parsed with Go's rules, printed in Go's text form.
 *
 * Byte-identical text matters: host-local names its store files with `net.IP.String()`, and a
 * different spelling of the same address would let two containers reserve it.
 *
 * IPv4 is handled here directly. IPv6 text goes through `ip-address`, which is loaded on demand
 * (`loadIPv6`): evaluating it costs about 10 ms, and keepnet-ipam, which starts once per pod,
 * pays that only when its input or its store holds an IPv6 address.
 *
 * @module
 */
import type { Address6 } from "ip-address";

export type Family = 4 | 6;

/** An address as a family and a 32- or 128-bit unsigned value. v4-mapped IPv6 is family 4. */
export interface IP {
  readonly family: Family;
  readonly value: bigint;
}

const V4_MAPPED_PREFIX = 0xffffn << 32n;
const V4_MASK = 0xffffffffn;
const OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
/** Go's IPv4 text: four decimal octets up to 255, no leading zeros. */
const DOTTED_QUAD = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);
const IPV6_TEXT = /^[0-9a-fA-F:.]+$/;

let address6: typeof Address6 | undefined;

/** Loads IPv6 support; needed before any IPv6 text is parsed or printed. */
export async function loadIPv6(): Promise<void> {
  if (address6) return;
  const module = await import("ip-address");
  // A bundle split into chunks hands a CommonJS package over as its `default` export only.
  address6 = module.Address6 ?? (module as unknown as { default: typeof module }).default.Address6;
}

/** True when `text` may hold IPv6 text: two colons with only hex digits or dots between. */
export function mayContainIPv6(text: string): boolean {
  return /:[0-9a-fA-F.]*:/.test(text);
}

function ipv6(): typeof Address6 {
  if (!address6) throw new Error("IPv6 support is not loaded: await loadIPv6() first");
  return address6;
}

/** Number of bits in an address of `family`. */
export function bitsOf(family: Family): number {
  return family === 4 ? 32 : 128;
}

/**
 * Parses `text` as Go's `net.ParseIP` does: dotted quads without leading zeros, any IPv6 text
 * form without a zone, and v4-mapped IPv6 (`::ffff:a.b.c.d`) as IPv4. Returns undefined when Go
 * would return nil.
 */
export function parseIP(text: string): IP | undefined {
  if (text.includes(":")) {
    if (!IPV6_TEXT.test(text)) return undefined;
    const Address6 = ipv6();
    let value: bigint;
    try {
      value = new Address6(text).bigInt();
    } catch {
      return undefined;
    }
    if (value >> 32n === 0xffffn) return { family: 4, value: value & V4_MASK };
    return { family: 6, value };
  }
  // Dotted quads are parsed here directly: every peer entry and every IPAM candidate passes
  // through this, and the general parser costs microseconds per call.
  const octets = DOTTED_QUAD.exec(text);
  if (!octets) return undefined;
  const value = Number(octets[1]) * 0x1000000 + Number(octets[2]) * 0x10000 +
    Number(octets[3]) * 0x100 + Number(octets[4]);
  return { family: 4, value: BigInt(value) };
}

/** Go's `net.IP.String()`: dotted quad, or RFC 5952 lower-case IPv6 (first longest zero run). */
export function formatIP(ip: IP): string {
  if (ip.family === 4) {
    const v = Number(ip.value);
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  return ipv6().fromBigInt(ip.value).correctForm();
}

export function ipEquals(a: IP, b: IP): boolean {
  return a.family === b.family && a.value === b.value;
}

/** Orders by family, then by value. */
export function compareIP(a: IP, b: IP): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/** The address after `ip`, wrapping to zero past the top of the family's space. */
export function nextIP(ip: IP): IP {
  const max = (1n << BigInt(bitsOf(ip.family))) - 1n;
  return { family: ip.family, value: ip.value === max ? 0n : ip.value + 1n };
}

/** The 16-byte (IPv6 or v4-mapped) form of `ip`, as a bigint; used where Go compares To16(). */
export function to16(ip: IP): bigint {
  return ip.family === 4 ? V4_MAPPED_PREFIX | ip.value : ip.value;
}

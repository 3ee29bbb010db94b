/**
 * Checks of caller input, done before anything reaches libnl, so bad input gets a clear error
 * naming the field and no request is sent.
 *
 * @module
 */
import { bitsOf, type Family, type IP, parseIP } from "../net/ip.ts";
import { type CIDR, isNetworkAddress, parseCIDR } from "../net/cidr.ts";
import { macToBytes } from "../net/mac.ts";
import { IFNAME_MAX_LENGTH } from "./constants.ts";

/** An IPv4 or IPv6 address in any text form Go's `net.ParseIP` accepts. */
export function requireIP(text: unknown, field: string): IP {
  const ip = typeof text === "string" ? parseIP(text) : undefined;
  if (!ip) throw new TypeError(`${field} must be an IP address, got ${JSON.stringify(text)}`);
  return ip;
}

/** `<ip>/<prefix>` with a prefix that fits the address's family. */
export function requireCIDR(text: unknown, field: string): CIDR {
  const cidr = typeof text === "string" ? parseCIDR(text) : undefined;
  if (!cidr || cidr.prefix > bitsOf(cidr.ip.family)) {
    throw new TypeError(`${field} must be <ip>/<prefix length>, got ${JSON.stringify(text)}`);
  }
  return cidr;
}

/** A CIDR without host bits, as the kernel requires for route destinations. */
export function requireNetworkCIDR(text: unknown, field: string): CIDR {
  const cidr = requireCIDR(text, field);
  if (!isNetworkAddress(cidr)) {
    throw new RangeError(`${field} ${text} has host bits set beyond its prefix length`);
  }
  return cidr;
}

/** Six colon-separated hex octets. */
export function requireMAC(text: unknown, field: string): Uint8Array {
  const octets = typeof text === "string" ? macToBytes(text) : undefined;
  if (!octets) {
    throw new TypeError(
      `${field} must be a MAC address like 02:42:0a:f4:01:00, got ${JSON.stringify(text)}`,
    );
  }
  return octets;
}

/** An integer within [min, max]. */
export function requireInteger(value: unknown, min: number, max: number, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${field} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/** An interface index: a positive 32-bit integer. */
export function requireIfindex(value: unknown, field = "ifindex"): number {
  return requireInteger(value, 1, 0x7fffffff, field);
}

/** An interface name the kernel accepts: 1–15 bytes, no `/`, `:`, whitespace, `.` or `..`. */
export function requireInterfaceName(value: unknown, field = "name"): string {
  const valid = typeof value === "string" && value.length > 0 &&
    new TextEncoder().encode(value).length <= IFNAME_MAX_LENGTH &&
    !/[\s/:]/.test(value) && value !== "." && value !== "..";
  if (!valid) {
    throw new TypeError(
      `${field} must be an interface name of 1 to ${IFNAME_MAX_LENGTH} bytes without ` +
        `whitespace, "/" or ":", got ${JSON.stringify(value)}`,
    );
  }
  return value as string;
}

/** 4 or 6 when given; undefined means both. */
export function requireFamily(value: unknown, field = "family"): Family | undefined {
  if (value === undefined) return undefined;
  if (value !== 4 && value !== 6) throw new RangeError(`${field} must be 4 or 6, got ${value}`);
  return value;
}

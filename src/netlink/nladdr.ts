/**
 * Conversions between keepnet's address values and libnl's `struct nl_addr`.
 *
 * Ownership: `build*` return a new nl_addr with one reference that the caller must drop with
 * `nl_addr_put` (libnl's `*_set_*` functions take their own reference). `read*` only look at an
 * nl_addr and copy its bytes; they never take or drop a reference.
 *
 * @module
 */
import { type Family, type IP } from "../net/ip.ts";
import { AF_INET, AF_INET6, AF_LLC } from "./constants.ts";
import type { Libnl } from "./library.ts";

const V4_MAPPED_PREFIX = 0xffffn;

/** The address's bytes in network order (4 or 16). */
export function ipToBytes(ip: IP): Uint8Array {
  if (ip.family === 4) {
    // Hot path (every peer's neighbour, FDB and route): plain numbers, no BigInt steps.
    const value = Number(ip.value);
    return Uint8Array.of(value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255);
  }
  const bytes = new Uint8Array(16);
  let value = ip.value;
  for (let i = 15; i >= 0; i--) {
    bytes[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return bytes;
}

/**
 * The address in `bytes` (4 or 16 in network order; an empty buffer is the all-zero address of
 * `family`, as libnl stores a default route's destination). v4-mapped IPv6 becomes IPv4, as Go
 * prints it. Undefined for any other length.
 */
export function bytesToIP(bytes: Uint8Array, family: Family): IP | undefined {
  if (bytes.length === 0) return { family, value: 0n };
  if (bytes.length !== 4 && bytes.length !== 16) return undefined;
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  if (bytes.length === 4) return { family: 4, value };
  if (value >> 32n === V4_MAPPED_PREFIX) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

/** The kernel's address family of an IP family. */
export function afOf(family: Family): number {
  return family === 4 ? AF_INET : AF_INET6;
}

/** The IP family of a kernel address family, undefined for anything but AF_INET/AF_INET6. */
export function familyOfAf(af: number): Family | undefined {
  return af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined;
}

function build(lib: Libnl, af: number, bytes: Uint8Array): Deno.PointerObject {
  const addr = lib.nl_addr_build(af, bytes, BigInt(bytes.length));
  if (addr === null) throw new RangeError("libnl could not allocate an address (out of memory)");
  return addr;
}

/**
 * A new nl_addr holding `ip` with `prefixLength` (default: the full length, a host address).
 * The caller owns the reference.
 */
export function buildIPAddr(lib: Libnl, ip: IP, prefixLength?: number): Deno.PointerObject {
  const bytes = ipToBytes(ip);
  const addr = build(lib, afOf(ip.family), bytes);
  lib.nl_addr_set_prefixlen(addr, prefixLength ?? bytes.length * 8);
  return addr;
}

/** A new nl_addr holding a MAC address. The caller owns the reference. */
export function buildMACAddr(lib: Libnl, octets: Uint8Array): Deno.PointerObject {
  return build(lib, AF_LLC, octets);
}

/** A copy of the bytes of `addr` (empty when `addr` is null). */
export function readAddrBytes(lib: Libnl, addr: Deno.PointerValue): Uint8Array {
  if (addr === null) return new Uint8Array(0);
  const length = lib.nl_addr_get_len(addr);
  const bytes = new Uint8Array(length);
  const binary = lib.nl_addr_get_binary_addr(addr);
  if (length > 0 && binary !== null) new Deno.UnsafePointerView(binary).copyInto(bytes);
  return bytes;
}

/** The IP in `addr`, or undefined when `addr` is null or not an IP of 4 or 16 bytes. */
export function readIP(lib: Libnl, addr: Deno.PointerValue, family: Family): IP | undefined {
  if (addr === null) return undefined;
  return bytesToIP(readAddrBytes(lib, addr), family);
}

/** The prefix length stored with `addr`. */
export function readPrefixLength(lib: Libnl, addr: Deno.PointerObject): number {
  return lib.nl_addr_get_prefixlen(addr);
}

/**
 * The ADD result of an IPAM plugin and its JSON for each CNI version, as the Go library (cni
 * v1.3) converts and prints it: 1.x with sorted keys and an empty `dns` left out; 0.3.x/0.4.0
 * with `version` per IP and `dns` always present; 0.1.0/0.2.0 as `ip4`/`ip6` objects.
 *
 * @module
 */
import type { CIDR } from "../net/cidr.ts";
import { formatIP, type IP } from "../net/ip.ts";
import { goJSON, sortKeysDeep } from "./json.ts";

export interface IPConfig {
  /** The address; printed with the prefix length of its range's subnet. */
  ip: IP;
  prefix: number;
  gateway?: IP;
}

/** A route as configured; `dst` undefined prints as Go's `<nil>`. */
export interface Route {
  dst?: CIDR;
  gw?: IP;
  mtu?: number;
  advmss?: number;
  priority?: number;
  /** Present (even 0) or absent, as Go's `*int`. */
  table?: number;
  scope?: number;
}

export interface DNS {
  nameservers: string[];
  domain: string;
  search: string[];
  options: string[];
}

export interface Result {
  ips: IPConfig[];
  /** `null` entries are kept: Go prints a `null` route as `null`. */
  routes: (Route | null)[];
  dns: DNS;
}

export function emptyDNS(): DNS {
  return { nameservers: [], domain: "", search: [], options: [] };
}

/** Go's `IPNet.String()`: a v4 address under a 16-byte mask prints the mask's last 32 bits. */
export function formatIPNet(cidr: CIDR): string {
  const prefix = cidr.ip.family === 4 && cidr.maskFamily === 6
    ? Math.max(0, cidr.prefix - 96)
    : cidr.prefix;
  return `${formatIP(cidr.ip)}/${prefix}`;
}

function addressText(config: IPConfig): string {
  return `${formatIP(config.ip)}/${config.prefix}`;
}

function dnsObject(dns: DNS): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (dns.nameservers.length > 0) out.nameservers = dns.nameservers;
  if (dns.domain !== "") out.domain = dns.domain;
  if (dns.search.length > 0) out.search = dns.search;
  if (dns.options.length > 0) out.options = dns.options;
  return out;
}

function routeObject(route: Route | null, full: boolean): Record<string, unknown> | null {
  if (route === null) return null;
  const out: Record<string, unknown> = { dst: route.dst ? formatIPNet(route.dst) : "<nil>" };
  if (route.gw) out.gw = formatIP(route.gw);
  if (!full) return out;
  if (route.mtu) out.mtu = route.mtu;
  if (route.advmss) out.advmss = route.advmss;
  if (route.priority) out.priority = route.priority;
  if (route.table !== undefined) out.table = route.table;
  if (route.scope !== undefined) out.scope = route.scope;
  return out;
}

function ipObject(config: IPConfig, withVersion: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (withVersion) out.version = String(config.ip.family);
  out.address = addressText(config);
  if (config.gateway) out.gateway = formatIP(config.gateway);
  return out;
}

function encode100(result: Result, cniVersion: string): unknown {
  const out: Record<string, unknown> = { cniVersion };
  out.ips = result.ips.map((ip) => ipObject(ip, false));
  if (result.routes.length > 0) out.routes = result.routes.map((r) => routeObject(r, true));
  const dns = dnsObject(result.dns);
  if (Object.keys(dns).length > 0) out.dns = dns;
  return sortKeysDeep(out);
}

function encode040(result: Result, cniVersion: string): unknown {
  const out: Record<string, unknown> = { cniVersion };
  out.ips = result.ips.map((ip) => ipObject(ip, true));
  if (result.routes.length > 0) out.routes = result.routes.map((r) => routeObject(r, true));
  out.dns = dnsObject(result.dns);
  return out;
}

function encode020(result: Result, cniVersion: string): unknown {
  // Only the first address of each family survives; routes go to the family of their dst.
  const byFamily = new Map<number, Record<string, unknown>>();
  for (const config of result.ips) {
    if (byFamily.has(config.ip.family)) continue;
    const entry: Record<string, unknown> = { ip: addressText(config) };
    if (config.gateway) entry.gateway = formatIP(config.gateway);
    byFamily.set(config.ip.family, entry);
  }
  if (byFamily.size === 0) throw new Error("cannot convert: no valid IP addresses");
  for (const route of result.routes) {
    if (route === null) continue;
    const target = byFamily.get(route.dst?.ip.family === 4 ? 4 : 6);
    if (!target) continue;
    const routes = (target.routes ??= []) as unknown[];
    routes.push(routeObject(route, false));
  }
  const out: Record<string, unknown> = { cniVersion };
  if (byFamily.has(4)) out.ip4 = byFamily.get(4);
  if (byFamily.has(6)) out.ip6 = byFamily.get(6);
  out.dns = dnsObject(result.dns);
  return out;
}

/**
 * `types.PrintResult(result, cniVersion)`: the result converted to `cniVersion` (one of the
 * supported versions; "" means 0.1.0), indented with 4 spaces, no trailing newline.
 */
export function encodeResult(result: Result, cniVersion: string): string {
  const version = cniVersion === "" ? "0.1.0" : cniVersion;
  let body: unknown;
  if (version.startsWith("1.")) body = encode100(result, version);
  else if (version === "0.1.0" || version === "0.2.0") body = encode020(result, version);
  else body = encode040(result, version);
  return goJSON(body, 4);
}

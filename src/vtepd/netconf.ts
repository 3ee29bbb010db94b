/**
 * flannel's net-conf.json (`/etc/kube-flannel/net-conf.json`), read the way flanneld reads it:
 * keys match case-insensitively (Go's encoding/json), the last spelling in the document wins.
 * Only what the VXLAN backend in kube-subnet-manager mode uses is kept: the IPv4 and IPv6 networks
 * (either may be off, not both), nftables or iptables, and the backend.
 *
 * @module
 */
import { type CIDR, formatCIDR, isNetworkAddress, parseCIDR } from "../net/cidr.ts";

export interface VxlanBackend {
  vni: number;
  /** UDP port; 0 means "not sent", so the kernel default (8472) applies. */
  port: number;
  /** Underlay MTU to use instead of the interface's; 0 means the interface's MTU. */
  mtu: number;
  gbp: boolean;
  learning: boolean;
  directRouting: boolean;
}

export interface NetConf {
  /** `Network`: the cluster's IPv4 pod network; absent when `EnableIPv4` is false. */
  network?: CIDR;
  /** `IPv6Network`: the cluster's IPv6 pod network, when `EnableIPv6` is true. */
  ipv6Network?: CIDR;
  /** `EnableNFTables`: masquerade and forward rules with nftables instead of iptables. */
  enableNFTables: boolean;
  backend: VxlanBackend;
}

export class NetConfError extends Error {
  override name = "NetConfError";
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value of `key` matched case-insensitively; the last match in the document wins. */
function field(object: JsonObject, key: string): unknown {
  let found: unknown = undefined;
  const wanted = key.toLowerCase();
  for (const [name, value] of Object.entries(object)) {
    if (name.toLowerCase() === wanted) found = value;
  }
  return found === null ? undefined : found;
}

function booleanField(object: JsonObject, key: string, fallback: boolean, where: string): boolean {
  const value = field(object, key);
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new NetConfError(`${where}${key} must be true or false`);
  return value;
}

function integerField(object: JsonObject, key: string, max: number, where: string): number {
  const value = field(object, key);
  if (value === undefined) return 0;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
    throw new NetConfError(`${where}${key} must be an integer from 0 to ${max}`);
  }
  return value;
}

/** Parses the text of net-conf.json. Throws NetConfError with a message naming the key. */
export function parseNetConf(text: string): NetConf {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new NetConfError(`net-conf.json is not JSON: ${(error as Error).message}`);
  }
  if (!isObject(document)) throw new NetConfError("net-conf.json must be a JSON object");

  const enableIPv4 = booleanField(document, "EnableIPv4", true, "");
  const enableIPv6 = booleanField(document, "EnableIPv6", false, "");
  if (!enableIPv4 && !enableIPv6) {
    throw new NetConfError("EnableIPv4 and EnableIPv6 are both false: there is no overlay to run");
  }
  const network = enableIPv4 ? networkField(document, "Network", 4) : undefined;
  const ipv6Network = enableIPv6 ? networkField(document, "IPv6Network", 6) : undefined;
  const enableNFTables = booleanField(document, "EnableNFTables", false, "");

  const backend = field(document, "Backend");
  // flanneld defaults a missing backend to "udp", which keepnet does not implement.
  if (!isObject(backend)) {
    throw new NetConfError('Backend is required and must be {"Type":"vxlan"}');
  }
  const type = field(backend, "Type");
  if (typeof type !== "string" || type.toLowerCase() !== "vxlan") {
    throw new NetConfError(`Backend.Type ${JSON.stringify(type)} is not supported; only vxlan is`);
  }
  const vni = field(backend, "VNI") === undefined
    ? 1
    : integerField(backend, "VNI", 0xffffff, "Backend.");
  const conf: NetConf = {
    enableNFTables,
    backend: {
      vni,
      port: integerField(backend, "Port", 65535, "Backend."),
      mtu: integerField(backend, "MTU", 65535, "Backend."),
      gbp: booleanField(backend, "GBP", false, "Backend."),
      learning: booleanField(backend, "Learning", false, "Backend."),
      directRouting: booleanField(backend, "DirectRouting", false, "Backend."),
    },
  };
  if (network) conf.network = network;
  if (ipv6Network) conf.ipv6Network = ipv6Network;
  return conf;
}

/** The cluster network of one family (`Network`, `IPv6Network`), required when it is enabled. */
function networkField(document: JsonObject, key: string, family: 4 | 6): CIDR {
  const text = field(document, key);
  const enable = family === 4 ? "EnableIPv4" : "EnableIPv6";
  if (typeof text !== "string") {
    throw new NetConfError(`${key} (IPv${family} CIDR) is required when ${enable} is true`);
  }
  const cidr = parseCIDR(text);
  if (!cidr || cidr.ip.family !== family || cidr.maskFamily !== family) {
    throw new NetConfError(`${key} ${JSON.stringify(text)} is not an IPv${family} CIDR`);
  }
  if (!isNetworkAddress(cidr)) {
    throw new NetConfError(`${key} ${formatCIDR(cidr)} has host bits set`);
  }
  return cidr;
}

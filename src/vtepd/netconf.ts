/**
 * flannel's net-conf.json (`/etc/kube-flannel/net-conf.json`), read the way flanneld reads it:
 * keys match case-insensitively (Go's encoding/json), the last spelling in the document wins.
 * Only what the VXLAN backend in kube-subnet-manager mode uses is kept.
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
  /** `Network`: the cluster's IPv4 pod network. */
  network: CIDR;
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

  if (booleanField(document, "EnableIPv6", false, "")) {
    throw new NetConfError("EnableIPv6 is not supported by keepnet-vtepd yet (IPv4 overlay only)");
  }
  if (!booleanField(document, "EnableIPv4", true, "")) {
    throw new NetConfError("EnableIPv4 is false: keepnet-vtepd needs the IPv4 overlay");
  }
  const networkText = field(document, "Network");
  if (typeof networkText !== "string") throw new NetConfError("Network (IPv4 CIDR) is required");
  const network = parseCIDR(networkText);
  if (!network || network.ip.family !== 4 || network.maskFamily !== 4) {
    throw new NetConfError(`Network ${JSON.stringify(networkText)} is not an IPv4 CIDR`);
  }
  if (!isNetworkAddress(network)) {
    throw new NetConfError(`Network ${formatCIDR(network)} has host bits set`);
  }

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
  return {
    network,
    backend: {
      vni,
      port: integerField(backend, "Port", 65535, "Backend."),
      mtu: integerField(backend, "MTU", 65535, "Backend."),
      gbp: booleanField(backend, "GBP", false, "Backend."),
      learning: booleanField(backend, "Learning", false, "Backend."),
      directRouting: booleanField(backend, "DirectRouting", false, "Backend."),
    },
  };
}

/**
 * flannel's node annotations: key names under a configurable prefix, and the `backend-data`
 * codec. Byte-compatible with flanneld (pkg/subnet/kube/annotations.go and the VXLAN backend's
 * lease attributes), but decoding is real JSON parsing, tolerant the way Go's encoding/json is.
 *
 * @module
 */
import { isUsableUnicastMAC, parseMAC } from "../net/mac.ts";
import type { Result } from "./result.ts";

export const DEFAULT_ANNOTATION_PREFIX = "flannel.alpha.coreos.com";

/** The full annotation keys flannel reads and writes, for one prefix. */
export interface FlannelAnnotationKeys {
  /** The normalised prefix the keys start with (ends in `/` or `-`). */
  prefix: string;
  kubeSubnetManager: string;
  backendType: string;
  backendData: string;
  backendV6Data: string;
  publicIP: string;
  publicIPv6: string;
  publicIPOverwrite: string;
  publicIPv6Overwrite: string;
  nodePublicIP: string;
  nodePublicIPv6: string;
}

// flannel's own check. Only the end is anchored, exactly as flanneld matches it, so keepnet
// accepts the same set of prefixes as the flanneld it runs beside.
const PREFIX_FORMAT = /(?:[a-z0-9_-]+\.)+[a-z0-9_-]+\/(?:[a-z0-9_-]+-)?$/;

/**
 * Normalises `--kube-annotation-prefix` as flanneld does: `/` is appended when there is no
 * slash, otherwise `-` unless it already ends in `/` or `-`; more than one slash is an error.
 */
export function normalizeAnnotationPrefix(prefix: string): Result<string> {
  const slashes = prefix.split("/").length - 1;
  if (slashes > 1) {
    return { error: `annotation prefix ${JSON.stringify(prefix)} has more than one "/"` };
  }
  let normalized = slashes === 0 ? `${prefix}/` : prefix;
  if (!normalized.endsWith("/") && !normalized.endsWith("-")) normalized += "-";
  if (!PREFIX_FORMAT.test(normalized)) {
    return {
      error: `annotation prefix ${
        JSON.stringify(prefix)
      } must look like a DNS name, optionally followed by "/" and a name part (lower-case letters, digits, "_", "-")`,
    };
  }
  return { ok: normalized };
}

/** Every flannel annotation key for `prefix` (default `flannel.alpha.coreos.com`). */
export function flannelAnnotationKeys(
  prefix: string = DEFAULT_ANNOTATION_PREFIX,
): Result<FlannelAnnotationKeys> {
  const normalized = normalizeAnnotationPrefix(prefix);
  if ("error" in normalized) return normalized;
  const p = normalized.ok;
  return {
    ok: {
      prefix: p,
      kubeSubnetManager: `${p}kube-subnet-manager`,
      backendType: `${p}backend-type`,
      backendData: `${p}backend-data`,
      backendV6Data: `${p}backend-v6-data`,
      publicIP: `${p}public-ip`,
      publicIPv6: `${p}public-ipv6`,
      publicIPOverwrite: `${p}public-ip-overwrite`,
      publicIPv6Overwrite: `${p}public-ipv6-overwrite`,
      nodePublicIP: `${p}node-public-ip`,
      nodePublicIPv6: `${p}node-public-ipv6`,
    },
  };
}

/** What a `backend-data` annotation says about a VXLAN VTEP. */
export interface BackendData {
  /** Absent in the older `{"VtepMAC":"…"}` form. Peers ignore it, as flanneld does. */
  vni?: number;
  /** Lower-case, colon-separated, unicast and not all zero. */
  mac: string;
}

const MAX_VNI = 0xffffff;
const MAX_UINT32 = 0xffffffff;

/**
 * The annotation text flanneld writes, byte for byte: Go's json.Marshal of the VXLAN lease
 * attributes, `{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}`. Throws on a VNI outside 0..2^24-1 or
 * a MAC that is not a usable unicast address: those are bugs in the caller, not input.
 */
export function encodeBackendData(vni: number, mac: string): string {
  if (!Number.isInteger(vni) || vni < 0 || vni > MAX_VNI) {
    throw new RangeError(`VNI must be an integer from 0 to ${MAX_VNI}, got ${vni}`);
  }
  const normalized = parseMAC(mac);
  if (!normalized || !isUsableUnicastMAC(normalized)) {
    throw new RangeError(`not a usable unicast MAC: ${JSON.stringify(mac)}`);
  }
  return `{"VNI":${vni},"VtepMAC":"${normalized}"}`;
}

/**
 * Decodes a `backend-data` annotation as flanneld's JSON decoding would: field names match
 * case-insensitively (the last of several spellings wins), unknown fields are ignored, `VNI`
 * may be missing or null but must otherwise be a uint32, and `VtepMAC` must be a string holding
 * a 48-bit MAC. Stricter than flanneld in one way: the MAC must be unicast and not all zero,
 * because a peer advertising anything else cannot be programmed.
 */
export function decodeBackendData(text: string): Result<BackendData> {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return { error: `backend-data is not JSON: ${(error as Error).message}` };
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    return { error: "backend-data is not a JSON object" };
  }
  let vniValue: unknown = null;
  let macValue: unknown = undefined;
  for (const [key, value] of Object.entries(document)) {
    const folded = key.toLowerCase();
    if (folded === "vni") vniValue = value;
    else if (folded === "vtepmac") macValue = value;
  }
  let vni: number | undefined;
  if (vniValue !== null) {
    if (
      typeof vniValue !== "number" || !Number.isInteger(vniValue) || vniValue < 0 ||
      vniValue > MAX_UINT32
    ) {
      return { error: `backend-data VNI is not an unsigned integer: ${JSON.stringify(vniValue)}` };
    }
    vni = vniValue;
  }
  if (macValue === undefined) return { error: "backend-data has no VtepMAC" };
  if (typeof macValue !== "string") {
    return { error: `backend-data VtepMAC is not a string: ${JSON.stringify(macValue)}` };
  }
  const mac = parseMAC(macValue);
  if (!mac) {
    return { error: `backend-data VtepMAC is not a MAC address: ${JSON.stringify(macValue)}` };
  }
  if (!isUsableUnicastMAC(mac)) {
    return { error: `backend-data VtepMAC ${mac} is multicast or all zero` };
  }
  return { ok: vni === undefined ? { mac } : { vni, mac } };
}

/** This node's VTEP of one family, as it advertises it. */
export interface OwnVtep {
  mac: string;
  /** The detected public IP; a `public-ip(v6)-overwrite` annotation on the node takes precedence. */
  publicIP: string;
}

/** What this node advertises: flanneld's annotations for the VXLAN backend, per family. */
export interface OwnLease {
  vni: number;
  v4?: OwnVtep;
  v6?: OwnVtep;
}

/**
 * The annotations flanneld's AcquireLease writes for a VXLAN node: kube-subnet-manager and
 * backend-type always; backend-data and public-ip for the IPv4 overlay; backend-v6-data and
 * public-ipv6 for the IPv6 one. `current` is the node's annotations as last seen; its
 * `public-ip-overwrite` / `public-ipv6-overwrite`, when set, replaces the advertised public IP,
 * as in flanneld.
 */
export function flannelAnnotations(
  keys: FlannelAnnotationKeys,
  lease: OwnLease,
  current: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const annotations: Record<string, string> = {
    [keys.kubeSubnetManager]: "true",
    [keys.backendType]: "vxlan",
  };
  if (lease.v4) {
    const overwrite = current[keys.publicIPOverwrite];
    annotations[keys.backendData] = encodeBackendData(lease.vni, lease.v4.mac);
    annotations[keys.publicIP] = overwrite ? overwrite : lease.v4.publicIP;
  }
  if (lease.v6) {
    const overwrite = current[keys.publicIPv6Overwrite];
    annotations[keys.backendV6Data] = encodeBackendData(lease.vni, lease.v6.mac);
    annotations[keys.publicIPv6] = overwrite ? overwrite : lease.v6.publicIP;
  }
  return annotations;
}

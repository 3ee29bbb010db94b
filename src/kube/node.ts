/**
 * The part of a Kubernetes Node object keepnet uses, decoded leniently from the wire format.
 * Only the name is required; anything else that is missing or of the wrong type reads as empty,
 * so one odd field never hides a node. Whether a node is a usable peer is decided later, by
 * `peer.ts`, from these fields.
 *
 * @module
 */
import { formatCIDR, networkAddress, parseCIDR } from "../net/cidr.ts";
import type { Family } from "../net/ip.ts";
import type { Result } from "./result.ts";

/** One entry of `status.conditions`. */
export interface NodeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

export interface NodeView {
  name: string;
  uid: string;
  resourceVersion: string;
  /** Only string-valued entries of `metadata.annotations`. */
  annotations: Readonly<Record<string, string>>;
  /** `spec.podCIDRs`, or `[spec.podCIDR]` when that list is empty; unvalidated text. */
  podCIDRs: readonly string[];
  /**
   * The `NetworkUnavailable` condition, the only one keepnet reads. The others are the kubelet's
   * (Ready, pressure conditions, with messages and timestamps): kept for 1000 peers they held
   * about 1.5 MiB for nothing (bench:vtepd).
   */
  networkUnavailable?: NodeCondition;
}

type JsonObject = Record<string, unknown>;

function asObject(value: unknown): JsonObject | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as JsonObject
    : undefined;
}

function asString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function stringEntries(value: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, entry] of Object.entries(asObject(value) ?? {})) {
    if (typeof entry === "string") result[key] = entry;
  }
  return result;
}

function podCIDRsOf(spec: JsonObject): string[] {
  const list = Array.isArray(spec.podCIDRs) ? spec.podCIDRs.map((entry) => String(entry)) : [];
  if (list.length > 0) return list;
  const single = asString(spec.podCIDR);
  return single ? [single] : [];
}

function conditionOf(status: JsonObject, type: string): NodeCondition | undefined {
  if (!Array.isArray(status.conditions)) return undefined;
  for (const entry of status.conditions) {
    const object = asObject(entry);
    if (!object || asString(object.type) !== type) continue;
    const condition: NodeCondition = { type, status: asString(object.status) ?? "" };
    for (const field of ["reason", "message", "lastHeartbeatTime", "lastTransitionTime"] as const) {
      const text = asString(object[field]);
      if (text !== undefined) condition[field] = text;
    }
    return condition;
  }
  return undefined;
}

/** Decodes a Node object from the API; an error only when it has no name. */
export function parseNode(object: unknown): Result<NodeView> {
  const node = asObject(object);
  if (!node) return { error: "node is not a JSON object" };
  const metadata = asObject(node.metadata) ?? {};
  const name = asString(metadata.name);
  if (!name) return { error: "node has no metadata.name" };
  const view: NodeView = {
    name,
    uid: asString(metadata.uid) ?? "",
    resourceVersion: asString(metadata.resourceVersion) ?? "",
    annotations: stringEntries(metadata.annotations),
    podCIDRs: podCIDRsOf(asObject(node.spec) ?? {}),
  };
  const networkUnavailable = conditionOf(asObject(node.status) ?? {}, "NetworkUnavailable");
  if (networkUnavailable) view.networkUnavailable = networkUnavailable;
  return { ok: view };
}

/**
 * The node's pod CIDR of one family as flanneld picks it: the first entry of that family among one
 * or two pod CIDRs (more than two is an error), in Go's text form with host bits cleared
 * (`10.244.1.0/24`, `fd00:10:244:1::/64`).
 */
export function podCIDROf(node: NodeView, family: Family): Result<string> {
  const cidrs = node.podCIDRs;
  if (cidrs.length === 0) return { error: "no pod CIDR assigned" };
  if (cidrs.length > 2) return { error: `${cidrs.length} pod CIDRs (at most 2 are allowed)` };
  const parsed = [];
  for (const text of cidrs) {
    const cidr = parseCIDR(text);
    if (!cidr) return { error: `pod CIDR ${JSON.stringify(text)} is not a CIDR` };
    parsed.push(cidr);
  }
  // A v4-mapped address with an IPv6 mask (`::ffff:10.0.0.0/120`) is an IPv6 prefix to Go.
  const found = parsed.find((cidr) =>
    family === 4
      ? cidr.ip.family === 4 && cidr.maskFamily === 4
      : cidr.ip.family === 6 || cidr.maskFamily === 6
  );
  if (!found) return { error: `no IPv${family} pod CIDR in ${cidrs.join(", ")}` };
  if (found.ip.family !== family) {
    return { error: `pod CIDR ${formatCIDR(found)} is an IPv4-mapped IPv6 prefix` };
  }
  return { ok: formatCIDR({ ...found, ip: networkAddress(found) }) };
}

/** The node's IPv4 pod CIDR (see podCIDROf). */
export function ipv4PodCIDR(node: NodeView): Result<string> {
  return podCIDROf(node, 4);
}

/**
 * Which nodes are overlay peers, by flanneld's rules for the VXLAN backend: the node is managed by
 * the kube subnet manager, uses the vxlan backend, and advertises, for each overlay family the
 * cluster runs (IPv4, IPv6 or both), a public IP, a VTEP MAC and a pod CIDR of that family. The own
 * node is excluded by name.
 *
 * flanneld skips a node entirely when one enabled family is missing (a dual-stack cluster's node
 * without `public-ipv6` loses its IPv4 overlay too); keepnet keeps the families that are usable
 * and reports the others.
 *
 * @module
 */
import { type Family, formatIP, parseIP } from "../net/ip.ts";
import { decodeBackendData, type FlannelAnnotationKeys } from "./annotations.ts";
import { type NodeView, podCIDROf } from "./node.ts";

/** A peer's VTEP in one family: what its neighbour, FDB entry and route are made of. */
export interface PeerVtep {
  /** The peer's pod CIDR of this family, Go text with host bits cleared. */
  podCIDR: string;
  /** The peer's public (underlay) address of this family. */
  publicIP: string;
  /** The MAC of the peer's VXLAN device of this family, lower-case. */
  mac: string;
}

/** Another node of the overlay, as the data plane needs it (the one peer type of keepnet). */
export interface Peer {
  name: string;
  /** The IPv4 overlay (`flannel.<VNI>`), when the peer and the cluster take part in it. */
  v4?: PeerVtep;
  /** The IPv6 overlay (`flannel-v6.<VNI>`). */
  v6?: PeerVtep;
  /** The VNI the peer advertises, when it does (informational: flanneld ignores it). */
  vni?: number;
  /** The Node's resourceVersion this was read from: an older view never replaces a newer one. */
  resourceVersion?: string;
}

/** A peer's VTEP of one family, with its name: what one family's reconciler works on. */
export type FamilyPeer = PeerVtep & { name: string };

/** The overlay families the cluster runs (net-conf's EnableIPv4 and EnableIPv6). */
export interface Families {
  ipv4: boolean;
  ipv6: boolean;
}

export const IPV4_ONLY: Families = { ipv4: true, ipv6: false };

/** The peer's VTEP of `family` with its name, or undefined when it has none. */
export function familyPeer(peer: Peer, family: Family): FamilyPeer | undefined {
  const vtep = family === 4 ? peer.v4 : peer.v6;
  return vtep ? { name: peer.name, ...vtep } : undefined;
}

/**
 * `ok`: a peer, with `problems` naming families the cluster runs that this node lacks.
 * `ignored`: a node that does not take part in the overlay (the own node, or one not managed by
 * flannel), which is normal and not worth a warning. `error`: a node that claims to take part
 * but whose annotations or spec cannot be used for any family; the caller logs and skips it.
 */
export type PeerDecision =
  | { ok: Peer; problems?: string[] }
  | { ignored: string }
  | { error: string };

const MULTICAST_V4 = 0xe0000000n;
const BROADCAST_V4 = 0xffffffffn;

/** The address if it can be a VXLAN tunnel endpoint of `family`: unicast, not unspecified. */
function parseTunnelEndpoint(text: string, family: Family): string | undefined {
  const ip = parseIP(text);
  if (!ip || ip.family !== family) return undefined;
  if (family === 4) {
    if (ip.value === 0n || ip.value === BROADCAST_V4 || (ip.value & 0xf0000000n) === MULTICAST_V4) {
      return undefined;
    }
  } else if (ip.value === 0n || ip.value >> 120n === 0xffn) {
    return undefined;
  }
  return formatIP(ip);
}

/** One family's VTEP of a node, or why it has none. */
function vtepOf(
  node: NodeView,
  keys: FlannelAnnotationKeys,
  family: Family,
): { ok: PeerVtep; vni?: number } | { error: string } {
  const annotations = node.annotations;
  const publicKey = family === 4 ? keys.publicIP : keys.publicIPv6;
  const dataKey = family === 4 ? keys.backendData : keys.backendV6Data;
  const publicText = annotations[publicKey];
  if (publicText === undefined) return { error: `no ${publicKey} annotation` };
  const publicIP = parseTunnelEndpoint(publicText, family);
  if (!publicIP) {
    return { error: `${publicKey} ${JSON.stringify(publicText)} is not a unicast IPv${family}` };
  }
  const dataText = annotations[dataKey];
  if (dataText === undefined) return { error: `no ${dataKey} annotation` };
  const data = decodeBackendData(dataText);
  if ("error" in data) {
    return { error: family === 4 ? data.error : data.error.replace("backend-data", dataKey) };
  }
  const podCIDR = podCIDROf(node, family);
  if ("error" in podCIDR) return podCIDR;
  const vtep = { ok: { podCIDR: podCIDR.ok, publicIP, mac: data.ok.mac } };
  return data.ok.vni === undefined ? vtep : { ...vtep, vni: data.ok.vni };
}

/** Applies the peer rules to one node, for the families the cluster runs. */
export function nodeToPeer(
  node: NodeView,
  keys: FlannelAnnotationKeys,
  selfName: string,
  families: Families = IPV4_ONLY,
): PeerDecision {
  if (node.name === selfName) return { ignored: "this is the own node" };
  const annotations = node.annotations;
  if (annotations[keys.kubeSubnetManager] !== "true") {
    return { ignored: `no ${keys.kubeSubnetManager}: "true" annotation` };
  }
  const backendType = annotations[keys.backendType];
  if (backendType !== "vxlan") {
    return { error: `backend type is ${JSON.stringify(backendType ?? "")}, not "vxlan"` };
  }
  const peer: Peer = { name: node.name };
  const problems: string[] = [];
  for (const family of [4, 6] as const) {
    if (!(family === 4 ? families.ipv4 : families.ipv6)) continue;
    const vtep = vtepOf(node, keys, family);
    if ("error" in vtep) {
      problems.push(families.ipv4 && families.ipv6 ? `IPv${family}: ${vtep.error}` : vtep.error);
      continue;
    }
    if (family === 4) peer.v4 = vtep.ok;
    else peer.v6 = vtep.ok;
    if (vtep.vni !== undefined) peer.vni ??= vtep.vni;
  }
  if (!peer.v4 && !peer.v6) return { error: problems.join("; ") };
  if (node.resourceVersion !== "") peer.resourceVersion = node.resourceVersion;
  return problems.length > 0 ? { ok: peer, problems } : { ok: peer };
}

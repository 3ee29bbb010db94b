/**
 * Which nodes are overlay peers, by flanneld's rules for the VXLAN backend (IPv4): the node is
 * managed by the kube subnet manager, uses the vxlan backend, and advertises a public IP, a
 * VTEP MAC and an IPv4 pod CIDR. The own node is excluded by name.
 *
 * @module
 */
import { formatIP, parseIP } from "../net/ip.ts";
import { decodeBackendData, type FlannelAnnotationKeys } from "./annotations.ts";
import { ipv4PodCIDR, type NodeView } from "./node.ts";

/** Another node of the overlay, as the data plane needs it (the one peer type of keepnet). */
export interface Peer {
  name: string;
  /** The peer's IPv4 pod CIDR, Go text with host bits cleared. */
  podCIDR: string;
  /** The peer's public (underlay) IPv4 address, dotted quad. */
  publicIP: string;
  /** The peer's VTEP MAC, lower-case. */
  mac: string;
  /** The VNI the peer advertises, when it does (informational: flanneld ignores it). */
  vni?: number;
  /** The Node's resourceVersion this was read from: an older view never replaces a newer one. */
  resourceVersion?: string;
}

/**
 * `ok`: a peer. `ignored`: a node that does not take part in the overlay (the own node, or one
 * not managed by flannel), which is normal and not worth a warning. `error`: a node that claims
 * to take part but whose annotations or spec cannot be used; the caller logs and skips it.
 */
export type PeerDecision = { ok: Peer } | { ignored: string } | { error: string };

const MULTICAST_V4 = 0xe0000000n;
const BROADCAST_V4 = 0xffffffffn;

function parseUnicastIPv4(text: string): string | undefined {
  const ip = parseIP(text);
  if (!ip || ip.family !== 4) return undefined;
  // None of these can be a VXLAN tunnel endpoint.
  if (ip.value === 0n || ip.value === BROADCAST_V4 || (ip.value & 0xf0000000n) === MULTICAST_V4) {
    return undefined;
  }
  return formatIP(ip);
}

/** Applies the peer rules to one node. */
export function nodeToPeer(
  node: NodeView,
  keys: FlannelAnnotationKeys,
  selfName: string,
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
  const publicIPText = annotations[keys.publicIP];
  if (publicIPText === undefined) return { error: `no ${keys.publicIP} annotation` };
  const publicIP = parseUnicastIPv4(publicIPText);
  if (!publicIP) {
    return { error: `${keys.publicIP} ${JSON.stringify(publicIPText)} is not a unicast IPv4` };
  }
  const backendDataText = annotations[keys.backendData];
  if (backendDataText === undefined) return { error: `no ${keys.backendData} annotation` };
  const backendData = decodeBackendData(backendDataText);
  if ("error" in backendData) return backendData;
  const podCIDR = ipv4PodCIDR(node);
  if ("error" in podCIDR) return podCIDR;
  const peer: Peer = { name: node.name, podCIDR: podCIDR.ok, publicIP, mac: backendData.ok.mac };
  if (backendData.ok.vni !== undefined) peer.vni = backendData.ok.vni;
  if (node.resourceVersion !== "") peer.resourceVersion = node.resourceVersion;
  return { ok: peer };
}

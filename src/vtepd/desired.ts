/**
 * The data plane flannel's VXLAN backend programs for each peer node, computed from the peer
 * table alone (which can be filled from the API or from local state):
 *
 *   neighbour  <peer VTEP IP> lladdr <mac> permanent         (VTEP IP = peer podCIDR network address)
 *   FDB        <mac> dst <peer public IP> self permanent
 *   route      <peer podCIDR> via <peer VTEP IP> dev flannel.<VNI> onlink
 *
 * With DirectRouting and a peer whose public IP is on-link, only `<podCIDR> via <public IP>`.
 *
 * @module
 */
import type { Peer } from "../kube/peer.ts";
import { formatCIDR, networkAddress, parseCIDR } from "../net/cidr.ts";
import { formatIP } from "../net/ip.ts";

export interface NeighbourEntry {
  ip: string;
  mac: string;
}

export interface FdbEntry {
  mac: string;
  dst: string;
}

export interface RouteEntry {
  dst: string;
  gateway: string;
  /** Through the VXLAN device with the onlink flag; false for a DirectRouting route. */
  onlink: boolean;
}

export interface DataPlane {
  neighbours: NeighbourEntry[];
  fdb: FdbEntry[];
  routes: RouteEntry[];
}

export interface DesiredOptions {
  directRouting: boolean;
  /** Whether `ip` is reachable without a gateway (only asked when directRouting is on). */
  isOnLink?: (ip: string) => boolean;
}

/** The peer's VTEP address: the network address of its pod CIDR. */
export function vtepAddress(podCIDR: string): string {
  const cidr = parseCIDR(podCIDR);
  if (!cidr) throw new TypeError(`invalid pod CIDR ${podCIDR}`);
  return formatIP(networkAddress(cidr));
}

function canonicalCIDR(text: string): string {
  const cidr = parseCIDR(text);
  if (!cidr) throw new TypeError(`invalid pod CIDR ${text}`);
  return formatCIDR({ ...cidr, ip: networkAddress(cidr) });
}

/** The entries one peer needs. */
export function peerDataPlane(peer: Peer, options: DesiredOptions): DataPlane {
  const dst = canonicalCIDR(peer.podCIDR);
  if (options.directRouting && options.isOnLink?.(peer.publicIP)) {
    return { neighbours: [], fdb: [], routes: [{ dst, gateway: peer.publicIP, onlink: false }] };
  }
  const vtep = vtepAddress(peer.podCIDR);
  return {
    neighbours: [{ ip: vtep, mac: peer.mac }],
    fdb: [{ mac: peer.mac, dst: peer.publicIP }],
    routes: [{ dst, gateway: vtep, onlink: true }],
  };
}

/** The entries all peers need together. */
export function desiredDataPlane(peers: Iterable<Peer>, options: DesiredOptions): DataPlane {
  const plane: DataPlane = { neighbours: [], fdb: [], routes: [] };
  for (const peer of peers) {
    const entries = peerDataPlane(peer, options);
    plane.neighbours.push(...entries.neighbours);
    plane.fdb.push(...entries.fdb);
    plane.routes.push(...entries.routes);
  }
  return plane;
}

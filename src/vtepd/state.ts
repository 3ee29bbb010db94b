/**
 * The daemon's own state file (`<state-dir>/vtepd-state.json`). It is the first place the VTEP
 * MAC is read from at start-up, so the MAC survives reboots even when the API server and the
 * device are both gone. It also keeps the node's lease, the peer table (written through on every
 * change, see state_store.ts) and the newest resourceVersion seen, so after a reboot without the
 * API the data plane and subnet.env come back from local state and a stale cache is recognised.
 * Written atomically (write, fsync, rename, fsync of the directory); a missing or unreadable
 * file means "no state".
 *
 * @module
 */
import { replaceFileDurably } from "../fs/atomic_async.ts";
import { isUsableUnicastMAC, parseMAC } from "../net/mac.ts";
import { parseCIDR } from "../net/cidr.ts";
import { type Family, parseIP } from "../net/ip.ts";
import type { Peer, PeerVtep } from "../kube/peer.ts";
import { readTextBounded, SMALL_FILE_LIMIT, STATE_FILE_LIMIT } from "./read_config.ts";

export const STATE_FILE = "vtepd-state.json";
const FORMAT_VERSION = 1;

export interface VtepState {
  /** The node the state belongs to. */
  nodeName: string;
  /** /etc/machine-id when the state was written: a cloned disk must not clone the MAC. */
  machineId?: string;
  /** The IPv4 VTEP MAC this node advertises, kept for the life of the node (absent if unusable). */
  vtepMAC?: string;
  /** The IPv6 VTEP's (`flannel-v6.<VNI>`) MAC, likewise. */
  vtepMACv6?: string;
  /** When loading: a MAC of the file that is not usable as a unicast VTEP MAC (never written). */
  unusableMAC?: string;
  unusableMACv6?: string;
  vni: number;
  /** This node's IPv4 pod CIDR and advertised public IP, as last configured. */
  lease?: SavedLease;
  /** The same for IPv6. */
  leaseV6?: SavedLease;
  /** The peer table. */
  peers?: Peer[];
  /** The newest resourceVersion of the node list seen: an older list is a stale cache. */
  resourceVersion?: string;
  updatedAt: string;
}

export interface SavedLease {
  podCIDR: string;
  publicIP: string;
}

export type StateLoad =
  | { kind: "missing" }
  | { kind: "loaded"; state: VtepState }
  | { kind: "invalid"; reason: string };

export function statePath(stateDir: string): string {
  return `${stateDir.replace(/\/+$/, "")}/${STATE_FILE}`;
}

function validate(document: unknown): VtepState | string {
  if (typeof document !== "object" || document === null) return "not a JSON object";
  const record = document as Record<string, unknown>;
  if (record.version !== FORMAT_VERSION) return `unknown format version ${record.version}`;
  if (typeof record.nodeName !== "string" || record.nodeName === "") return "nodeName missing";
  if (typeof record.vni !== "number") return "vni missing";
  const state: VtepState = {
    nodeName: record.nodeName,
    vni: record.vni,
    updatedAt: typeof record.updatedAt === "string" ? record.updatedAt : "",
  };
  // A MAC the kernel refuses for a VXLAN device (multicast, all-zero, broadcast) is set aside:
  // the rest of the file (lease, peers) is still good, and the MAC comes from the next source.
  const mac = usableMAC(record.vtepMAC);
  if (mac) state.vtepMAC = mac;
  else if (record.vtepMAC !== undefined || record.lease !== undefined) {
    state.unusableMAC = JSON.stringify(record.vtepMAC ?? null);
  }
  const mac6 = usableMAC(record.vtepMACv6);
  if (mac6) state.vtepMACv6 = mac6;
  else if (record.vtepMACv6 !== undefined) state.unusableMACv6 = JSON.stringify(record.vtepMACv6);
  if (typeof record.machineId === "string") state.machineId = record.machineId;
  const lease = validLease(record.lease, 4);
  if (lease) state.lease = lease;
  const leaseV6 = validLease(record.leaseV6, 6);
  if (leaseV6) state.leaseV6 = leaseV6;
  if (Array.isArray(record.peers)) {
    state.peers = record.peers.map(peerFromFile).filter((peer) => peer !== undefined);
  }
  if (typeof record.resourceVersion === "string" && record.resourceVersion !== "") {
    state.resourceVersion = record.resourceVersion;
  }
  return state;
}

function usableMAC(value: unknown): string | undefined {
  const mac = typeof value === "string" ? parseMAC(value) : undefined;
  return mac && isUsableUnicastMAC(mac) ? mac : undefined;
}

function validLease(value: unknown, family: Family): SavedLease | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { podCIDR, publicIP } = value as Record<string, unknown>;
  if (typeof podCIDR !== "string" || parseCIDR(podCIDR)?.ip.family !== family) return undefined;
  if (typeof publicIP !== "string" || parseIP(publicIP)?.family !== family) return undefined;
  return { podCIDR, publicIP };
}

/** A peer's VTEP of one family from the file, if every field still parses. */
function vtepFromFile(value: unknown, family: Family): PeerVtep | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { podCIDR, publicIP, mac } = value as Record<string, unknown>;
  if (typeof podCIDR !== "string" || parseCIDR(podCIDR)?.ip.family !== family) return undefined;
  if (typeof publicIP !== "string" || parseIP(publicIP)?.family !== family) return undefined;
  if (typeof mac !== "string" || parseMAC(mac) !== mac || !isUsableUnicastMAC(mac)) {
    return undefined;
  }
  return { podCIDR, publicIP, mac };
}

/**
 * A saved peer (its IPv4 VTEP's fields at the top, as version 1 always had them; its IPv6 VTEP
 * under `v6`), with only the fields a peer has. A damaged entry is dropped alone.
 */
function peerFromFile(value: unknown): Peer | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.name !== "string" || record.name === "") return undefined;
  const peer: Peer = { name: record.name };
  const v4 = vtepFromFile(record, 4);
  if (v4) peer.v4 = v4;
  const v6 = vtepFromFile(record.v6, 6);
  if (v6) peer.v6 = v6;
  if (!peer.v4 && !peer.v6) return undefined;
  if (typeof record.vni === "number") peer.vni = record.vni;
  if (typeof record.resourceVersion === "string") peer.resourceVersion = record.resourceVersion;
  return peer;
}

function peerToFile(peer: Peer): Record<string, unknown> {
  const record: Record<string, unknown> = { name: peer.name, ...peer.v4 };
  if (peer.v6) record.v6 = peer.v6;
  if (peer.vni !== undefined) record.vni = peer.vni;
  if (peer.resourceVersion !== undefined) record.resourceVersion = peer.resourceVersion;
  return record;
}

export function loadState(stateDir: string): StateLoad {
  let text: string;
  try {
    text = readTextBounded(statePath(stateDir), STATE_FILE_LIMIT, "state file");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { kind: "missing" };
    return { kind: "invalid", reason: (error as Error).message };
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return { kind: "invalid", reason: `not JSON: ${(error as Error).message}` };
  }
  const result = validate(document);
  return typeof result === "string"
    ? { kind: "invalid", reason: result }
    : { kind: "loaded", state: result };
}

export async function saveState(stateDir: string, state: VtepState): Promise<void> {
  await Deno.mkdir(stateDir, { recursive: true, mode: 0o755 });
  const { unusableMAC: _, unusableMACv6: _v6, peers, ...kept } = state;
  const document = {
    version: FORMAT_VERSION,
    ...kept,
    ...(peers ? { peers: peers.map(peerToFile) } : {}),
  };
  await replaceFileDurably(statePath(stateDir), JSON.stringify(document, null, 2) + "\n");
}

/** This machine's /etc/machine-id, when it has one. */
export function readMachineId(path = "/etc/machine-id"): string | undefined {
  try {
    const id = readTextBounded(path, SMALL_FILE_LIMIT, "machine-id").trim();
    return id === "" ? undefined : id;
  } catch {
    return undefined;
  }
}

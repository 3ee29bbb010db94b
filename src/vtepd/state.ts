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
import { parseIP } from "../net/ip.ts";
import type { Peer } from "../kube/peer.ts";
import { readTextBounded, SMALL_FILE_LIMIT, STATE_FILE_LIMIT } from "./read_config.ts";

export const STATE_FILE = "vtepd-state.json";
const FORMAT_VERSION = 1;

export interface VtepState {
  /** The node the state belongs to. */
  nodeName: string;
  /** /etc/machine-id when the state was written: a cloned disk must not clone the MAC. */
  machineId?: string;
  /** The VTEP MAC this node advertises, kept for the life of the node (absent if unusable). */
  vtepMAC?: string;
  /** When loading: the file's MAC, which is not usable as a unicast VTEP MAC (never written). */
  unusableMAC?: string;
  vni: number;
  /** This node's pod CIDR and advertised public IP, as last configured. */
  lease?: SavedLease;
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
  const mac = typeof record.vtepMAC === "string" ? parseMAC(record.vtepMAC) : undefined;
  if (mac && isUsableUnicastMAC(mac)) state.vtepMAC = mac;
  else state.unusableMAC = JSON.stringify(record.vtepMAC ?? null);
  if (typeof record.machineId === "string") state.machineId = record.machineId;
  const lease = validLease(record.lease);
  if (lease) state.lease = lease;
  if (Array.isArray(record.peers)) state.peers = record.peers.filter(isValidPeer).map(savedPeer);
  if (typeof record.resourceVersion === "string" && record.resourceVersion !== "") {
    state.resourceVersion = record.resourceVersion;
  }
  return state;
}

function validLease(value: unknown): SavedLease | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { podCIDR, publicIP } = value as Record<string, unknown>;
  if (typeof podCIDR !== "string" || parseCIDR(podCIDR)?.ip.family !== 4) return undefined;
  if (typeof publicIP !== "string" || parseIP(publicIP)?.family !== 4) return undefined;
  return { podCIDR, publicIP };
}

/** A saved peer is used only if every field still parses (a damaged entry is dropped alone). */
function isValidPeer(value: unknown): value is Peer {
  if (typeof value !== "object" || value === null) return false;
  const { name, podCIDR, publicIP, mac } = value as Record<string, unknown>;
  return typeof name === "string" && name !== "" &&
    typeof podCIDR === "string" && parseCIDR(podCIDR)?.ip.family === 4 &&
    typeof publicIP === "string" && parseIP(publicIP)?.family === 4 &&
    typeof mac === "string" && parseMAC(mac) === mac && isUsableUnicastMAC(mac);
}

/** Only the fields a peer has: a hand-edited file's extra keys are not carried along. */
function savedPeer(peer: Peer): Peer {
  const copy: Peer = {
    name: peer.name,
    podCIDR: peer.podCIDR,
    publicIP: peer.publicIP,
    mac: peer.mac,
  };
  if (typeof peer.vni === "number") copy.vni = peer.vni;
  if (typeof peer.resourceVersion === "string") copy.resourceVersion = peer.resourceVersion;
  return copy;
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
  const { unusableMAC: _, ...kept } = state;
  const document = { version: FORMAT_VERSION, ...kept };
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

/**
 * The daemon's own state file (`<state-dir>/vtepd-state.json`). It is the first place the VTEP
 * MAC is read from at start-up, so the MAC survives reboots even when the API server and the
 * device are both gone. It also keeps the node's lease and the last authoritative peer table, so
 * after a reboot without the API the data plane and subnet.env come back from local state.
 * Written atomically; a missing or unreadable file means "no state".
 *
 * @module
 */
import { writeFileAtomic } from "../fs/atomic.ts";
import { isUsableUnicastMAC, parseMAC } from "../net/mac.ts";
import { parseCIDR } from "../net/cidr.ts";
import { parseIP } from "../net/ip.ts";
import type { PeerLease } from "./desired.ts";

export const STATE_FILE = "vtepd-state.json";
const FORMAT_VERSION = 1;

export interface VtepState {
  /** The node the state belongs to. */
  nodeName: string;
  /** /etc/machine-id when the state was written: a cloned disk must not clone the MAC. */
  machineId?: string;
  /** The VTEP MAC this node advertises, kept for the life of the node. */
  vtepMAC: string;
  vni: number;
  /** This node's pod CIDR and advertised public IP, as last configured. */
  lease?: SavedLease;
  /** The peer table as of the last complete node list. */
  peers?: PeerLease[];
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
  const mac = typeof record.vtepMAC === "string" ? parseMAC(record.vtepMAC) : undefined;
  if (!mac) return "vtepMAC missing or malformed";
  if (typeof record.vni !== "number") return "vni missing";
  const state: VtepState = {
    nodeName: record.nodeName,
    vtepMAC: mac,
    vni: record.vni,
    updatedAt: typeof record.updatedAt === "string" ? record.updatedAt : "",
  };
  if (typeof record.machineId === "string") state.machineId = record.machineId;
  const lease = validLease(record.lease);
  if (lease) state.lease = lease;
  if (Array.isArray(record.peers)) state.peers = record.peers.filter(isValidPeer);
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
function isValidPeer(value: unknown): value is PeerLease {
  if (typeof value !== "object" || value === null) return false;
  const { name, podCIDR, publicIP, mac } = value as Record<string, unknown>;
  return typeof name === "string" && name !== "" &&
    typeof podCIDR === "string" && parseCIDR(podCIDR)?.ip.family === 4 &&
    typeof publicIP === "string" && parseIP(publicIP)?.family === 4 &&
    typeof mac === "string" && parseMAC(mac) === mac && isUsableUnicastMAC(mac);
}

export async function loadState(stateDir: string): Promise<StateLoad> {
  let text: string;
  try {
    text = await Deno.readTextFile(statePath(stateDir));
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
  const document = { version: FORMAT_VERSION, ...state };
  writeFileAtomic(statePath(stateDir), JSON.stringify(document, null, 2) + "\n", {
    mode: 0o644,
  });
}

/** This machine's /etc/machine-id, when it has one. */
export async function readMachineId(path = "/etc/machine-id"): Promise<string | undefined> {
  try {
    const id = (await Deno.readTextFile(path)).trim();
    return id === "" ? undefined : id;
  } catch {
    return undefined;
  }
}

/**
 * The daemon's own state file (`<state-dir>/vtepd-state.json`). It is the first place the VTEP
 * MAC is read from at start-up, so the MAC survives reboots even when the API server and the
 * device are both gone. Written atomically; a missing or unreadable file means "no state".
 *
 * @module
 */
import { writeFileAtomic } from "../fs/atomic.ts";
import { parseMAC } from "../net/mac.ts";

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
  updatedAt: string;
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
  return {
    nodeName: record.nodeName,
    machineId: typeof record.machineId === "string" ? record.machineId : undefined,
    vtepMAC: mac,
    vni: record.vni,
    updatedAt: typeof record.updatedAt === "string" ? record.updatedAt : "",
  };
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
  await writeFileAtomic(statePath(stateDir), JSON.stringify(document, null, 2) + "\n", {
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

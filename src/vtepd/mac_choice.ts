/**
 * Which VTEP MAC this node uses. The MAC is chosen once and kept for the life of the node:
 * peers that were offline when it changed would keep sending to the old one. The sources, in
 * order: the daemon's state file, the live device, the node's own `backend-data` annotation,
 * and only then a new random MAC (which the caller persists before advertising it).
 *
 * @module
 */
import { isUsableUnicastMAC, parseMAC, randomLocalMAC } from "../net/mac.ts";
import type { StateLoad } from "./state.ts";

export type MacSource = "state" | "device" | "annotation" | "generated";

export interface MacCandidates {
  nodeName: string;
  machineId?: string;
  state: StateLoad;
  /** MAC of an existing `flannel.<VNI>` device. */
  deviceMAC?: string;
  /** VtepMAC decoded from the node's own backend-data annotation. */
  annotationMAC?: string;
}

export interface MacChoice {
  mac: string;
  source: MacSource;
  /** Why a higher-priority source was passed over, for the log. */
  skipped: string[];
}

function usable(text: string | undefined): string | undefined {
  const mac = text === undefined ? undefined : parseMAC(text);
  return mac && isUsableUnicastMAC(mac) ? mac : undefined;
}

export function chooseVtepMAC(candidates: MacCandidates): MacChoice {
  const skipped: string[] = [];
  const { state } = candidates;
  if (state.kind === "loaded") {
    const saved = state.state;
    if (saved.nodeName !== candidates.nodeName) {
      skipped.push(`state file belongs to node ${saved.nodeName}`);
    } else if (
      saved.machineId && candidates.machineId && saved.machineId !== candidates.machineId
    ) {
      skipped.push("state file was written on another machine (machine-id differs)");
    } else if (saved.vtepMAC === undefined) {
      skipped.push(
        `state file's vtepMAC ${saved.unusableMAC ?? "(none)"} is not a usable unicast MAC`,
      );
    } else {
      return { mac: saved.vtepMAC, source: "state", skipped };
    }
  } else if (state.kind === "invalid") {
    skipped.push(`state file unusable: ${state.reason}`);
  }
  const device = usable(candidates.deviceMAC);
  if (device) return { mac: device, source: "device", skipped };
  if (candidates.deviceMAC !== undefined) {
    skipped.push(`the device's MAC ${candidates.deviceMAC} is not a usable unicast MAC`);
  }
  const annotation = usable(candidates.annotationMAC);
  if (annotation) return { mac: annotation, source: "annotation", skipped };
  if (candidates.annotationMAC !== undefined) {
    skipped.push(`the annotation's MAC ${candidates.annotationMAC} is not a usable unicast MAC`);
  }
  return { mac: randomLocalMAC(), source: "generated", skipped };
}

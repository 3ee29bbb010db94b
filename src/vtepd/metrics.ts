/**
 * keepnet-vtepd's Prometheus metrics, in the text exposition format (version 0.0.4), rendered
 * from the daemon's status on every scrape. Names start with `keepnet_vtepd_`; counters end in
 * `_total`. Served at `/metrics` on the health listener.
 *
 * @module
 */
import type { DaemonStatus, RepairKind } from "./daemon.ts";
import type { MacSource } from "./mac_choice.ts";

const REPAIR_KINDS: RepairKind[] = [
  "device",
  "mac",
  "mtu",
  "address",
  "up",
  "neighbour",
  "fdb",
  "route",
];
const MAC_SOURCES: MacSource[] = ["state", "device", "annotation", "generated"];

/** A label value with `\`, `"` and newlines escaped, as the format wants. */
function label(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

class Exposition {
  #lines: string[] = [];

  metric(
    name: string,
    type: "gauge" | "counter",
    help: string,
    samples: [Record<string, string>, number][],
  ): void {
    this.#lines.push(
      `# HELP keepnet_vtepd_${name} ${help}`,
      `# TYPE keepnet_vtepd_${name} ${type}`,
    );
    for (const [labels, value] of samples) {
      const pairs = Object.entries(labels).map(([key, text]) => `${key}="${label(text)}"`);
      const suffix = pairs.length > 0 ? `{${pairs.join(",")}}` : "";
      this.#lines.push(`keepnet_vtepd_${name}${suffix} ${value}`);
    }
  }

  text(): string {
    return `${this.#lines.join("\n")}\n`;
  }
}

export interface BuildInfo {
  version: string;
  deno: string;
}

export function renderMetrics(status: DaemonStatus, build: BuildInfo, now = new Date()): string {
  const out = new Exposition();
  out.metric(
    "build_info",
    "gauge",
    "Version of keepnet-vtepd and of the Deno runtime it was built with.",
    [
      [{ version: build.version, deno: build.deno }, 1],
    ],
  );
  out.metric("ready", "gauge", "1 when the VXLAN device is configured and subnet.env written.", [
    [{}, status.ready ? 1 : 0],
  ]);
  out.metric("peers", "gauge", "Peers in the peer table.", [[{}, status.peers]]);
  out.metric(
    "peers_programmed",
    "gauge",
    "Peers whose neighbour, FDB and route entries are programmed into the kernel.",
    [[{}, status.peersProgrammed]],
  );
  out.metric(
    "duplicate_mac_peers",
    "gauge",
    "Peers left out of the kernel because another node (or this one) already uses their VTEP MAC.",
    [[{}, status.duplicateMacPeers]],
  );
  out.metric(
    "kernel_repairs_total",
    "counter",
    "Kernel drift repaired, by kind (device re-created, MAC, MTU, address, up, neighbour, FDB entry, route).",
    REPAIR_KINDS.map((kind) => [{ kind }, status.repairs[kind]]),
  );
  out.metric(
    "drift_passes_total",
    "counter",
    "Repair passes started by kernel change notifications.",
    [[{}, status.driftPasses]],
  );
  out.metric("netlink_errors_total", "counter", "Netlink requests that failed (each is retried).", [
    [{}, status.netlinkErrors],
  ]);
  out.metric("api_reachable", "gauge", "1 while the Kubernetes API (or yurthub) answers.", [
    [{}, status.apiReachable ? 1 : 0],
  ]);
  if (status.lastSync) {
    out.metric(
      "node_list_age_seconds",
      "gauge",
      "Seconds since the last successful node list.",
      [[{}, Math.max(0, (now.getTime() - status.lastSync.at.getTime()) / 1000)]],
    );
  }
  out.metric(
    "vtep_mac_source",
    "gauge",
    "Where the VTEP MAC came from: 1 for the source used (state file, live device, annotation, new).",
    MAC_SOURCES.map((source) => [{ source }, status.macSource === source ? 1 : 0]),
  );
  out.metric("state_writes_total", "counter", "Successful writes of the state file.", [
    [{}, status.state.writes],
  ]);
  out.metric(
    "state_write_failures_total",
    "counter",
    "Failed attempts to write the state file.",
    [[{}, status.state.failures]],
  );
  return out.text();
}

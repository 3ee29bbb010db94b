/**
 * /metrics: the daemon's figures in Prometheus's text format, as `promtool check metrics`
 * (Debian's prometheus package) accepts them, with the names and labels the README documents.
 */
import assert from "node:assert/strict";
import type { DaemonStatus } from "../../src/vtepd/daemon.ts";
import { serveHealth } from "../../src/vtepd/health.ts";
import { renderMetrics } from "../../src/vtepd/metrics.ts";
import { readiness } from "../../src/vtepd/readiness.ts";

const STATUS: DaemonStatus = {
  ready: true,
  device: true,
  subnetEnv: true,
  peers: 3,
  peersProgrammed: 2,
  duplicateMacPeers: 1,
  macSource: "state",
  apiReachable: false,
  lastSync: { at: new Date("2026-12-01T10:00:00Z"), authoritative: false },
  state: { writes: 12, failures: 2, lastError: "EIO" },
  repairs: { device: 1, mac: 2, mtu: 0, address: 0, up: 0, neighbour: 3, fdb: 4, route: 5 },
  driftPasses: 9,
  netlinkErrors: 7,
};
const BUILD = { version: "0.1.0", deno: "2.9.6" };

Deno.test("metrics: every figure, with its value and labels", () => {
  const text = renderMetrics(STATUS, BUILD, new Date("2026-12-01T10:00:42Z"));
  for (
    const sample of [
      'keepnet_vtepd_build_info{version="0.1.0",deno="2.9.6"} 1',
      "keepnet_vtepd_ready 1",
      "keepnet_vtepd_peers 3",
      "keepnet_vtepd_peers_programmed 2",
      "keepnet_vtepd_duplicate_mac_peers 1",
      'keepnet_vtepd_kernel_repairs_total{kind="device"} 1',
      'keepnet_vtepd_kernel_repairs_total{kind="mac"} 2',
      'keepnet_vtepd_kernel_repairs_total{kind="neighbour"} 3',
      'keepnet_vtepd_kernel_repairs_total{kind="fdb"} 4',
      'keepnet_vtepd_kernel_repairs_total{kind="route"} 5',
      "keepnet_vtepd_drift_passes_total 9",
      "keepnet_vtepd_netlink_errors_total 7",
      "keepnet_vtepd_api_reachable 0",
      "keepnet_vtepd_node_list_age_seconds 42",
      'keepnet_vtepd_vtep_mac_source{source="state"} 1',
      'keepnet_vtepd_vtep_mac_source{source="generated"} 0',
      "keepnet_vtepd_state_writes_total 12",
      "keepnet_vtepd_state_write_failures_total 2",
    ]
  ) {
    assert.ok(text.split("\n").includes(sample), `missing: ${sample}\n${text}`);
  }
  const before = renderMetrics({ ...STATUS, lastSync: undefined }, BUILD);
  assert.doesNotMatch(before, /node_list_age_seconds/, "no age before the first list");
});

Deno.test("metrics: promtool check metrics accepts the exposition served at /metrics", async () => {
  const server = serveHealth("127.0.0.1", 0, {
    readiness: () => readiness(STATUS, "flannel.1"),
    metrics: () => renderMetrics(STATUS, BUILD),
  });
  try {
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.match(response.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const promtool = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = promtool.stdin.getWriter();
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
    const result = await promtool.output();
    const said = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
    assert.equal(result.code, 0, said);
    assert.equal(said.trim(), "", `promtool found problems:\n${said}`);
  } finally {
    await server.shutdown();
  }
});

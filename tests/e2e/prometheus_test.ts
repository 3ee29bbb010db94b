/**
 * A real Prometheus (Debian's prometheus package) scrapes a node's keepnet-vtepd at /metrics:
 * the target is up and the daemon's figures are stored.
 */
import assert from "node:assert/strict";
import { Lab, waitFor } from "../../scripts/lab.ts";
import { E2E, waitForPeers } from "./helpers.ts";

const METRICS_PORT = 9101;

Deno.test({
  name: "prometheus: a real Prometheus scrapes keepnet-vtepd's /metrics",
  ...E2E,
  async fn() {
    await using lab = await Lab.create([{ name: "edge-1" }, { name: "edge-2" }]);
    const [edge1, edge2] = [lab.node("edge-1"), lab.node("edge-2")];
    for (const node of [edge1, edge2]) {
      node.startVtepd([`--healthz-ip=0.0.0.0`, `--healthz-port=${METRICS_PORT}`]);
    }
    await waitForPeers(edge1, [edge2]);
    const dir = `${lab.dir}/prometheus`;
    await Deno.mkdir(dir);
    await Deno.writeTextFile(
      `${dir}/prometheus.yml`,
      [
        "global: {scrape_interval: 1s, scrape_timeout: 1s}",
        "scrape_configs:",
        "  - job_name: keepnet-vtepd",
        `    static_configs: [{targets: ["${edge1.ip}:${METRICS_PORT}"]}]`,
        "",
      ].join("\n"),
    );
    // In the LAN namespace, where the nodes are reachable; stopped by its PID below.
    const prometheus = lab.lan.spawn([
      "prometheus",
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      "--web.listen-address=127.0.0.1:19090",
    ], { stdout: "null", stderr: "null" });
    try {
      const query = async (expression: string) =>
        await lab.lan.run([
          "promtool",
          "query",
          "instant",
          "http://127.0.0.1:19090",
          expression,
        ]);
      const up = await waitFor("Prometheus to scrape edge-1", async () => {
        const result = await query(`up{job="keepnet-vtepd"} == 1`);
        return result.code === 0 && result.stdout.includes("=> 1") ? result.stdout : undefined;
      }, 30_000);
      assert.match(up, new RegExp(`instance="${edge1.ip.replaceAll(".", "\\.")}:${METRICS_PORT}"`));
      const peers = await query("keepnet_vtepd_peers_programmed");
      assert.match(peers.stdout, /keepnet_vtepd_peers_programmed\{.*\} => 1 @/);
      const source = await query('keepnet_vtepd_vtep_mac_source{source="generated"}');
      assert.match(source.stdout, /=> 1 @/);
    } finally {
      prometheus.kill("SIGTERM");
      await prometheus.status;
    }
  },
});

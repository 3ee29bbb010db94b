import assert from "node:assert/strict";
import type { DaemonStatus } from "../../src/vtepd/daemon.ts";
import { serveHealth } from "../../src/vtepd/health.ts";
import { readiness } from "../../src/vtepd/readiness.ts";

function status(overrides: Partial<DaemonStatus> = {}): DaemonStatus {
  return {
    ready: true,
    device: true,
    subnetEnv: true,
    peers: 2,
    macSource: "state",
    apiReachable: true,
    lastSync: { at: new Date("2026-12-01T10:00:00Z"), authoritative: true },
    state: { writes: 3, failures: 0 },
    repairs: { device: 0, mac: 0, mtu: 0, address: 0, up: 0, neighbour: 0, fdb: 0, route: 0 },
    driftPasses: 0,
    duplicateMacPeers: 0,
    peersProgrammed: 2,
    netlinkErrors: 0,
    ...overrides,
  };
}

Deno.test("health: /healthz always 200, /readyz 503 until ready, with every check in the body", async () => {
  let current = status({ ready: false, device: false, subnetEnv: false });
  const server = serveHealth("127.0.0.1", 0, { readiness: () => readiness(current, "flannel.1") });
  try {
    const get = async (path: string) => {
      const response = await fetch(`http://127.0.0.1:${server.port}${path}`);
      return { status: response.status, body: await response.text() };
    };
    assert.equal((await get("/healthz")).status, 200);
    const notReady = await get("/readyz");
    assert.equal(notReady.status, 503);
    assert.match(notReady.body, /\[-\] device flannel\.1 not configured yet/);
    current = status();
    const ready = await get("/readyz");
    assert.equal(ready.status, 200);
    assert.match(ready.body, /\[\+\] state file written \(3 writes\)/);
    assert.match(ready.body, /\[\+\] API reachable; last node list 2026-12-01T10:00:00\.000Z/);
    assert.equal((await get("/other")).status, 404);
  } finally {
    await server.shutdown();
  }
});

Deno.test("health: a failing state file and an unreachable API show in /readyz without failing it", () => {
  const report = readiness(
    status({
      apiReachable: false,
      lastSync: { at: new Date("2026-12-01T10:00:00Z"), authoritative: false },
      state: {
        writes: 3,
        failures: 7,
        lastError: "EROFS: read-only file system",
        failingSince: new Date("2026-12-01T11:00:00Z"),
      },
    }),
    "flannel.1",
  );
  assert.equal(report.ready, true, "pods still get a network");
  assert.ok(report.checks.includes(
    "[!] state file: writes failing since 2026-12-01T11:00:00.000Z: EROFS: read-only file system" +
      " (a reboot now would lose the newest peers)",
  ));
  assert.ok(
    report.checks.some((line) =>
      line.startsWith("[!] API unreachable") && line.includes("(not authoritative)")
    ),
  );
});

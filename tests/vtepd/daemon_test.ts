/**
 * keepnet-vtepd's life cycle against the in-memory kernel and API: the state file never lags
 * the kernel, nothing is removed by a list that lacks this node, an older list, a 404 or an
 * unreachable API, only authoritative lists and live deletions remove peers, a failing disk is
 * reported and does not stop the data plane, and kernel drift is repaired from notifications.
 */
import assert from "node:assert/strict";
import { flannelNode } from "../kube/fixtures.ts";
import { daemonHarness, seedCluster } from "./daemon_harness.ts";
import type { VtepState } from "../../src/vtepd/state.ts";
import { saveState } from "../../src/vtepd/state.ts";

const peer = (n: number, resourceVersion?: string) => ({
  name: `edge-${n}`,
  v4: { podCIDR: `10.244.${n}.0/24`, publicIP: `192.168.0.${n}`, mac: `0a:00:00:00:00:0${n}` },
  ...(resourceVersion ? { resourceVersion } : {}),
});

Deno.test("daemon: a fresh node takes its lease from the API and programs its peers, each on disk before the kernel", async () => {
  const onDisk = new Set<string>();
  await using h = await daemonHarness({
    writeState: async (dir, state) => {
      await saveState(dir, state);
      for (const saved of state.peers ?? []) onDisk.add(saved.name);
    },
  });
  seedCluster(h.api);
  const routed: string[] = [];
  h.kernel.beforeCall = (call) => {
    const match = call.match(/^replaceRoute 10\.244\.(\d+)\.0\/24$/);
    if (!match) return;
    routed.push(`edge-${match[1]}`);
    assert.ok(onDisk.has(`edge-${match[1]}`), `${call} before edge-${match[1]} is on disk`);
  };
  await h.daemon.start();
  await h.until("both peers routed", () => h.routedPeers().length === 2);
  assert.deepEqual([...new Set(routed)].sort(), ["edge-2", "edge-3"]);
  assert.deepEqual(await h.savedPeers(), ["edge-2", "edge-3"]);
  assert.match(await Deno.readTextFile(h.options.subnetFile), /FLANNEL_SUBNET=10\.244\.1\.1\/24/);
  assert.ok(h.daemon.ready());
});

Deno.test("daemon: a peer added by a watch event is on disk within 100 ms of reaching the kernel", async () => {
  await using h = await daemonHarness();
  seedCluster(h.api);
  await h.daemon.start();
  await h.until("both peers routed", () => h.routedPeers().length === 2);
  let routedAt = 0;
  h.kernel.beforeCall = (call) => {
    if (call === "replaceRoute 10.244.4.0/24") routedAt = performance.now();
  };
  h.api.put(flannelNode("edge-4", 4));
  await h.until("edge-4 routed", () => routedAt > 0);
  await h.until("edge-4 on disk", async () => (await h.savedPeers()).includes("edge-4"), 100);
});

Deno.test("daemon: the memory a node list leaves behind is released once the list is in the kernel, not per event", async () => {
  const routedAtRelease: string[][] = [];
  const holder: { h?: Awaited<ReturnType<typeof daemonHarness>> } = {};
  await using h = await daemonHarness({
    releaseMemory: () => routedAtRelease.push(holder.h!.routedPeers()),
  });
  holder.h = h;
  seedCluster(h.api);
  await h.daemon.start();
  await h.until("the list released", () => routedAtRelease.length === 1);
  assert.deepEqual(routedAtRelease, [["edge-2", "edge-3"]], "after the list reached the kernel");
  h.api.put(flannelNode("edge-4", 4));
  await h.until("edge-4 routed", () => h.routedPeers().includes("edge-4"));
  await h.daemon.resync();
  assert.equal(routedAtRelease.length, 1, "a watch event or a resync releases nothing");
});

Deno.test("daemon: a list that lacks this node, an older list, 404s and an unreachable API remove nothing", async () => {
  await using h = await daemonHarness();
  seedCluster(h.api);
  await h.daemon.start();
  await h.until("both peers routed", () => h.routedPeers().length === 2);
  const current = h.api.snapshot();

  // A cache that never saw this node.
  h.api.reads = { kind: "stale", snapshot: h.api.snapshot({ omit: ["edge-1", "edge-3"] }) };
  h.api.expireWatches();
  await h.until(
    "the list without this node",
    () => h.log.lines.some((line) => /without removing anything .*lacks this node/.test(line)),
  );

  // A cache older than what the node saw: edge-5 joined later in the cloud.
  h.api.reads = { kind: "live" };
  h.api.put(flannelNode("edge-5", 5));
  await h.until("edge-5 routed", () => h.routedPeers().includes("edge-5"));
  h.api.reads = { kind: "stale", snapshot: current };
  h.api.expireWatches();
  await h.until(
    "the older list",
    () => h.log.lines.some((line) => /is older than what was/.test(line)),
  );
  await h.daemon.resync();

  // Nothing cached, then nothing answering at all.
  h.api.reads = { kind: "not-cached" };
  h.api.expireWatches();
  await h.until("a 404", () => h.api.requests.filter((r) => r === "list").length >= 4);
  h.api.reads = { kind: "unreachable" };
  await new Promise((resolve) => setTimeout(resolve, 50));
  await h.daemon.resync();

  assert.deepEqual(h.routedPeers(), ["edge-2", "edge-3", "edge-5"]);
  assert.deepEqual(await h.savedPeers(), ["edge-2", "edge-3", "edge-5"]);
  assert.deepEqual([...h.daemon.peers.keys()].sort(), ["edge-2", "edge-3", "edge-5"]);
});

Deno.test("daemon: an authoritative list and a live DELETED event remove peers from kernel and disk", async () => {
  await using h = await daemonHarness();
  seedCluster(h.api);
  h.api.put(flannelNode("edge-4", 4));
  await h.daemon.start();
  await h.until("three peers routed", () => h.routedPeers().length === 3);

  h.api.delete("edge-4");
  await h.until("edge-4 gone", () => !h.routedPeers().includes("edge-4"));
  assert.deepEqual(await h.savedPeers(), ["edge-2", "edge-3"]);

  // edge-3 is deleted while the API is out of reach: nothing is removed until the API tells.
  h.api.reads = { kind: "unreachable" };
  h.api.breakWatches();
  h.api.delete("edge-3");
  const watchesBefore = h.api.requests.length;
  await h.until("a failed watch", () => h.api.requests.length > watchesBefore, 5000);
  assert.ok(h.routedPeers().includes("edge-3"), "nothing removed while unreachable");
  // The watch resumes from the version it knew, and the server replays the DELETED event.
  h.api.reads = { kind: "live" };
  await h.until("edge-3 gone", () => !h.routedPeers().includes("edge-3"), 5000);
  assert.deepEqual(await h.savedPeers(), ["edge-2"]);

  // edge-2 goes while away, and the server has compacted that event away: only a list can tell.
  h.api.reads = { kind: "unreachable" };
  h.api.breakWatches();
  h.api.delete("edge-2");
  h.api.compact();
  h.api.reads = { kind: "live" };
  await h.until("edge-2 gone", () => h.routedPeers().length === 0, 5000);
  assert.deepEqual(await h.savedPeers(), []);
  assert.ok(h.api.requests.filter((r) => r === "list").length >= 2, "listed again after 410");
});

Deno.test("daemon: a failing disk shows in the status and the log, the kernel is programmed anyway, and the state catches up", async () => {
  let diskWorks = true;
  const writes: VtepState[] = [];
  await using h = await daemonHarness({
    persistDeadlineMs: 50,
    writeState: async (dir, state) => {
      if (!diskWorks) throw new Error("EIO: i/o error, write");
      writes.push(state);
      await saveState(dir, state);
    },
  });
  seedCluster(h.api);
  await h.daemon.start();
  await h.until("both peers routed", () => h.routedPeers().length === 2);
  diskWorks = false;
  h.api.put(flannelNode("edge-4", 4));
  await h.until("edge-4 routed despite the disk", () => h.routedPeers().includes("edge-4"));
  const status = h.daemon.status();
  assert.match(status.state.lastError!, /EIO/);
  assert.ok(status.state.failingSince instanceof Date);
  assert.ok(h.log.lines.some((line) => /^ERROR cannot write the state file/.test(line)));
  assert.ok(h.log.lines.some((line) => /slow to write; programming the kernel anyway/.test(line)));
  diskWorks = true;
  await h.until("the state caught up", () => h.daemon.status().state.lastError === undefined, 8000);
  assert.ok((await h.savedPeers()).includes("edge-4"));
  assert.ok(writes.length >= 2);
});

Deno.test("daemon: an offline reboot comes up from the state file, and a stale cache behind a yurthub removes nothing", async () => {
  await using h = await daemonHarness({
    savedState: { peers: [peer(2, "150"), peer(3, "160")], resourceVersion: "200" },
  });
  h.api.reads = { kind: "unreachable" };
  await h.daemon.start();
  assert.ok(h.daemon.ready(), "ready without the API");
  assert.equal(h.daemon.mac, "0e:aa:bb:cc:dd:01");
  assert.deepEqual(h.routedPeers(), ["edge-2", "edge-3"]);

  // The yurthub answers from a cache written before edge-3 joined: older than what we saved.
  seedCluster(h.api);
  h.api.reads = {
    kind: "stale",
    snapshot: { ...h.api.snapshot({ omit: ["edge-3"] }), resourceVersion: "120" },
  };
  await h.until(
    "the stale list",
    () => h.log.lines.some((line) => /is older than what was/.test(line)),
  );
  await h.daemon.resync();
  assert.deepEqual(h.routedPeers(), ["edge-2", "edge-3"]);
  assert.deepEqual(await h.savedPeers(), ["edge-2", "edge-3"]);
});

Deno.test("daemon: kernel drift is repaired from change notifications, without waiting for a resync", async () => {
  await using h = await daemonHarness();
  seedCluster(h.api);
  await h.daemon.start();
  await h.until("both peers routed", () => h.routedPeers().length === 2);
  const device = () => h.kernel.getLink("flannel.1");
  const ifindex = device()!.index;
  const mac = device()!.mac!;

  h.kernel.outside.deleteRoute("10.244.2.0/24");
  await h.until("route repaired", () => h.routedPeers().includes("edge-2"), 1000);
  h.kernel.outside.deleteNeighbour(ifindex, "10.244.3.0");
  await h.until(
    "neighbour repaired",
    () => h.kernel.listNeighbours({ ifindex }).some((entry) => entry.ip === "10.244.3.0"),
    1000,
  );
  h.kernel.outside.deleteFdb(ifindex, "0a:00:00:00:00:02");
  await h.until(
    "FDB entry repaired",
    () => h.kernel.listFdb({ ifindex }).some((entry) => entry.mac === "0a:00:00:00:00:02"),
    1000,
  );
  h.kernel.outside.setLinkMac("flannel.1", "0e:de:ad:be:ef:00");
  await h.until("MAC repaired", () => device()?.mac === mac, 1000);
  h.kernel.outside.setLinkMtu("flannel.1", 1300);
  await h.until("MTU repaired", () => device()?.mtu === 1450, 1000);
  h.kernel.outside.deleteLink("flannel.1");
  await h.until(
    "device and peers back",
    () => device()?.mac === mac && h.routedPeers().length === 2,
    1000,
  );

  const repairs = h.daemon.status().repairs;
  assert.deepEqual(
    { ...repairs },
    { device: 1, mac: 1, mtu: 1, address: 0, up: 0, neighbour: 1, fdb: 1, route: 1 },
  );
});

Deno.test("daemon: its own kernel changes do not make it loop", async () => {
  await using h = await daemonHarness();
  seedCluster(h.api);
  await h.daemon.start();
  await h.until("both peers routed", () => h.routedPeers().length === 2);
  h.api.put(flannelNode("edge-4", 4));
  h.api.put(flannelNode("edge-2", 2, { mac: "0a:00:00:00:00:22" }));
  await h.until("the changes programmed", () => h.routedPeers().length === 3);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const passes = h.daemon.status().driftPasses;
  const calls = h.kernel.calls.length;
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(h.daemon.status().driftPasses, passes, "no repair passes while nothing happens");
  assert.equal(h.kernel.calls.length, calls, "no kernel calls while nothing happens");
  assert.deepEqual(h.daemon.status().repairs.route, 0);
});

Deno.test("daemon: --ip-blackhole-route adds a blackhole route for the own pod CIDR, never over the bridge's, and puts it back", async () => {
  await using h = await daemonHarness({ daemon: { blackholeRoute: true } });
  seedCluster(h.api);
  await h.daemon.start();
  const blackhole = () =>
    h.kernel.listRoutes({}).find((route) => route.dst === "10.244.1.0/24" && route.type === 6);
  assert.ok(blackhole(), "blackhole 10.244.1.0/24");
  h.kernel.outside.deleteRoute("10.244.1.0/24");
  await h.daemon.resync();
  assert.ok(blackhole(), "re-added at the next pass");
  // Where the bridge routes the pod CIDR, that route stays and no error is counted.
  h.kernel.outside.deleteRoute("10.244.1.0/24");
  h.kernel.outside.addDevice("cni0", "10.244.1.1/24");
  const errors = h.daemon.status().netlinkErrors;
  await h.daemon.resync();
  const route = h.kernel.listRoutes({}).find((entry) => entry.dst === "10.244.1.0/24")!;
  assert.equal(route.type, 1, "the bridge's route is left as it is");
  assert.equal(h.daemon.status().netlinkErrors, errors);
});

Deno.test("daemon: --set-node-network-unavailable=false leaves the NetworkUnavailable condition alone", async () => {
  for (const set of [true, false]) {
    await using h = await daemonHarness({ daemon: { setNodeNetworkUnavailable: set } });
    seedCluster(h.api);
    await h.daemon.start();
    await h.until(
      "the annotations published",
      () =>
        h.api.node("edge-1")!.metadata.annotations?.["flannel.alpha.coreos.com/backend-data"] !==
          undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const conditions = (h.api.node("edge-1")!.status.conditions ?? []) as { type: string }[];
    assert.equal(
      conditions.some((condition) => condition.type === "NetworkUnavailable"),
      set,
      `--set-node-network-unavailable=${set}`,
    );
  }
});

Deno.test("daemon: a silently dead API link shows in its status, removes nothing, and a node that joined meanwhile arrives once the API answers", async () => {
  await using h = await daemonHarness({ daemon: { apiProbe: { afterMs: 100, timeoutMs: 100 } } });
  seedCluster(h.api);
  await h.daemon.start();
  await h.until("two peers routed", () => h.routedPeers().length === 2);
  assert.equal(h.daemon.status().apiReachable, true);

  h.api.reads = { kind: "silent" };
  await h.until("the lost link noticed", () => !h.daemon.status().apiReachable, 2000);
  h.api.put(flannelNode("edge-4", 4));
  await h.daemon.resync();
  assert.deepEqual(h.routedPeers(), ["edge-2", "edge-3"]);

  h.api.reads = { kind: "live" };
  await h.until("edge-4 routed", () => h.routedPeers().includes("edge-4"), 2000);
  assert.equal(h.daemon.status().apiReachable, true);
  assert.deepEqual(await h.savedPeers(), ["edge-2", "edge-3", "edge-4"]);
});

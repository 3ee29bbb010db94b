/**
 * The kernel monitor against the real kernel. Each test makes a namespace and opens the monitor
 * (and, where needed, a Netlink) with this test's JS thread briefly inside it (insideNetns): the
 * sockets stay bound to that namespace, so the monitor runs here, under deno test's sanitizers,
 * while every change is made in the namespace by `ip`/`bridge` or our own socket.
 *
 * @module
 */
import assert from "node:assert/strict";
import process from "node:process";
import { createNetns, type Netns } from "../helpers/netns.ts";
import { insideNetns } from "../helpers/netns_thread.ts";
import {
  type KernelChange,
  type KernelMonitor,
  type KernelMonitorOptions,
  type Netlink,
  openKernelMonitor,
  openNetlink,
} from "../../src/netlink/mod.ts";

const WAIT_MS = 3000;

function monitorIn(ns: Netns, options?: KernelMonitorOptions): KernelMonitor {
  return insideNetns(ns.name, () => openKernelMonitor(options));
}

function netlinkIn(ns: Netns): Netlink {
  return insideNetns(ns.name, () => openNetlink());
}

function matches(change: KernelChange, expected: Partial<KernelChange>): boolean {
  return Object.entries(expected).every(([key, value]) =>
    (change as unknown as Record<string, unknown>)[key] === value
  );
}

/**
 * Reads batches until one change matches `expected`, and returns it with everything seen up to
 * then. Fails after WAIT_MS (closing the monitor so no read is left pending).
 */
async function waitFor(
  monitor: KernelMonitor,
  expected: Partial<KernelChange>,
  seen: KernelChange[] = [],
): Promise<{ change: KernelChange; seen: KernelChange[] }> {
  const timer = setTimeout(() => monitor.close(), WAIT_MS);
  try {
    for (;;) {
      const found = seen.find((change) => matches(change, expected));
      if (found) return { change: found, seen };
      const batch = await monitor.next();
      if (batch === "closed") {
        throw new Error(
          `no change like ${JSON.stringify(expected)} within ${WAIT_MS} ms; saw ${
            JSON.stringify(seen)
          }`,
        );
      }
      if (batch === "overrun") throw new Error("unexpected overrun");
      assert.ok(batch.length > 0, "next() returned an empty batch");
      seen.push(...batch);
    }
  } finally {
    clearTimeout(timer);
  }
}

async function ifindexOf(ns: Netns, device: string): Promise<number> {
  const [link] = await ns.json<{ ifindex: number }[]>(["ip", "-j", "link", "show", device]);
  return link!.ifindex;
}

/** A VXLAN device `vx0`, up, with an address, as flannel sets one up. */
async function vtep(ns: Netns): Promise<number> {
  await ns.check([
    "ip",
    "link",
    "add",
    "vx0",
    "type",
    "vxlan",
    "id",
    "1",
    "local",
    "10.99.0.1",
    "dstport",
    "8472",
    "nolearning",
  ]);
  await ns.check(["ip", "address", "add", "10.244.1.0/32", "dev", "vx0"]);
  await ns.check(["ip", "link", "set", "vx0", "up"]);
  return ifindexOf(ns, "vx0");
}

function openFdCount(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

Deno.test("link creation, MAC and MTU changes and deletion arrive as link changes", async () => {
  await using ns = await createNetns("kn-mon-");
  using monitor = monitorIn(ns);
  await ns.check(["ip", "link", "add", "vx0", "type", "vxlan", "id", "1", "dstport", "8472"]);
  const { change: created } = await waitFor(monitor, { kind: "link", name: "vx0" });
  const ifindex = await ifindexOf(ns, "vx0");
  assert.equal(created.action, "new");
  assert.equal((created as { ifindex: number }).ifindex, ifindex);

  await ns.check(["ip", "link", "set", "vx0", "address", "02:42:0a:f4:01:07"]);
  await waitFor(monitor, { kind: "link", action: "new", ifindex, mac: "02:42:0a:f4:01:07" });
  await ns.check(["ip", "link", "set", "vx0", "mtu", "1400"]);
  const { change: mtu } = await waitFor(monitor, { kind: "link", ifindex, mtu: 1400 });
  assert.deepEqual(mtu, {
    kind: "link",
    action: "new",
    ifindex,
    name: "vx0",
    mac: "02:42:0a:f4:01:07",
    mtu: 1400,
    flags: (mtu as { flags: number }).flags,
    senderPort: 0,
  });
  await ns.check(["ip", "link", "del", "vx0"]);
  await waitFor(monitor, { kind: "link", action: "del", ifindex, name: "vx0" });
});

Deno.test("ip neigh add and del arrive as neighbour changes", async () => {
  await using ns = await createNetns("kn-mon-");
  const ifindex = await vtep(ns);
  using monitor = monitorIn(ns);
  await ns.check([
    "ip",
    "neigh",
    "add",
    "10.244.2.0",
    "lladdr",
    "02:42:0a:f4:02:00",
    "dev",
    "vx0",
    "nud",
    "permanent",
  ]);
  const { change: added } = await waitFor(monitor, { kind: "neighbour", ip: "10.244.2.0" });
  assert.deepEqual({ ...added, senderPort: 0 }, {
    kind: "neighbour",
    action: "new",
    family: 4,
    ifindex,
    ip: "10.244.2.0",
    mac: "02:42:0a:f4:02:00",
    state: 0x80,
    flags: 0,
    senderPort: 0,
  });
  await ns.check(["ip", "neigh", "del", "10.244.2.0", "dev", "vx0"]);
  await waitFor(monitor, { kind: "neighbour", action: "del", ifindex, ip: "10.244.2.0" });

  await ns.check(["ip", "neigh", "add", "fd00::2", "lladdr", "02:00:00:00:00:06", "dev", "vx0"]);
  await waitFor(monitor, {
    kind: "neighbour",
    action: "new",
    family: 6,
    ip: "fd00::2",
    mac: "02:00:00:00:00:06",
  });
});

Deno.test("bridge fdb add and del on a VXLAN device arrive as FDB changes", async () => {
  await using ns = await createNetns("kn-mon-");
  const ifindex = await vtep(ns);
  using monitor = monitorIn(ns);
  const entry = ["02:42:0a:f4:02:00", "dev", "vx0", "dst", "192.168.50.2"];
  await ns.check(["bridge", "fdb", "add", ...entry, "self", "permanent"]);
  const { change } = await waitFor(monitor, { kind: "fdb", mac: "02:42:0a:f4:02:00" });
  assert.deepEqual(change, {
    kind: "fdb",
    action: "new",
    ifindex,
    mac: "02:42:0a:f4:02:00",
    dst: "192.168.50.2",
    state: 0xc0, // `bridge` adds NUD_NOARP to NUD_PERMANENT
    flags: 0x02,
    senderPort: 0,
  });
  await ns.check(["bridge", "fdb", "del", ...entry, "self"]);
  await waitFor(monitor, { kind: "fdb", action: "del", ifindex, dst: "192.168.50.2" });
});

Deno.test("onlink routes via the VXLAN device, and IPv6 routes, arrive as route changes", async () => {
  await using ns = await createNetns("kn-mon-");
  const ifindex = await vtep(ns);
  using monitor = monitorIn(ns);
  const route = ["10.244.2.0/24", "via", "10.244.2.0", "dev", "vx0", "onlink"];
  await ns.check(["ip", "route", "add", ...route]);
  const { change } = await waitFor(monitor, { kind: "route", dst: "10.244.2.0/24" });
  assert.deepEqual({ ...change, senderPort: 0 }, {
    kind: "route",
    action: "new",
    family: 4,
    dst: "10.244.2.0/24",
    gateway: "10.244.2.0",
    ifindex,
    table: 254,
    flags: 0x4, // RTNH_F_ONLINK
    senderPort: 0,
  });
  await ns.check(["ip", "route", "del", ...route]);
  await waitFor(monitor, { kind: "route", action: "del", dst: "10.244.2.0/24", ifindex });

  await ns.check(["ip", "route", "add", "fd00:1::/64", "dev", "vx0", "table", "1000"]);
  await waitFor(monitor, { kind: "route", family: 6, dst: "fd00:1::/64", table: 1000, ifindex });
});

Deno.test("only the subscribed groups are heard", async () => {
  await using ns = await createNetns("kn-mon-");
  await vtep(ns);
  using monitor = monitorIn(ns, { groups: ["link"] });
  await ns.check(["ip", "neigh", "add", "10.244.2.0", "lladdr", "02:00:00:00:02:00", "dev", "vx0"]);
  await ns.check(["ip", "route", "add", "10.244.9.0/24", "dev", "vx0"]);
  await ns.check(["ip", "link", "set", "vx0", "mtu", "1400"]);
  const { seen } = await waitFor(monitor, { kind: "link", mtu: 1400 });
  assert.deepEqual([...new Set(seen.map((change) => change.kind))], ["link"]);
});

Deno.test("changes made through our own socket carry its localPort for neighbours and routes", async () => {
  await using ns = await createNetns("kn-mon-");
  using monitor = monitorIn(ns);
  using netlink = netlinkIn(ns);
  const port = netlink.localPort();
  assert.ok(port > 0);
  const mac = "02:42:0a:f4:01:00";
  const { index } = netlink.createVxlan({ name: "flannel.1", mac, vni: 1, local: "10.99.0.1" });
  netlink.setLinkUp(index);
  netlink.setLinkMac(index, "02:42:0a:f4:01:01");
  netlink.setLinkMtu(index, 1400);
  const peer = { ifindex: index, ip: "10.244.2.0", mac: "02:42:0a:f4:02:00" };
  netlink.replaceNeighbour(peer);
  netlink.replaceFdb({ ifindex: index, mac: peer.mac, dst: "192.168.50.2" });
  const onlink = { dst: "10.244.2.0/24", gateway: peer.ip, ifindex: index, onlink: true };
  netlink.replaceRoute(onlink);
  netlink.deleteRoute(onlink);
  netlink.deleteFdb({ ifindex: index, mac: peer.mac });
  netlink.deleteNeighbour(peer);
  netlink.deleteLink(index);

  const { seen } = await waitFor(monitor, { kind: "link", action: "del", ifindex: index });
  const portOf = (expected: Partial<KernelChange>) => {
    const change = seen.find((c) => matches(c, expected));
    assert.ok(change, `no change like ${JSON.stringify(expected)} in ${JSON.stringify(seen)}`);
    return change.senderPort === port ? "ours" : change.senderPort;
  };
  // What Linux 6.18 does (documented in monitor.ts).
  assert.deepEqual({
    linkCreated: portOf({ kind: "link", name: "flannel.1", mac }),
    linkMac: portOf({ kind: "link", mac: "02:42:0a:f4:01:01" }),
    linkMtu: portOf({ kind: "link", mtu: 1400 }),
    linkDeleted: portOf({ kind: "link", action: "del" }),
    neighbourAdded: portOf({ kind: "neighbour", action: "new", mac: peer.mac }),
    neighbourFailedOnDelete: portOf({ kind: "neighbour", action: "new", state: 0x20 }),
    neighbourDeleted: portOf({ kind: "neighbour", action: "del", ip: peer.ip }),
    fdbAdded: portOf({ kind: "fdb", action: "new" }),
    fdbDeleted: portOf({ kind: "fdb", action: "del" }),
    routeAdded: portOf({ kind: "route", action: "new", dst: "10.244.2.0/24" }),
    routeDeleted: portOf({ kind: "route", action: "del", dst: "10.244.2.0/24" }),
  }, {
    linkCreated: 0,
    linkMac: 0,
    linkMtu: 0,
    linkDeleted: 0,
    neighbourAdded: "ours",
    neighbourFailedOnDelete: "ours",
    neighbourDeleted: 0,
    fdbAdded: 0,
    fdbDeleted: 0,
    routeAdded: "ours",
    routeDeleted: "ours",
  });

  // The same changes made by `ip` carry ip's port, not ours.
  await ns.check(["ip", "link", "add", "d0", "type", "vxlan", "id", "2", "dstport", "8472"]);
  await ns.check(["ip", "link", "set", "d0", "up"]);
  await ns.check(["ip", "route", "add", "10.250.0.0/16", "dev", "d0"]);
  const { change: byIp } = await waitFor(monitor, { kind: "route", dst: "10.250.0.0/16" });
  assert.ok(byIp.senderPort !== 0 && byIp.senderPort !== port, `port ${byIp.senderPort}`);
});

Deno.test("timers keep firing on time while next() waits", async () => {
  await using ns = await createNetns("kn-mon-");
  using monitor = monitorIn(ns);
  // A change half a second from now, made by another process: a monitor that blocked the event
  // loop until then would delay every timer by that much.
  const later = ns.spawn(["sh", "-c", "sleep 0.5; ip link add d0 type vxlan id 2 dstport 8472"], {
    stdout: "null",
    stderr: "null",
  });
  const ticks: number[] = [];
  const interval = setInterval(() => ticks.push(performance.now()), 10);
  const started = performance.now();
  try {
    await waitFor(monitor, { kind: "link", name: "d0" });
  } finally {
    clearInterval(interval);
    assert.equal((await later.status).code, 0);
  }
  const gaps = ticks.map((tick, i) => tick - (ticks[i - 1] ?? started));
  const longest = Math.max(...gaps);
  console.log(`timers while waiting: ${ticks.length} ticks, longest gap ${longest.toFixed(1)} ms`);
  assert.ok(ticks.length >= 20, `only ${ticks.length} ticks of 10 ms in ~500 ms`);
  assert.ok(longest < 250, `a timer was late by ${longest.toFixed(1)} ms`);
});

Deno.test("an overflowing receive buffer gives one overrun, then changes again", async () => {
  await using ns = await createNetns("kn-mon-");
  await vtep(ns);
  // The kernel raises 1 to its minimum of a few KiB: a handful of notifications.
  using small = monitorIn(ns, { receiveBufferSize: 1 });
  // The default buffer takes the whole flood: the test can tell an overrun from a flood.
  using roomy = monitorIn(ns);
  const flood = Array.from(
    { length: 400 },
    (_, i) =>
      `neigh add 10.244.${i >> 8}.${i & 255} lladdr 02:00:00:00:00:01 dev vx0 nud permanent`,
  ).join("\n");
  // Nobody reads while `ip` floods.
  await ns.check(["ip", "-batch", "-"], { stdin: `${flood}\n` });

  assert.equal(await small.next(), "overrun");
  await ns.check(["ip", "link", "set", "vx0", "mtu", "1400"]);
  const { seen } = await waitFor(small, { kind: "link", mtu: 1400 });
  // What was queued at the overrun was dropped (the caller re-reads everything anyway).
  assert.ok(seen.filter((c) => c.kind === "neighbour").length < 400);

  const { seen: all } = await waitFor(roomy, { kind: "link", mtu: 1400 });
  assert.equal(all.filter((c) => c.kind === "neighbour" && c.action === "new").length, 400);
});

Deno.test("close() while next() waits resolves it with closed at once and frees everything", async () => {
  await using ns = await createNetns("kn-mon-");
  const fdsBefore = openFdCount();
  const monitor = monitorIn(ns);
  assert.equal(openFdCount(), fdsBefore + 2, "a netlink socket and an eventfd");
  const pending = monitor.next();
  await assert.rejects(monitor.next(), /already waiting/);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const closing = performance.now();
  monitor.close();
  monitor.close();
  assert.equal(await pending, "closed");
  const latency = performance.now() - closing;
  console.log(`close() → pending next() resolved in ${latency.toFixed(2)} ms`);
  assert.ok(latency < 100, `took ${latency} ms`);
  assert.equal(await monitor.next(), "closed");
  assert.equal(openFdCount(), fdsBefore);
});

Deno.test("close() before any next() frees at once; bad options are refused", async () => {
  await using ns = await createNetns("kn-mon-");
  const fdsBefore = openFdCount();
  {
    using _monitor = monitorIn(ns, { groups: ["neigh"] });
    assert.equal(openFdCount(), fdsBefore + 2);
  }
  assert.equal(openFdCount(), fdsBefore);
  assert.throws(() => openKernelMonitor({ groups: [] }), /non-empty list/);
  assert.throws(
    // @ts-expect-error: not a group name
    () => openKernelMonitor({ groups: ["addr"] }),
    { name: "TypeError", message: /unknown monitor group "addr"/ },
  );
  assert.throws(() => openKernelMonitor({ receiveBufferSize: 0 }), /receiveBufferSize/);
  assert.equal(openFdCount(), fdsBefore);
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

Deno.test("latency of changes and the CPU cost of an idle monitor", async () => {
  await using ns = await createNetns("kn-mon-");
  const ifindex = await vtep(ns);
  using monitor = monitorIn(ns, { groups: ["link"] });
  using netlink = netlinkIn(ns);

  // Our own request, made while next() sleeps in ppoll: kernel → pool thread → JS.
  const own: number[] = [];
  for (let i = 0; i < 30; i++) {
    const seen = waitFor(monitor, { kind: "link", mtu: 1300 + i }).then(() => performance.now());
    await new Promise((resolve) => setTimeout(resolve, 5));
    const changed = performance.now();
    netlink.setLinkMtu(ifindex, 1300 + i);
    own.push(await seen - changed);
  }
  // An `ip` command: its exit against next() resolving (negative: next() was first).
  const afterExit: number[] = [];
  for (let i = 0; i < 20; i++) {
    let resolved = 0;
    const seen = waitFor(monitor, { kind: "link", mtu: 1200 + i }).then(() => {
      resolved = performance.now();
    });
    await ns.check(["ip", "link", "set", "vx0", "mtu", String(1200 + i)]);
    const exited = performance.now();
    await seen;
    afterExit.push(resolved - exited);
  }
  console.log(
    `latency: own request → next() median ${median(own).toFixed(2)} ms, max ${
      Math.max(...own).toFixed(2)
    } ms; ip exit → next() median ${median(afterExit).toFixed(2)} ms, max ${
      Math.max(...afterExit).toFixed(2)
    } ms`,
  );
  assert.ok(Math.max(...own) < 200, `own change seen after ${Math.max(...own)} ms`);
  assert.ok(Math.max(...afterExit) < 200, `ip change seen ${Math.max(...afterExit)} ms after exit`);

  // Idle: next() waits for a second; busy polling would burn a core.
  const reading = (async () => {
    while (await monitor.next() !== "closed") { /* whatever the kernel says meanwhile */ }
  })();
  const before = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const used = process.cpuUsage(before);
  monitor.close();
  await reading;
  const cpuMs = (used.user + used.system) / 1000;
  console.log(`idle monitor: ${cpuMs.toFixed(1)} ms of CPU in 1 s (whole test process)`);
  assert.ok(cpuMs < 50, `${cpuMs} ms of CPU while idle`);
});

/**
 * The reconciler against an in-memory kernel: flannel's entries per peer, in flannel's order;
 * exactly the old entries removed when a peer changes or leaves; drift repaired; entries nobody
 * asked for removed only with garbage collection, and never another device's routes.
 */
import assert from "node:assert/strict";
import type { Peer } from "../../src/kube/peer.ts";
import { parseCIDR } from "../../src/net/cidr.ts";
import { Reconciler } from "../../src/vtepd/reconciler.ts";
import { FakeKernel } from "../helpers/fake_kernel.ts";
import { recordingLogger } from "../kube/helpers.ts";

function peer(n: number, mac = `0e:00:00:00:00:0${n}`, publicIP = `192.168.1.${10 + n}`): Peer {
  return { name: `edge-${n}`, podCIDR: `10.244.${n}.0/24`, publicIP, mac };
}

function setUp(options: { directRouting?: boolean } = {}) {
  const kernel = new FakeKernel();
  const device = kernel.createVxlan({
    name: "flannel.1",
    mac: "0e:00:00:00:00:01",
    vni: 1,
    underlay: 2,
    mtu: 1450,
  });
  kernel.setLinkUp(device.index);
  kernel.addAddress(device.index, "10.244.1.0/32");
  const reconciler = new Reconciler(kernel, () => ({
    ifindex: device.index,
    network: parseCIDR("10.244.0.0/16")!,
    ownSubnet: "10.244.1.0/24",
  }), { directRouting: options.directRouting ?? false, log: recordingLogger() });
  kernel.calls.length = 0;
  return { kernel, reconciler, ifindex: device.index };
}

function entries(kernel: FakeKernel, ifindex: number) {
  return {
    neighbours: kernel.listNeighbours({ ifindex }).map((n) => `${n.ip} ${n.mac}`).sort(),
    fdb: kernel.listFdb({ ifindex }).map((e) => `${e.mac} ${e.dst}`).sort(),
    routes: kernel.listRoutes({}).filter((r) => r.dst.startsWith("10.244."))
      .map((r) => `${r.dst} via ${r.gateway}${r.onlink ? " onlink" : ""}`).sort(),
  };
}

Deno.test("reconciler: a new peer gets neighbour, FDB and onlink route, in that order", () => {
  const { kernel, reconciler, ifindex } = setUp();
  reconciler.apply({ kind: "upsert", peer: peer(2) });
  assert.deepEqual(kernel.calls, [
    "replaceNeighbour 10.244.2.0",
    "replaceFdb 0e:00:00:00:00:02",
    "replaceRoute 10.244.2.0/24",
  ]);
  assert.deepEqual(entries(kernel, ifindex), {
    neighbours: ["10.244.2.0 0e:00:00:00:00:02"],
    fdb: ["0e:00:00:00:00:02 192.168.1.12"],
    routes: ["10.244.2.0/24 via 10.244.2.0 onlink"],
  });
});

Deno.test("reconciler: a peer's new MAC replaces its entries and removes the old FDB entry", () => {
  const { kernel, reconciler, ifindex } = setUp();
  reconciler.apply({ kind: "upsert", peer: peer(2) });
  reconciler.apply({
    kind: "upsert",
    peer: peer(2, "0e:00:00:00:00:22"),
    previous: peer(2),
  });
  assert.deepEqual(entries(kernel, ifindex), {
    neighbours: ["10.244.2.0 0e:00:00:00:00:22"],
    fdb: ["0e:00:00:00:00:22 192.168.1.12"],
    routes: ["10.244.2.0/24 via 10.244.2.0 onlink"],
  });
});

Deno.test("reconciler: a removed peer takes exactly its own entries with it", () => {
  const { kernel, reconciler, ifindex } = setUp();
  reconciler.apply({ kind: "upsert", peer: peer(2) });
  reconciler.apply({ kind: "upsert", peer: peer(3) });
  reconciler.apply({ kind: "remove", peer: peer(2) });
  assert.deepEqual(entries(kernel, ifindex), {
    neighbours: ["10.244.3.0 0e:00:00:00:00:03"],
    fdb: ["0e:00:00:00:00:03 192.168.1.13"],
    routes: ["10.244.3.0/24 via 10.244.3.0 onlink"],
  });
});

Deno.test("reconciler: a full pass repairs drift and counts what it changed by kind", () => {
  const { kernel, reconciler, ifindex } = setUp();
  const peers = new Map([["edge-2", peer(2)], ["edge-3", peer(3)]]);
  reconciler.reconcile(peers, { collectGarbage: false });
  const converged = entries(kernel, ifindex);
  kernel.outside.deleteRoute("10.244.2.0/24");
  kernel.outside.deleteFdb(ifindex, "0e:00:00:00:00:03");
  kernel.outside.replaceNeighbour({ ifindex, ip: "10.244.3.0", mac: "0e:99:99:99:99:99" });
  const report = reconciler.reconcile(peers, { collectGarbage: false });
  assert.deepEqual(entries(kernel, ifindex), converged);
  assert.deepEqual(report.byKind, { neighbour: 1, fdb: 1, route: 1 });
  assert.equal(reconciler.reconcile(peers, { collectGarbage: false }).changed, 0, "converged");
});

Deno.test("reconciler: entries nobody asked for stay without garbage collection and go with it", () => {
  const { kernel, reconciler, ifindex } = setUp();
  const peers = new Map([["edge-2", peer(2)]]);
  reconciler.reconcile(peers, { collectGarbage: false });
  // What a peer deleted while the daemon was down left behind.
  kernel.outside.replaceNeighbour({ ifindex, ip: "10.244.9.0", mac: "0e:00:00:00:00:09" });
  kernel.outside.replaceFdb({ ifindex, mac: "0e:00:00:00:00:09", dst: "192.168.1.19" });
  kernel.outside.addRoute({ dst: "10.244.9.0/24", gateway: "10.244.9.0", ifindex, onlink: true });
  reconciler.reconcile(peers, { collectGarbage: false });
  assert.equal(entries(kernel, ifindex).neighbours.length, 2, "kept without garbage collection");
  reconciler.reconcile(peers, { collectGarbage: true });
  assert.deepEqual(entries(kernel, ifindex), {
    neighbours: ["10.244.2.0 0e:00:00:00:00:02"],
    fdb: ["0e:00:00:00:00:02 192.168.1.12"],
    routes: ["10.244.2.0/24 via 10.244.2.0 onlink"],
  });
});

Deno.test("reconciler: a peer the table dropped loses its entries even without garbage collection", () => {
  const { kernel, reconciler, ifindex } = setUp();
  reconciler.reconcile(new Map([["edge-2", peer(2)], ["edge-3", peer(3)]]), {
    collectGarbage: false,
  });
  reconciler.reconcile(new Map([["edge-3", peer(3)]]), { collectGarbage: false });
  assert.deepEqual(entries(kernel, ifindex).routes, ["10.244.3.0/24 via 10.244.3.0 onlink"]);
});

Deno.test("reconciler: garbage collection never touches another device's routes inside Network", () => {
  const { kernel, reconciler, ifindex } = setUp();
  const other = kernel.outside.addDevice("wg0", "172.16.0.1/24");
  // Someone routes part of the cluster network through another device (a VPN, a test bed).
  kernel.outside.addRoute({ dst: "10.244.200.0/24", gateway: "172.16.0.2" });
  reconciler.reconcile(new Map([["edge-2", peer(2)]]), { collectGarbage: true });
  const routes = kernel.listRoutes({}).map((route) => `${route.dst} ${route.ifindex}`);
  assert.ok(routes.includes(`10.244.200.0/24 ${other.index}`), routes.join(", "));
  assert.deepEqual(entries(kernel, ifindex).neighbours, ["10.244.2.0 0e:00:00:00:00:02"]);
});

Deno.test("reconciler: DirectRouting routes via a known peer are ours; via another host they are not", () => {
  const { kernel, reconciler } = setUp({ directRouting: true });
  // edge-2 is on the LAN (192.168.1.0/24); edge-3 is behind a router.
  const onLink = peer(2, undefined, "192.168.1.12");
  const routed = peer(3, undefined, "10.99.0.3");
  const peers = new Map([["edge-2", onLink], ["edge-3", routed]]);
  reconciler.reconcile(peers, { collectGarbage: false });
  const route = kernel.listRoutes({}).find((entry) => entry.dst === "10.244.2.0/24")!;
  assert.equal(route.gateway, "192.168.1.12");
  assert.equal(route.ifindex, 2, "via the underlay, not the VXLAN device");
  kernel.outside.addRoute({ dst: "10.244.50.0/24", gateway: "192.168.1.200" });
  kernel.outside.deleteRoute("10.244.2.0/24");
  reconciler.reconcile(peers, { collectGarbage: true });
  const dsts = kernel.listRoutes({}).map((entry) => entry.dst);
  assert.ok(dsts.includes("10.244.2.0/24"), "the DirectRouting route is repaired");
  assert.ok(dsts.includes("10.244.50.0/24"), "a route via an unknown host is not ours");
});

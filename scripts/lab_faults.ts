/**
 * Kernel drift as it happens on a real node, injected into a lab node with iproute2 — someone
 * deletes the VXLAN device, udev rewrites its MAC, a script flushes a route, an FDB entry or a
 * neighbour — and how to tell that keepnet-vtepd has repaired it. The end-to-end tests assert
 * the repair time; `scripts/bench_repair.ts` measures it.
 *
 * @module
 */
import type { LabNode } from "./lab.ts";

export interface Fault {
  name: string;
  /** Breaks something on `node` that its overlay entries for `peer` need. */
  inject(node: LabNode, peer: LabNode, peerMac: string): Promise<void>;
  /** True once the node's kernel has the entry (or device) back as it was. */
  repaired(node: LabNode, peer: LabNode, peerMac: string, ownMac: string): Promise<boolean>;
}

const vtepOf = (node: LabNode) => node.podCIDR.replace(/\/\d+$/, "");

async function routeBack(node: LabNode, peer: LabNode): Promise<boolean> {
  const routes = await node.netns.run(["ip", "-4", "route", "show", "dev", "flannel.1"]);
  return routes.stdout.includes(`${peer.podCIDR} via ${vtepOf(peer)}`);
}

async function neighbourBack(node: LabNode, peer: LabNode, peerMac: string): Promise<boolean> {
  const neighbours = await node.netns.run(["ip", "neigh", "show", "dev", "flannel.1"]);
  return neighbours.stdout.split("\n").some((line) =>
    line.startsWith(`${vtepOf(peer)} `) && line.includes(`lladdr ${peerMac}`) &&
    line.includes("PERMANENT")
  );
}

async function fdbBack(node: LabNode, peer: LabNode, peerMac: string): Promise<boolean> {
  const fdb = await node.netns.run(["bridge", "fdb", "show", "dev", "flannel.1"]);
  return fdb.stdout.split("\n").some((line) =>
    line.startsWith(`${peerMac} dst ${peer.ip} `) && line.includes("self permanent")
  );
}

async function allBack(node: LabNode, peer: LabNode, peerMac: string, ownMac: string) {
  return await node.vtepMAC() === ownMac && await routeBack(node, peer) &&
    await neighbourBack(node, peer, peerMac) && await fdbBack(node, peer, peerMac);
}

export const FAULTS: Fault[] = [
  {
    name: "route deleted",
    inject: (node, peer) => node.netns.check(["ip", "route", "del", peer.podCIDR]).then(() => {}),
    repaired: (node, peer) => routeBack(node, peer),
  },
  {
    name: "FDB entry deleted",
    inject: (node, peer, peerMac) =>
      node.netns.check(["bridge", "fdb", "del", peerMac, "dev", "flannel.1", "dst", peer.ip])
        .then(() => {}),
    repaired: (node, peer, peerMac) => fdbBack(node, peer, peerMac),
  },
  {
    name: "neighbour deleted",
    inject: (node, peer) =>
      node.netns.check(["ip", "neigh", "del", vtepOf(peer), "dev", "flannel.1"]).then(() => {}),
    repaired: (node, peer, peerMac) => neighbourBack(node, peer, peerMac),
  },
  {
    name: "MAC rewritten",
    inject: (node) =>
      node.netns.check(["ip", "link", "set", "flannel.1", "address", "0e:de:ad:be:ef:01"])
        .then(() => {}),
    repaired: async (node, _peer, _peerMac, ownMac) => await node.vtepMAC() === ownMac,
  },
  {
    name: "device deleted",
    inject: (node) => node.netns.check(["ip", "link", "del", "flannel.1"]).then(() => {}),
    repaired: allBack,
  },
];

/** Injects `fault` and returns how long the node took to repair it (ms), or throws after `limitMs`. */
export async function timeRepair(
  fault: Fault,
  node: LabNode,
  peer: LabNode,
  peerMac: string,
  ownMac: string,
  limitMs = 5000,
): Promise<number> {
  await fault.inject(node, peer, peerMac);
  const injected = performance.now();
  while (!await fault.repaired(node, peer, peerMac, ownMac)) {
    if (performance.now() - injected > limitMs) {
      throw new Error(`${fault.name} on ${node.name} not repaired within ${limitMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - injected;
}

/**
 * Shared steps of the end-to-end tests: waiting for the overlay, reading what a node
 * advertises, and pinging every pod of every other node.
 *
 * @module
 */
import { type Lab, type LabNode, waitFor } from "../../scripts/lab.ts";

/** Test options for tests that start background processes the lab stops itself. */
export const E2E = { sanitizeOps: false, sanitizeResources: false } as const;

/** Waits until `node`'s kernel has an overlay route to every one of `peers`. */
export async function waitForPeers(node: LabNode, peers: LabNode[]): Promise<void> {
  await waitFor(`${node.name} to program its peers`, async () => {
    const routes = await node.netns.check(["ip", "-4", "route", "show", "dev", "flannel.1"]);
    return peers.every((peer) => routes.includes(`${peer.podCIDR} via`)) ? true : undefined;
  });
}

/** The VtepMAC a node advertises in its backend-data annotation. */
export async function advertisedMAC(lab: Lab, node: LabNode): Promise<string | undefined> {
  const data = (await lab.api.annotations(node.name))["flannel.alpha.coreos.com/backend-data"];
  return data ? (JSON.parse(data) as { VtepMAC: string }).VtepMAC : undefined;
}

/** The MAC `node`'s kernel has for `peer`'s VTEP (its neighbour entry), if any. */
export async function neighbourMAC(node: LabNode, peer: LabNode): Promise<string | undefined> {
  const vtep = peer.podCIDR.replace(/\/\d+$/, "");
  const entries = await node.netns.json<Array<{ dst: string; lladdr?: string }>>([
    "ip",
    "-j",
    "neigh",
    "show",
    "dev",
    "flannel.1",
  ]);
  return entries.find((entry) => entry.dst === vtep)?.lladdr;
}

/** Pings from every pod to every pod on the other nodes; returns the pairs that failed. */
export async function pingAcross(nodes: LabNode[]): Promise<string[]> {
  const failures: string[] = [];
  for (const from of nodes) {
    for (const pod of from.pods.values()) {
      for (const to of nodes) {
        if (to === from) continue;
        for (const target of to.pods.values()) {
          if (!await from.ping(pod, target.ip)) {
            failures.push(`${pod.name}@${from.name} → ${target.name}@${to.name} (${target.ip})`);
          }
        }
      }
    }
  }
  return failures;
}

/** How many pod pairs `pingAcross` tries: every pod with every pod of the other nodes. */
export function countPairs(nodes: LabNode[]): number {
  let pairs = 0;
  for (const from of nodes) {
    for (const to of nodes) {
      if (to !== from) pairs += from.pods.size * to.pods.size;
    }
  }
  return pairs;
}

/**
 * Shared steps of the end-to-end tests: waiting for the overlay, reading what a node
 * advertises, and pinging every pod of every other node.
 *
 * @module
 */
import { type Lab, type LabNode, waitFor } from "../../scripts/lab.ts";

/** Test options for tests that start background processes the lab stops itself. */
export const E2E = { sanitizeOps: false, sanitizeResources: false } as const;

/** The daemon's log since its last start. */
export async function sinceStart(node: LabNode): Promise<string> {
  return (await node.log()).split("keepnet-vtepd starting").at(-1)!;
}

/**
 * Waits until the daemon's log since its last start matches `pattern`, and returns that log: for a
 * line logged by work that the kernel state a test waited for does not depend on.
 */
export async function waitForLog(
  node: LabNode,
  pattern: RegExp,
  timeoutMs?: number,
): Promise<string> {
  return await waitFor(`${node.name} to log ${pattern}`, async () => {
    const log = await sinceStart(node);
    return pattern.test(log) ? log : undefined;
  }, timeoutMs);
}

/** Waits until `node`'s kernel has an overlay route (of `family`) to every one of `peers`. */
export async function waitForPeers(
  node: LabNode,
  peers: LabNode[],
  family: 4 | 6 = 4,
): Promise<void> {
  const device = family === 4 ? "flannel.1" : "flannel-v6.1";
  await waitFor(`${node.name} to program its IPv${family} peers`, async () => {
    const routes = await node.netns.run(["ip", `-${family}`, "route", "show", "dev", device]);
    return peers.every((peer) =>
        routes.stdout.includes(`${family === 4 ? peer.podCIDR : peer.podCIDR6} via`)
      )
      ? true
      : undefined;
  });
}

/** The VtepMAC a node advertises in its backend-data (backend-v6-data) annotation. */
export async function advertisedMAC(
  lab: Lab,
  node: LabNode,
  family: 4 | 6 = 4,
): Promise<string | undefined> {
  const key = family === 4 ? "backend-data" : "backend-v6-data";
  const data = (await lab.api.annotations(node.name))[`flannel.alpha.coreos.com/${key}`];
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

/**
 * Pings from every pod to every pod on the other nodes (their IPv6 addresses with `family` 6);
 * returns the pairs that failed.
 */
export async function pingAcross(nodes: LabNode[], family: 4 | 6 = 4): Promise<string[]> {
  const failures: string[] = [];
  for (const from of nodes) {
    for (const pod of from.pods.values()) {
      for (const to of nodes) {
        if (to === from) continue;
        for (const target of to.pods.values()) {
          const ip = family === 4 ? target.ip : target.ip6;
          if (ip === undefined || !await from.ping(pod, ip)) {
            failures.push(`${pod.name}@${from.name} → ${target.name}@${to.name} (${ip})`);
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

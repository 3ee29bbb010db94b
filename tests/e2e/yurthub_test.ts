/**
 * Behind a yurthub while the cloud is away: the hub answers lists from a cache that is older
 * than what the nodes already saw and lacks a node that joined after it was written, then from
 * nothing at all (404). Daemons restart and a node reboots behind it; nothing is removed, pods on
 * every node keep reaching each other through several resync intervals, and once the cloud is
 * back every daemon converges on what changed meanwhile within 5 s.
 */
import assert from "node:assert/strict";
import { Lab, type LabNode, waitFor } from "../../scripts/lab.ts";
import { countPairs, E2E, pingAcross, waitForLog, waitForPeers } from "./helpers.ts";

const BACKEND_DATA = "flannel.alpha.coreos.com/backend-data";

async function restartDaemon(node: LabNode): Promise<void> {
  await node.stopVtepd("SIGTERM");
  node.startVtepd(["--resync-seconds=2"]);
  await waitForLog(node, /node list applied without removing anything|listing nodes failed/);
}

Deno.test({
  name: "yurthub: a stale or empty cache removes nothing, and the cloud's return converges in 5 s",
  ...E2E,
  async fn() {
    await using lab = await Lab.create([{ name: "edge-1" }, { name: "edge-2" }, {
      name: "edge-3",
    }]);
    const nodes = ["edge-1", "edge-2", "edge-3"].map((name) => lab.node(name));
    const [edge1, edge2, edge3] = nodes as [LabNode, LabNode, LabNode];
    // The hub's cache of the node list was written early, before edge-3 joined: the nodes have
    // seen far newer versions since.
    const early = await lab.api.snapshot();

    for (const node of nodes) node.startVtepd(["--resync-seconds=2"]);
    for (const node of nodes) {
      await node.addPod("web-0");
      await node.addPod("db-0", "storage");
    }
    for (const node of nodes) await waitForPeers(node, nodes.filter((other) => other !== node));
    const mac1 = (await edge1.vtepMAC())!;

    // The cloud goes away; the site's yurthub answers from its old cache, without edge-3.
    await lab.api.serveSnapshot(early, ["edge-3"]);
    await restartDaemon(edge2);
    await restartDaemon(edge3);
    await edge1.reboot();
    edge1.startVtepd(["--resync-seconds=2"]);
    await edge1.addPod("web-0");
    await edge1.addPod("db-0", "storage");
    for (const node of nodes) await waitForPeers(node, nodes.filter((other) => other !== node));
    for (const node of [edge1, edge2]) {
      // The peers were back from the state file before the stale list came: wait for its line.
      await waitForLog(node, /is older than what was already seen/);
    }
    assert.equal(countPairs(nodes), 24);
    assert.deepEqual(await pingAcross(nodes), [], "behind the stale cache");
    // Longer than a resync interval: the periodic passes remove nothing either.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.deepEqual(await pingAcross(nodes), [], "after a resync interval");

    // The cache is emptied (404 for everything) and a daemon restarts.
    await lab.api.setYurthubMode({ mode: "uncached" });
    await restartDaemon(edge2);
    assert.deepEqual(await pingAcross(nodes), [], "behind an empty cache");
    for (const node of nodes) assert.doesNotMatch(await node.log(), /peer removed/);

    // Meanwhile in the cloud: edge-4 joined, and someone stripped edge-1's backend-data.
    await lab.api.createFlannelNode(4);
    await lab.api.control({
      op: "mergeNode",
      name: "edge-1",
      patch: { metadata: { annotations: { [BACKEND_DATA]: null } } },
    });

    const back = performance.now();
    await lab.api.setYurthubMode({ mode: "online" });
    await waitFor("every node to converge with the cloud", async () => {
      for (const node of nodes) {
        const routes = await node.netns.check(["ip", "-4", "route", "show", "dev", "flannel.1"]);
        if (!routes.includes("10.244.4.0/24 via 10.244.4.0")) return undefined;
      }
      const data = (await lab.api.annotations("edge-1"))[BACKEND_DATA];
      return data?.includes(mac1) ? true : undefined;
    }, 10_000);
    const converged = performance.now() - back;
    assert.ok(converged < 5000, `converged ${Math.round(converged)} ms after the cloud returned`);
    assert.deepEqual(await pingAcross(nodes), [], "after the cloud returned");
  },
});

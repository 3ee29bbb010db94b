/**
 * What edge users judge keepnet by: a node reboots while cut off from the API server. Its
 * daemon starts from local state (MAC, lease, peers), subnet.env is back before any pod starts,
 * the pods come back with the IPs they had, and they reach pods on the other nodes — which never
 * heard about the reboot. When the API comes back, nothing is torn down.
 */
import assert from "node:assert/strict";
import { Lab, waitFor } from "../../scripts/lab.ts";
import {
  advertisedMAC,
  countPairs,
  E2E,
  neighbourMAC,
  pingAcross,
  waitForLog,
  waitForPeers,
} from "./helpers.ts";

Deno.test({
  name: "offline reboot: same MAC, same pod IPs, cross-node traffic works without the API",
  ...E2E,
  async fn() {
    await using lab = await Lab.create([{ name: "edge-1" }, { name: "edge-2" }, {
      name: "edge-3",
    }]);
    const nodes = ["edge-1", "edge-2", "edge-3"].map((name) => lab.node(name));
    const [edge1, edge2, edge3] = nodes as [typeof nodes[0], typeof nodes[0], typeof nodes[0]];
    for (const node of nodes) node.startVtepd();
    for (const node of nodes) {
      await node.addPod("web-0");
      await node.addPod("db-0", "storage");
    }
    // As soon as the overlay has converged — no waiting for the state file: a node may lose
    // power at any moment after it programmed a peer.
    for (const node of nodes) await waitForPeers(node, nodes.filter((other) => other !== node));
    const mac = await edge1.vtepMAC();
    const ipsBefore = Object.fromEntries([...edge1.pods].map(([name, pod]) => [name, pod.ip]));

    // The cloud link goes down, then the node reboots: kernel state, pods and /run are gone.
    await edge1.reboot();
    await edge1.cutApi();
    edge1.startVtepd();
    await waitFor("subnet.env from local state", async () => {
      const text = await Deno.readTextFile(edge1.subnetFile).catch(() => "");
      return text.includes("FLANNEL_SUBNET=10.244.1.1/24") ? true : undefined;
    });
    assert.equal(await edge1.vtepMAC(), mac);
    await waitForPeers(edge1, [edge2, edge3]);
    // The API really is out of reach: the first list, whenever it is tried, fails.
    const offline = await waitForLog(edge1, /listing nodes failed; will retry/);
    assert.match(offline, /lease restored from local state/);
    assert.match(offline, /peers restored from local state/);

    // kubelet recreates the pods: new sandboxes, same namespace/name, the same IPs.
    await edge1.addPod("web-0");
    await edge1.addPod("db-0", "storage");
    const ipsAfter = Object.fromEntries([...edge1.pods].map(([name, pod]) => [name, pod.ip]));
    assert.deepEqual(ipsAfter, ipsBefore);
    assert.equal(await neighbourMAC(edge2, edge1), mac, "edge-2 still sends to the right MAC");
    assert.equal(countPairs(nodes), 24);
    assert.deepEqual(await pingAcross(nodes), [], "24 of 24 cross-node pings offline");

    // The cloud comes back: the daemon syncs, and the data plane stays as it is.
    await edge1.restoreApi();
    await waitForLog(edge1, /lease restored[^]*API reachable/);
    await waitForPeers(edge1, [edge2, edge3]);
    assert.equal(await advertisedMAC(lab, edge1), mac);
    assert.deepEqual(await pingAcross(nodes), []);
  },
});

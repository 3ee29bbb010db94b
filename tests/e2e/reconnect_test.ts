/**
 * The cloud link dies silently, as real links do: packets to and from the API vanish, nothing is
 * refused, and the open watches just go quiet (so the API server's retransmissions, backing off
 * to minutes, would be the only way back). The daemons notice, keep the overlay as it is, and
 * once the API answers again they converge within 5 s on what changed meanwhile: a node that
 * joined, and an annotation someone removed.
 */
import assert from "node:assert/strict";
import { Lab, type LabNode, waitFor } from "../../scripts/lab.ts";
import { E2E, pingAcross, waitForLog, waitForPeers } from "./helpers.ts";

const BACKEND_DATA = "flannel.alpha.coreos.com/backend-data";

Deno.test({
  name: "reconnect: a silently lost cloud link is noticed, and its return converges in 5 s",
  ...E2E,
  async fn() {
    await using lab = await Lab.create([{ name: "edge-1" }, { name: "edge-2" }]);
    const nodes = ["edge-1", "edge-2"].map((name) => lab.node(name));
    const [edge1] = nodes as [LabNode, LabNode];
    for (const node of nodes) {
      node.startVtepd([], { bundle: true });
      await node.addPod("web-0");
    }
    for (const node of nodes) await waitForPeers(node, nodes.filter((other) => other !== node));
    const mac1 = (await edge1.vtepMAC())!;

    for (const node of nodes) await node.cutApiSilently();
    for (const node of nodes) {
      // Both lines, in either order.
      await waitForLog(node, /^(?=[^]*the API stopped answering)(?=[^]*API unreachable)/, 15_000);
    }
    assert.deepEqual(await pingAcross(nodes), [], "the overlay works without the cloud");

    // Meanwhile, in the cloud: a node joins, and edge-1's backend-data is removed.
    await lab.api.createFlannelNode(9);
    await lab.api.control({
      op: "mergeNode",
      name: "edge-1",
      patch: { metadata: { annotations: { [BACKEND_DATA]: null } } },
    });

    for (const node of nodes) await node.restoreApi();
    const back = performance.now();
    await waitFor("every node to converge with the cloud", async () => {
      for (const node of nodes) {
        const routes = await node.netns.check(["ip", "-4", "route", "show", "dev", "flannel.1"]);
        if (!routes.includes("10.244.9.0/24 via 10.244.9.0")) return undefined;
      }
      const data = (await lab.api.annotations("edge-1"))[BACKEND_DATA];
      return data?.includes(mac1) ? true : undefined;
    }, 20_000);
    const converged = performance.now() - back;
    assert.ok(converged < 5000, `converged ${Math.round(converged)} ms after the link returned`);
    for (const node of nodes) {
      await waitForLog(node, /API unreachable[^]*API reachable/);
    }
    assert.deepEqual(await pingAcross(nodes), [], "after the link returned");
  },
});

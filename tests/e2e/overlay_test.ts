/**
 * End to end, in network namespaces: four nodes on one LAN, three running keepnet-vtepd from
 * source, one a stock flannel node (annotations written and data plane programmed by the test,
 * as flanneld would). Two pods per node, wired by the real CNI bridge plugin with keepnet-ipam
 * (host-local on the stock node). Every pod must reach every pod on the other nodes.
 */
import assert from "node:assert/strict";
import { advertisedMAC, E2E, pingAcross, waitForPeers } from "./helpers.ts";
import {
  addStockFlannelPeer,
  CLUSTER_NETWORK,
  Lab,
  type LabNode,
  programStockFlannelNode,
  waitFor,
} from "../../scripts/lab.ts";

const STOCK_MAC = "0e:5f:00:00:00:04";

interface NodeObject {
  status?: { conditions?: Array<{ type: string; status: string; reason?: string }> };
}

Deno.test({
  name: "overlay: keepnet nodes and a stock flannel node reach each other's pods",
  ...E2E,
  async fn() {
    await using lab = await Lab.create([
      { name: "edge-1" },
      { name: "edge-2" },
      { name: "edge-3" },
      { name: "stock-4", flavour: "stock-flannel" },
    ]);
    const edges = ["edge-1", "edge-2", "edge-3"].map((name) => lab.node(name));
    const stock = lab.node("stock-4");
    const all = [...edges, stock];
    await programStockFlannelNode(lab, stock, STOCK_MAC);
    for (const node of edges) node.startVtepd();
    for (const node of edges) await waitForPeers(node, all.filter((other) => other !== node));

    // The keepnet nodes advertise exactly what a stock flanneld would.
    for (const node of edges) {
      const annotations = await lab.api.annotations(node.name);
      assert.equal(annotations["flannel.alpha.coreos.com/kube-subnet-manager"], "true");
      assert.equal(annotations["flannel.alpha.coreos.com/backend-type"], "vxlan");
      assert.equal(annotations["flannel.alpha.coreos.com/public-ip"], node.ip);
      assert.equal(
        annotations["flannel.alpha.coreos.com/backend-data"],
        `{"VNI":1,"VtepMAC":"${await node.vtepMAC()}"}`,
      );
      assert.equal(
        await Deno.readTextFile(node.subnetFile),
        `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=${
          node.podCIDR.replace(".0/", ".1/")
        }\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`,
      );
      const condition = await waitFor("the NetworkUnavailable condition", async () => {
        const object = await lab.api.node(node.name) as NodeObject | null;
        return object?.status?.conditions?.find((c) => c.type === "NetworkUnavailable");
      });
      assert.deepEqual([condition.status, condition.reason], ["False", "FlannelIsUp"]);
    }
    // The stock node learns the keepnet nodes from their annotations, as flanneld does.
    for (const node of edges) {
      await addStockFlannelPeer(stock, node, (await advertisedMAC(lab, node))!);
    }

    for (const node of all) {
      await node.addPod("web-0");
      await node.addPod("web-1");
    }
    for (const node of all) {
      for (const pod of node.pods.values()) assert.ok(pod.ip.startsWith(node.podCIDR.slice(0, -4)));
    }
    assert.deepEqual(await pingAcross(all), []);
  },
});

Deno.test({
  name: "overlay: with DirectRouting, peers on the same LAN are routed directly, without VXLAN",
  ...E2E,
  async fn() {
    await using lab = await Lab.create([{ name: "edge-1" }, { name: "edge-2" }], {
      Network: CLUSTER_NETWORK,
      Backend: { Type: "vxlan", DirectRouting: true },
    });
    const nodes: LabNode[] = [lab.node("edge-1"), lab.node("edge-2")];
    for (const node of nodes) node.startVtepd();
    for (const [node, peer] of [[nodes[0]!, nodes[1]!], [nodes[1]!, nodes[0]!]] as const) {
      const route = await waitFor(`${node.name}'s direct route`, async () => {
        const routes = await node.netns.check(["ip", "-4", "route", "show", peer.podCIDR]);
        return routes.includes(`via ${peer.ip}`) ? routes : undefined;
      });
      assert.doesNotMatch(route, /flannel\.1|onlink/);
      const fdb = await node.netns.check(["bridge", "fdb", "show", "dev", "flannel.1"]);
      assert.doesNotMatch(fdb, new RegExp(`dst ${peer.ip.replaceAll(".", "\\.")} `));
    }
    for (const node of nodes) await node.addPod("web-0");
    assert.deepEqual(await pingAcross(nodes), []);
  },
});

/**
 * End to end, in network namespaces: three nodes on one LAN, two running keepnet-vtepd from
 * source, one a stock flannel node (annotations written and data plane programmed by the test,
 * as flanneld would). Two pods per node, wired by the real CNI bridge plugin with keepnet-ipam
 * (host-local on the stock node). Every pod must reach every pod on the other nodes.
 */
import assert from "node:assert/strict";
import { advertisedMAC, E2E, pingAcross, waitForPeers } from "./helpers.ts";
import { addStockFlannelPeer, Lab, type Pod, programStockFlannelNode } from "../../scripts/lab.ts";

const STOCK_MAC = "0e:5f:00:00:00:03";

Deno.test({
  name: "overlay: keepnet nodes and a stock flannel node reach each other's pods",
  ...E2E,
  async fn() {
    await using lab = await Lab.create([
      { name: "edge-1" },
      { name: "edge-2" },
      { name: "stock-3", flavour: "stock-flannel" },
    ]);
    const [edge1, edge2, stock] = ["edge-1", "edge-2", "stock-3"].map((name) => lab.node(name));
    await programStockFlannelNode(lab, stock!, STOCK_MAC);
    edge1!.startVtepd();
    edge2!.startVtepd();
    await waitForPeers(edge1!, [edge2!, stock!]);
    await waitForPeers(edge2!, [edge1!, stock!]);

    // The keepnet nodes advertise exactly what a stock flanneld would.
    for (const node of [edge1!, edge2!]) {
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
    }
    // The stock node learns the keepnet nodes from their annotations, as flanneld does.
    for (const node of [edge1!, edge2!]) {
      await addStockFlannelPeer(stock!, node, (await advertisedMAC(lab, node))!);
    }

    const pods: Pod[] = [];
    for (const node of [edge1!, edge2!, stock!]) {
      pods.push(await node.addPod("web-0"), await node.addPod("web-1"));
    }
    for (const pod of pods) assert.match(pod.ip, /^10\.244\.[123]\.\d+$/);
    assert.deepEqual(await pingAcross([edge1!, edge2!, stock!]), []);
  },
});

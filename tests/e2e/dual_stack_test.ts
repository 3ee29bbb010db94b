/**
 * A dual-stack overlay (net-conf EnableIPv6 with IPv6Network), as flannel runs it: two keepnet
 * nodes and a stock-flannel-style node (its devices and entries made by hand, as flanneld makes
 * them). Every pod reaches every other node's pods over IPv4 and IPv6; an offline reboot keeps
 * both VTEP MACs and both pod IPs; drift in the IPv6 overlay is repaired within a second.
 */
import assert from "node:assert/strict";
import {
  addStockFlannelPeer,
  DUAL_STACK_NET_CONF,
  Lab,
  type LabNode,
  programStockFlannelNode,
  waitFor,
} from "../../scripts/lab.ts";
import { advertisedMAC, E2E, pingAcross, waitForPeers } from "./helpers.ts";

const STOCK_MAC = "0e:5f:00:00:00:03";
const STOCK_MAC6 = "0e:5f:00:00:06:03";

Deno.test({
  name:
    "dual-stack: keepnet and stock flannel nodes, all-pairs ping and ping6, offline reboot, IPv6 repair",
  ...E2E,
  async fn() {
    await using lab = await Lab.create(
      [{ name: "edge-1" }, { name: "edge-2" }, { name: "stock-3", flavour: "stock-flannel" }],
      DUAL_STACK_NET_CONF,
    );
    const [edge1, edge2, stock] = ["edge-1", "edge-2", "stock-3"].map((name) => lab.node(name)) as [
      LabNode,
      LabNode,
      LabNode,
    ];
    const all = [edge1, edge2, stock];
    await programStockFlannelNode(lab, stock, STOCK_MAC, STOCK_MAC6);
    for (const node of [edge1, edge2]) node.startVtepd();
    // The stock node programs what flanneld would, once the keepnet nodes advertise themselves.
    for (const node of [edge1, edge2]) {
      for (const family of [4, 6] as const) {
        const mac = await waitFor(
          `${node.name}'s IPv${family} annotation`,
          () => advertisedMAC(lab, node, family),
        );
        assert.equal(
          await node.vtepMAC(family),
          mac,
          `the ${family} device has the advertised MAC`,
        );
        await addStockFlannelPeer(stock, node, mac, family);
      }
    }
    for (const node of [edge1, edge2]) {
      for (const family of [4, 6] as const) {
        await waitForPeers(node, all.filter((other) => other !== node), family);
      }
    }
    const subnetEnv = await Deno.readTextFile(edge1.subnetFile);
    assert.match(subnetEnv, /^FLANNEL_NETWORK=10\.244\.0\.0\/16$/m);
    assert.match(subnetEnv, /^FLANNEL_IPV6_NETWORK=fd00:10:244::\/56$/m);
    assert.match(subnetEnv, /^FLANNEL_IPV6_SUBNET=fd00:10:244:1::1\/64$/m);
    assert.match(
      subnetEnv,
      /^FLANNEL_MTU=1430$/m,
      "the smaller MTU: IPv6 encapsulation is 70 bytes",
    );
    for (const node of all) await node.addPod("web-0");
    assert.deepEqual(await pingAcross(all, 4), [], "ping");
    assert.deepEqual(await pingAcross(all, 6), [], "ping6");

    // An offline reboot right after convergence: both MACs and both pod IPs come back.
    const macs = [await edge1.vtepMAC(4), await edge1.vtepMAC(6)];
    const before = edge1.pods.get("web-0")!;
    await edge1.reboot();
    await edge1.cutApi();
    edge1.startVtepd();
    await waitForPeers(edge1, [edge2, stock], 4);
    await waitForPeers(edge1, [edge2, stock], 6);
    assert.deepEqual([await edge1.vtepMAC(4), await edge1.vtepMAC(6)], macs);
    const after = await edge1.addPod("web-0");
    assert.deepEqual([after.ip, after.ip6], [before.ip, before.ip6], "both pod IPs kept");
    assert.deepEqual(await pingAcross(all, 4), [], "ping after the offline reboot");
    assert.deepEqual(await pingAcross(all, 6), [], "ping6 after the offline reboot");

    // Drift in the IPv6 overlay is repaired from kernel notifications.
    await edge1.netns.check(["ip", "-6", "route", "del", edge2.podCIDR6]);
    const deleted = performance.now();
    await waitForPeers(edge1, [edge2], 6);
    assert.ok(performance.now() - deleted < 1000, "IPv6 route repaired within a second");
    await edge1.netns.check(["ip", "link", "del", "flannel-v6.1"]);
    await waitFor(
      "flannel-v6.1 back with its MAC",
      async () => await edge1.vtepMAC(6) === macs[1] ? true : undefined,
      3000,
    );
    await waitForPeers(edge1, [edge2, stock], 6);
    assert.deepEqual(await pingAcross(all, 6), [], "ping6 after the repairs");
  },
});

/**
 * Packets through the rules, in namespaces (tests/traffic/topology.ts): a pod reaches a host
 * outside the cluster through the node's masquerade (the host sees the node's address), and
 * traffic from the pod to another pod inside the Network is not masqueraded (the other pod
 * sees the pod's own address) — IPv4 and IPv6, in iptables mode (both of Debian's iptables)
 * and in nftables mode.
 *
 * In iptables mode the node's FORWARD policy is DROP (as Docker sets it): packets then pass only
 * through flanneld's FLANNEL-FWD accepts, so the forward rules are exercised too. (In nftables
 * an accept in one table does not override a drop in another, so there is no such policy
 * there.)
 */
import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { parseCIDR } from "../../src/net/cidr.ts";
import type { TrafficConfig } from "../../src/traffic/config.ts";
import { TrafficRules } from "../../src/traffic/traffic_rules.ts";
import { iptablesCommand, type Variant } from "./flanneld_emulation.ts";
import { runnerIn } from "./netfilter_ns.ts";
import { ADDRESSES, createPodTopology, seenSource, sourceAddressServer } from "./topology.ts";

const cidr = (text: string) => parseCIDR(text)!;
const PORT = 7070;
const CONFIG: TrafficConfig = {
  ipv4: { network: cidr("10.244.0.0/16"), subnet: cidr("10.244.1.0/24") },
  ipv6: { network: cidr("fd00:10:244::/56"), subnet: cidr("fd00:10:244:1::/64") },
  ipMasq: true,
};
const MODES: Array<[string, Partial<TrafficConfig>, Variant | undefined]> = [
  ["iptables-nft (Debian's default iptables)", { iptablesVariant: "default" }, "default"],
  ["iptables-legacy", { iptablesVariant: "legacy" }, "legacy"],
  ["nftables", { nftables: true }, undefined],
];

Deno.test("without the rules the outside host is unreachable from the pod (the control)", async () => {
  await using net = await createPodTopology();
  await using _server = await sourceAddressServer(net.outside, PORT);
  for (const family of [4, 6] as const) {
    assert.equal(await seenSource(net.pod, ADDRESSES.outside[family], PORT, 2), undefined);
    // The outside host itself is up: the node reaches it.
    assert.equal(
      await seenSource(net.node, ADDRESSES.outside[family], PORT),
      ADDRESSES.node[family],
    );
  }
});

for (const [label, mode, variant] of MODES) {
  Deno.test(`${label}: the pod reaches the outside host masqueraded, the remote pod unmasqueraded (IPv4 and IPv6)`, async () => {
    await using net = await createPodTopology();
    if (variant) {
      for (const family of [4, 6] as const) {
        await net.node.check([iptablesCommand(family, variant), "-w", "-P", "FORWARD", "DROP"]);
      }
    }
    await using _outside = await sourceAddressServer(net.outside, PORT);
    await using _remote = await sourceAddressServer(net.remote, PORT);
    const rules = new TrafficRules({ ...CONFIG, ...mode }, { runner: runnerIn(net.node) });
    const report = await rules.start();
    await rules.stop();
    assert.equal(report.error, undefined, report.error?.message ?? "");
    for (const family of [4, 6] as const) {
      assert.equal(
        await seenSource(net.pod, ADDRESSES.outside[family], PORT),
        ADDRESSES.node[family],
        `IPv${family}: the outside host sees the node`,
      );
      assert.equal(
        await seenSource(net.pod, ADDRESSES.remote[family], PORT),
        ADDRESSES.pod[family],
        `IPv${family}: the remote pod sees the pod`,
      );
    }
  });
}

Deno.test("iptables with FORWARD DROP: without the forward rules nothing is forwarded", async () => {
  await using net = await createPodTopology();
  for (const family of [4, 6] as const) {
    await net.node.check([iptablesCommand(family, "default"), "-w", "-P", "FORWARD", "DROP"]);
  }
  await using _remote = await sourceAddressServer(net.remote, PORT);
  const rules = new TrafficRules({ ...CONFIG, forwardRules: false }, {
    runner: runnerIn(net.node),
  });
  await rules.start();
  await rules.stop();
  assert.equal(await seenSource(net.pod, ADDRESSES.remote[4], PORT, 2), undefined);
});

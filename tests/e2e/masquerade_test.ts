/**
 * flannel's masquerade and forward rules, installed by keepnet-vtepd with `--ip-masq`: a pod
 * reaches an address outside the cluster network (the LAN's gateway, which has no route back
 * to the pods) through the masquerade; pod-to-pod traffic across nodes keeps the pod's own
 * address; a deleted rule is back within the resync interval; and after a reboot without the
 * cloud the rules come back from local state before any API answer.
 */
import assert from "node:assert/strict";
import { Lab, type LabNode, OUTSIDE_HOST, waitFor } from "../../scripts/lab.ts";
import { E2E, pingAcross, sinceStart, waitForPeers } from "./helpers.ts";

const MASQ = ["--ip-masq", "--iptables-resync=1"];

async function postrouting(node: LabNode): Promise<string> {
  return (await node.netns.run(["iptables", "-t", "nat", "-S", "FLANNEL-POSTRTG"])).stdout;
}

Deno.test({
  name:
    "masquerade: --ip-masq rules let pods out, keep pod-to-pod addresses, repair, and survive an offline reboot",
  ...E2E,
  async fn() {
    await using lab = await Lab.create([{ name: "edge-1" }, { name: "edge-2" }]);
    const [edge1, edge2] = [lab.node("edge-1"), lab.node("edge-2")];
    for (const node of [edge1, edge2]) node.startVtepd(MASQ);
    await waitForPeers(edge1, [edge2]);
    await waitForPeers(edge2, [edge1]);
    assert.match(await Deno.readTextFile(edge1.subnetFile), /^FLANNEL_IPMASQ=true$/m);
    const rules = await postrouting(edge1);
    assert.match(
      rules,
      /-A FLANNEL-POSTRTG -s 10\.244\.0\.0\/16 ! -d 224\.0\.0\.0\/4 .*MASQUERADE/,
    );
    assert.match(rules, /--comment "flanneld masq"/);
    const forward = (await edge1.netns.run(["iptables", "-S", "FLANNEL-FWD"])).stdout;
    assert.match(forward, /-A FLANNEL-FWD -s 10\.244\.0\.0\/16 .*-j ACCEPT/);

    const pod = await edge1.addPod("web-0");
    await edge2.addPod("web-0");
    // A LAN host outside the cluster network, with no route to the pods: only a masqueraded
    // echo (from the node's address) can be answered.
    assert.ok(
      await edge1.ping(pod, OUTSIDE_HOST),
      "a pod reaches the outside through the masquerade",
    );
    assert.deepEqual(await pingAcross([edge1, edge2]), [], "pod to pod across nodes");

    // Someone flushes the chain: back within the resync interval (1 s here).
    await edge1.netns.check(["iptables", "-t", "nat", "-F", "FLANNEL-POSTRTG"]);
    await waitFor(
      "the masquerade rules repaired",
      async () => /MASQUERADE/.test(await postrouting(edge1)) ? true : undefined,
      5000,
    );
    assert.ok(await edge1.ping(pod, OUTSIDE_HOST));

    // An offline reboot: the rules come from local state, before any API answer.
    await edge1.reboot();
    await edge1.cutApi();
    edge1.startVtepd(MASQ);
    await waitFor(
      "the rules after the reboot",
      async () => /MASQUERADE/.test(await postrouting(edge1)) ? true : undefined,
      10_000,
    );
    const since = await sinceStart(edge1);
    assert.doesNotMatch(since, /API reachable/, "installed without the API");
    const back = await edge1.addPod("web-0");
    assert.ok(await edge1.ping(back, OUTSIDE_HOST), "the pod reaches the outside again, offline");
  },
});

Deno.test({
  name: "masquerade: without --ip-masq the pods stay unmasqueraded (control)",
  ...E2E,
  async fn() {
    await using lab = await Lab.create([{ name: "edge-1" }]);
    const edge1 = lab.node("edge-1");
    edge1.startVtepd();
    await waitFor(
      "subnet.env",
      async () =>
        (await Deno.readTextFile(edge1.subnetFile).catch(() => "")).includes("FLANNEL_IPMASQ=false")
          ? true
          : undefined,
    );
    const pod = await edge1.addPod("web-0");
    assert.equal(await edge1.ping(pod, OUTSIDE_HOST), false, "no route back without masquerade");
  },
});

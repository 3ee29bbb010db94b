/**
 * The VTEP MAC is kept for the life of the node: across daemon restarts (SIGTERM, SIGKILL) and
 * across reboots that wipe the node's kernel state, whether the state directory survives or only
 * the node's annotation does. Peers never see a new MAC, so their entries stay right.
 */
import assert from "node:assert/strict";
import { Lab, type LabNode, waitFor } from "../../scripts/lab.ts";
import { advertisedMAC, E2E, neighbourMAC, pingAcross, waitForPeers } from "./helpers.ts";

async function ready(node: LabNode): Promise<string> {
  return await waitFor(`${node.name}'s VTEP`, async () => {
    const text = await Deno.readTextFile(node.subnetFile).catch(() => "");
    return text.includes("FLANNEL_SUBNET") ? await node.vtepMAC() : undefined;
  });
}

Deno.test({
  name: "MAC kept: restarts and reboots never change the advertised VTEP MAC",
  ...E2E,
  async fn() {
    await using lab = await Lab.create([{ name: "edge-1" }, { name: "edge-2" }]);
    const edge1 = lab.node("edge-1");
    const edge2 = lab.node("edge-2");
    edge1.startVtepd();
    edge2.startVtepd();
    await waitForPeers(edge1, [edge2]);
    await waitForPeers(edge2, [edge1]);
    const mac = await ready(edge1);
    assert.equal(await waitFor("the annotation", () => advertisedMAC(lab, edge1)), mac);
    await edge1.addPod("web-0");
    await edge2.addPod("web-0");

    await edge1.stopVtepd("SIGTERM");
    assert.equal(await edge1.vtepMAC(), mac, "SIGTERM leaves the device in place");
    edge1.startVtepd();
    assert.equal(await ready(edge1), mac, "after a SIGTERM restart");

    await edge1.stopVtepd("SIGKILL");
    edge1.startVtepd();
    assert.equal(await ready(edge1), mac, "after a SIGKILL restart");

    // Reboot: the namespace (and every kernel object in it) is gone; the disk stays.
    await edge1.reboot();
    assert.equal(await edge1.vtepMAC(), undefined, "the reboot wiped the device");
    edge1.startVtepd();
    assert.equal(await ready(edge1), mac, "after a reboot, from the state file");
    assert.match(await edge1.log(), /VTEP MAC chosen .*source=state/);

    // Reboot and lose the state directory too: the annotation still knows the MAC.
    await edge1.reboot();
    await Deno.remove(edge1.stateDir, { recursive: true });
    const before = (await edge1.log()).length;
    edge1.startVtepd();
    assert.equal(await ready(edge1), mac, "after a reboot without state, from the annotation");
    assert.match((await edge1.log()).slice(before), /VTEP MAC chosen .*source=annotation/);

    assert.equal(await advertisedMAC(lab, edge1), mac);
    assert.equal(await neighbourMAC(edge2, edge1), mac, "the peer's entry was right all along");
    await waitForPeers(edge1, [edge2]);
    await edge1.addPod("web-0");
    assert.deepEqual(await pingAcross([edge1, edge2]), []);
  },
});

Deno.test({
  name: "MAC kept: an incompatible flannel.1 is recreated with the same MAC",
  ...E2E,
  async fn() {
    await using lab = await Lab.create([{ name: "edge-1" }, { name: "edge-2" }]);
    const edge1 = lab.node("edge-1");
    const edge2 = lab.node("edge-2");
    // Left behind with another VNI (an old configuration), with the MAC the peers know.
    const mac = "0e:11:22:33:44:55";
    await edge1.netns.check([
      "ip",
      "link",
      "add",
      "flannel.1",
      "address",
      mac,
      "type",
      "vxlan",
      "id",
      "42",
      "dev",
      "eth0",
      "local",
      edge1.ip,
      "dstport",
      "8472",
      "nolearning",
    ]);
    edge1.startVtepd();
    edge2.startVtepd();
    await waitForPeers(edge1, [edge2]);
    const link =
      (await edge1.netns.json<Array<{ address: string; linkinfo: { info_data: { id: number } } }>>(
        ["ip", "-d", "-j", "link", "show", "flannel.1"],
      ))[0]!;
    assert.equal(link.linkinfo.info_data.id, 1);
    assert.equal(link.address, mac);
    assert.match(await edge1.log(), /recreated \(VNI 42 instead of 1\) with MAC 0e:11:22:33:44:55/);
    assert.equal(await waitFor("the annotation", () => advertisedMAC(lab, edge1)), mac);
  },
});

Deno.test({
  name: "MAC kept: malformed peer annotations are skipped without disturbing the other peers",
  ...E2E,
  async fn() {
    await using lab = await Lab.create([{ name: "edge-1" }, { name: "edge-2" }]);
    const edge1 = lab.node("edge-1");
    const edge2 = lab.node("edge-2");
    const broken = {
      "bad-json": { "flannel.alpha.coreos.com/backend-data": "{VtepMAC:" },
      "multicast-mac": {
        "flannel.alpha.coreos.com/backend-data": '{"VtepMAC":"01:00:5e:00:00:01"}',
      },
      "bad-ip": { "flannel.alpha.coreos.com/public-ip": "999.1.1.1" },
      "other-backend": { "flannel.alpha.coreos.com/backend-type": "host-gw" },
    };
    for (const [i, [name, override]] of Object.entries(broken).entries()) {
      await lab.api.control({
        op: "createNode",
        node: {
          apiVersion: "v1",
          kind: "Node",
          metadata: {
            name,
            annotations: {
              "flannel.alpha.coreos.com/backend-type": "vxlan",
              "flannel.alpha.coreos.com/kube-subnet-manager": "true",
              "flannel.alpha.coreos.com/public-ip": `192.168.50.${100 + i}`,
              "flannel.alpha.coreos.com/backend-data": '{"VNI":1,"VtepMAC":"0e:00:00:00:01:01"}',
              ...override,
            },
          },
          spec: { podCIDR: `10.244.${100 + i}.0/24` },
        },
      });
    }
    edge1.startVtepd();
    edge2.startVtepd();
    await waitForPeers(edge1, [edge2]);
    await waitForPeers(edge2, [edge1]);
    const log = await edge1.log();
    for (const name of Object.keys(broken)) {
      assert.match(log, new RegExp(`WARN skipping malformed peer peer=${name} `));
    }
    const routes = await edge1.netns.check(["ip", "-4", "route", "show", "dev", "flannel.1"]);
    assert.doesNotMatch(routes, /10\.244\.10[0-3]\./, "no entries for the broken nodes");
    await edge1.addPod("web-0");
    await edge2.addPod("web-0");
    assert.deepEqual(await pingAcross([edge1, edge2]), []);
  },
});

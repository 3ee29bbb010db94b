/**
 * flannel's stock DaemonSet sets POD_NAME and POD_NAMESPACE, not NODE_NAME: keepnet-vtepd finds
 * its node from the pod's `spec.nodeName` (retried until the pod is known), and after a reboot
 * without the cloud from the name in its state file, with no API call at all.
 */
import assert from "node:assert/strict";
import { Lab } from "../../scripts/lab.ts";
import { E2E, sinceStart, waitForLog, waitForPeers } from "./helpers.ts";

Deno.test({
  name: "POD_NAME: the node name comes from the pod, then from the state file at an offline reboot",
  ...E2E,
  async fn() {
    await using lab = await Lab.create([{ name: "edge-1" }, { name: "edge-2" }]);
    const [edge1, edge2] = [lab.node("edge-1"), lab.node("edge-2")];
    edge2.startVtepd();
    // The lab's own flags, without --node-name: the daemon has only the pod to go by.
    const args = edge1.vtepdArgs().filter((arg) => !arg.startsWith("--node-name"));
    const env = { POD_NAME: "kube-flannel-ds-x7k2p", POD_NAMESPACE: "kube-flannel" };
    edge1.startVtepd(args, { onlyArgs: true, env });
    await waitForLog(edge1, /waiting/i);
    await lab.api.control({
      op: "createPod",
      pod: {
        metadata: { name: env.POD_NAME, namespace: env.POD_NAMESPACE },
        spec: { nodeName: "edge-1" },
      },
    });
    await waitForPeers(edge1, [edge2]);
    assert.match(await edge1.log(), /node name from the pod .*node=edge-1/);

    await edge1.reboot();
    await edge1.cutApi();
    edge1.startVtepd(args, { onlyArgs: true, env });
    await waitForPeers(edge1, [edge2]);
    const since = await sinceStart(edge1);
    assert.match(since, /node name from the state file .*node=edge-1/);
    assert.doesNotMatch(since, /node name from the pod/);
  },
});

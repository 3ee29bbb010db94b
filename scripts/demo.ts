/**
 * The demo: an edge node reboots while cut off from the cloud, and keepnet brings its pods back
 * with the same IPs and the overlay working — shown in a lab of network namespaces (three
 * nodes on a LAN, a Kubernetes-API test server as "the cloud", pods wired by the real CNI
 * bridge plugin with keepnet-ipam). Everything it creates is removed at the end.
 *
 *   deno task demo        (as root; scripts/demo.sh installs what it needs first)
 *
 * @module
 */
import { Lab, type LabNode, waitFor } from "./lab.ts";

const nodeNames = ["edge-1", "edge-2", "edge-3"];

function say(text: string): void {
  console.log(`\n== ${text}`);
}

function show(text: string): void {
  console.log(`   ${text}`);
}

function pods(node: LabNode): string {
  return [...node.pods.values()].map((pod) => `${pod.namespace}/${pod.name}=${pod.ip}`).join("  ");
}

async function pingMatrix(nodes: LabNode[]): Promise<{ ok: number; failed: string[] }> {
  let ok = 0;
  const failed: string[] = [];
  for (const from of nodes) {
    for (const pod of from.pods.values()) {
      for (const to of nodes) {
        if (to === from) continue;
        for (const target of to.pods.values()) {
          if (await from.ping(pod, target.ip)) ok++;
          else failed.push(`${pod.name}@${from.name} -> ${target.name}@${to.name}`);
        }
      }
    }
  }
  return { ok, failed };
}

async function vtepOf(node: LabNode): Promise<string> {
  return await waitFor(`${node.name}'s VTEP`, async () => {
    const env = await Deno.readTextFile(node.subnetFile).catch(() => "");
    return env.includes("FLANNEL_SUBNET") ? await node.vtepMAC() : undefined;
  }, 30_000);
}

async function waitForOverlay(node: LabNode, peers: LabNode[]): Promise<void> {
  await waitFor(`${node.name}'s overlay routes`, async () => {
    const routes = await node.netns.check(["ip", "-4", "route", "show", "dev", "flannel.1"]);
    return peers.every((peer) => routes.includes(`${peer.podCIDR} via`)) ? true : undefined;
  }, 30_000);
}

if (import.meta.main) {
  say("Building an edge cluster in network namespaces: 3 nodes on a LAN, an API server");
  await using lab = await Lab.create(nodeNames.map((name) => ({ name })));
  const nodes = nodeNames.map((name) => lab.node(name));
  const [edge1, edge2] = nodes as [LabNode, LabNode, LabNode];
  for (const node of nodes) {
    node.startVtepd(["--log-level=info"], { bundle: true });
  }
  for (const node of nodes) {
    await waitForOverlay(node, nodes.filter((other) => other !== node));
    show(`${node.name}: ${node.ip}, pod CIDR ${node.podCIDR}, flannel.1 MAC ${await vtepOf(node)}`);
  }

  say("Starting two pods per node (CNI bridge plugin + keepnet-ipam)");
  for (const node of nodes) {
    await node.addPod("web-0");
    await node.addPod("db-0", "storage");
    show(`${node.name}: ${pods(node)}`);
  }
  let matrix = await pingMatrix(nodes);
  show(`cross-node pings: ${matrix.ok} ok, ${matrix.failed.length} failed`);

  const macBefore = await vtepOf(edge1);
  const ipsBefore = pods(edge1);

  say("edge-1 loses its link to the cloud, then reboots (kernel state, pods and /run are gone)");
  await edge1.reboot();
  await edge1.cutApi();
  show(`flannel.1 on edge-1 after the reboot: ${(await edge1.vtepMAC()) ?? "gone"}`);
  show(
    `subnet.env after the reboot: ${await Deno.stat(edge1.subnetFile).then(
      () => "present",
      () => "gone",
    )}`,
  );

  say("keepnet-vtepd starts on edge-1 without the API: from its state file");
  edge1.startVtepd(["--log-level=info"], { bundle: true });
  const macAfter = await vtepOf(edge1);
  await waitForOverlay(edge1, nodes.filter((other) => other !== edge1));
  show(`flannel.1 MAC: ${macAfter} (before the reboot: ${macBefore})`);
  show(`subnet.env: ${(await Deno.readTextFile(edge1.subnetFile)).trim().replaceAll("\n", " ")}`);
  const sinceReboot = (await edge1.log()).split("keepnet-vtepd starting").at(-1)!;
  for (const line of sinceReboot.split("\n")) {
    if (/lease restored|peers restored|VTEP MAC chosen|listing nodes failed/.test(line)) {
      show(`log: ${line.slice(0, 110)}`);
    }
  }

  say(
    "kubelet recreates edge-1's pods (new sandboxes, same names): keepnet-ipam gives the IPs back",
  );
  await edge1.addPod("web-0");
  await edge1.addPod("db-0", "storage");
  show(`before: ${ipsBefore}`);
  show(`after:  ${pods(edge1)}`);

  say("Cross-node traffic, with edge-1 still offline");
  const neighbour = await edge2.netns.check(["ip", "neigh", "show", "dev", "flannel.1"]);
  const vtep1 = edge1.podCIDR.replace(/\/\d+$/, "");
  show(
    `edge-2's entry for edge-1: ${neighbour.split("\n").find((l) => l.startsWith(vtep1 + " "))}`,
  );
  matrix = await pingMatrix(nodes);
  show(`cross-node pings: ${matrix.ok} ok, ${matrix.failed.length} failed`);
  for (const failure of matrix.failed) show(`failed: ${failure}`);

  say("The cloud link comes back: edge-1 syncs, nothing is torn down");
  await edge1.restoreApi();
  await waitFor(
    "edge-1 to reach the API",
    async () =>
      /API reachable/.test((await edge1.log()).split("lease restored")[1] ?? "") ? true : undefined,
    30_000,
  );
  matrix = await pingMatrix(nodes);
  show(`cross-node pings: ${matrix.ok} ok, ${matrix.failed.length} failed`);

  const kept = macAfter === macBefore && (pods(edge1)) === ipsBefore &&
    matrix.failed.length === 0;
  say(
    kept
      ? "Result: same VTEP MAC, same pod IPs, every pod reaches every other node's pods."
      : "Result: something did not come back as it was (see above).",
  );
  say("Removing the lab");
  if (!kept) Deno.exitCode = 1;
}

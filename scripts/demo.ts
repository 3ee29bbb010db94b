/**
 * The demo: an edge node reboots while cut off from the cloud, and keepnet brings its pods back
 * with the same IPs and the overlay working — shown in a lab of network namespaces (three keepnet
 * nodes and one stock-flannel node on a LAN, a Kubernetes-API test server as "the cloud", pods
 * wired by the real CNI bridge plugin). The keepnet node reboots right after the overlay is up;
 * then the stock node (flanneld's behaviour, done by hand: a new random VTEP MAC, no peer table
 * without the API; host-local) goes through the same reboot, for contrast. Everything it creates
 * is removed at the end.
 *
 *   deno task demo        (as root; scripts/demo.sh installs what it needs first)
 *
 * @module
 */
import {
  addStockFlannelPeer,
  createVtepByHand,
  Lab,
  type LabNode,
  programStockFlannelNode,
  waitFor,
} from "./lab.ts";
import { randomLocalMAC } from "../src/net/mac.ts";

const keepnetNames = ["edge-1", "edge-2", "edge-3"];
const STOCK_MAC = "0e:5f:00:00:00:04";

function say(text: string): void {
  console.log(`\n== ${text}`);
}

function show(text: string): void {
  console.log(`   ${text}`);
}

function pods(node: LabNode): string {
  return [...node.pods.values()].map((pod) => `${pod.namespace}/${pod.name}=${pod.ip}`).join("  ");
}

/** Pings from `node`'s pods to every pod on `others`, and back. */
async function pingsOf(node: LabNode, others: LabNode[]): Promise<{ ok: number; total: number }> {
  let ok = 0;
  let total = 0;
  for (const other of others) {
    for (const pod of node.pods.values()) {
      for (const target of other.pods.values()) {
        total += 2;
        if (await node.ping(pod, target.ip)) ok++;
        if (await other.ping(target, pod.ip)) ok++;
      }
    }
  }
  return { ok, total };
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

interface Row {
  node: string;
  macBefore: string;
  macAfter: string;
  ipsBefore: string;
  ipsAfter: string;
  pings: string;
}

function table(rows: Row[]): void {
  const header = [
    "",
    "VTEP MAC before",
    "VTEP MAC after",
    "pod IPs before",
    "pod IPs after",
    "cross-node pings offline",
  ];
  const lines = rows.map((row) => [
    row.node,
    row.macBefore,
    row.macAfter,
    row.ipsBefore,
    row.ipsAfter,
    row.pings,
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...lines.map((line) => line[i]!.length))
  );
  const render = (cells: string[]) =>
    `   | ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(render(header));
  console.log(render(widths.map((width) => "-".repeat(width))));
  for (const line of lines) console.log(render(line));
}

const ips = (node: LabNode) => [...node.pods.values()].map((pod) => pod.ip).join(", ");

if (import.meta.main) {
  say(
    "Building an edge cluster in network namespaces: 3 keepnet nodes, 1 stock flannel node, an API",
  );
  await using lab = await Lab.create([
    ...keepnetNames.map((name) => ({ name })),
    { name: "stock-4", flavour: "stock-flannel" as const },
  ]);
  const nodes = keepnetNames.map((name) => lab.node(name));
  const [edge1] = nodes as [LabNode, LabNode, LabNode];
  const stock = lab.node("stock-4");
  await programStockFlannelNode(lab, stock, STOCK_MAC);
  for (const node of nodes) node.startVtepd(["--log-level=info"], { bundle: true });
  for (const node of nodes) {
    await waitForOverlay(node, [...nodes, stock].filter((other) => other !== node));
    // The stock node programs what flanneld would from the node list.
    await addStockFlannelPeer(stock, node, await vtepOf(node));
    show(`${node.name}: ${node.ip}, pod CIDR ${node.podCIDR}, flannel.1 MAC ${await vtepOf(node)}`);
  }
  show(
    `stock-4: ${stock.ip}, pod CIDR ${stock.podCIDR}, flannel.1 MAC ${STOCK_MAC} (flanneld + host-local)`,
  );

  say("Two pods per node (CNI bridge plugin; keepnet-ipam, host-local on stock-4)");
  for (const node of [...nodes, stock]) {
    await node.addPod("web-0");
    await node.addPod("db-0", "storage");
    show(`${node.name}: ${pods(node)}`);
  }
  const others = (node: LabNode) => [...nodes, stock].filter((other) => other !== node);
  const first = await pingsOf(edge1, others(edge1));
  show(`edge-1 ↔ other nodes' pods: ${first.ok}/${first.total} pings answered`);

  say("edge-1 loses its link to the cloud and reboots at once (kernel state, pods and /run gone)");
  const edgeRow = {
    node: "edge-1 (keepnet)",
    macBefore: await vtepOf(edge1),
    ipsBefore: ips(edge1),
  };
  await edge1.reboot();
  await edge1.cutApi();
  show(
    `flannel.1 after the reboot: ${(await edge1.vtepMAC()) ?? "gone"}; subnet.env: ${await Deno
      .stat(edge1.subnetFile).then(() => "present", () => "gone")}`,
  );

  say("keepnet-vtepd starts on edge-1 without the API, from its state file");
  edge1.startVtepd(["--log-level=info"], { bundle: true });
  await vtepOf(edge1);
  await waitForOverlay(edge1, others(edge1));
  const sinceReboot = (await edge1.log()).split("keepnet-vtepd starting").at(-1)!;
  for (const line of sinceReboot.split("\n")) {
    if (/lease restored|peers restored|VTEP MAC chosen|listing nodes failed/.test(line)) {
      show(`log: ${line.slice(0, 110)}`);
    }
  }
  show("kubelet recreates the pods (new sandboxes, same names): keepnet-ipam gives the IPs back");
  await edge1.addPod("web-0");
  await edge1.addPod("db-0", "storage");
  const edgePings = await pingsOf(edge1, others(edge1));
  const rows: Row[] = [{
    ...edgeRow,
    macAfter: (await edge1.vtepMAC())!,
    ipsAfter: ips(edge1),
    pings: `${edgePings.ok}/${edgePings.total}`,
  }];

  say("For contrast, stock-4 (flanneld + host-local) goes through the same offline reboot");
  const stockRow = { node: "stock-4 (stock)", macBefore: STOCK_MAC, ipsBefore: ips(stock) };
  await stock.reboot();
  await stock.cutApi();
  // flanneld without the API: a new device with a new random MAC it cannot advertise, and no
  // peer table (it only ever comes from a node list), so no neighbours, FDB entries or routes.
  const newMac = randomLocalMAC();
  await createVtepByHand(stock, newMac, stock.podCIDR.replace(/\/\d+$/, ""));
  await stock.netns.check(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  show(
    `flanneld: flannel.1 re-created with a new MAC ${newMac}; peers: none (no node list offline)`,
  );
  show("kubelet recreates the pods: host-local hands out the next free addresses");
  await stock.addPod("web-0");
  await stock.addPod("db-0", "storage");
  const stockPings = await pingsOf(stock, nodes);
  rows.push({
    ...stockRow,
    macAfter: newMac,
    ipsAfter: ips(stock),
    pings: `${stockPings.ok}/${stockPings.total}`,
  });

  say("Before and after the offline reboot");
  table(rows);
  const kept = rows[0]!.macAfter === rows[0]!.macBefore &&
    rows[0]!.ipsAfter === rows[0]!.ipsBefore &&
    edgePings.ok === edgePings.total;
  say(
    kept
      ? "keepnet: same VTEP MAC, same pod IPs, every cross-node ping answered, without the cloud. " +
        "Stock: a MAC no peer knows, new pod IPs the cloud never hears of, the node cut off."
      : "Result: something did not come back as it was (see above).",
  );
  say("Removing the lab");
  if (!kept) Deno.exitCode = 1;
}

/**
 * Benchmark of keepnet-vtepd with a large cluster, in a lab of network namespaces:
 *
 *  - start to data plane ready with N peers (default 1000) in the API: from spawning the daemon
 *    (the bundle dist/keepnet-vtepd/, with the compiled binary's permissions) until every
 *    peer's neighbour, FDB entry and route is in the kernel;
 *  - the time the daemon spends programming those N × 3 entries, against `ip -batch` and
 *    `bridge -batch` applying the same entries to the same kind of device (the kernel's floor);
 *  - how long a peer's annotation change takes to reach the kernel (median of 20 changes,
 *    timed with `ip monitor` in the node's namespace);
 *  - the daemon's resident memory with N peers after start-up, reaching the API by a bare URL
 *    (a yurthub) and by a kubeconfig (which loads @kubernetes/client-node), split into private
 *    anonymous memory and pages of the mapped binary and libraries.
 *
 *   deno task bench:vtepd [--peers 1000]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createVtepByHand, Lab, waitFor } from "./lab.ts";
import { realisticNode } from "../tests/kube/memory/realistic_node.ts";

const decoder = new TextDecoder();

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Peer i: pod CIDR 10.(i/256).(i%256).0/24 in 10.0.0.0/8, public IP in 172.16.0.0/12. */
function peer(i: number) {
  const n = i + 2; // 10.0.1.0/24 is the benchmarked node's own
  const mac = `0e:00:00:${((n >> 16) & 255).toString(16).padStart(2, "0")}:${
    ((n >> 8) & 255).toString(16).padStart(2, "0")
  }:${(n & 255).toString(16).padStart(2, "0")}`;
  return {
    name: `peer-${i}`,
    podCIDR: `10.${n >> 8}.${n & 255}.0/24`,
    vtep: `10.${n >> 8}.${n & 255}.0`,
    publicIP: `172.${16 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`,
    mac,
  };
}

/** A peer as a real cluster serves it (status, images, managedFields: about 8 KiB of JSON). */
function peerNode(p: ReturnType<typeof peer>, index: number, mac = p.mac) {
  const real = realisticNode(p.name, index) as { metadata: Record<string, unknown> };
  return {
    ...real,
    metadata: {
      ...real.metadata,
      name: p.name,
      annotations: {
        "flannel.alpha.coreos.com/backend-type": "vxlan",
        "flannel.alpha.coreos.com/kube-subnet-manager": "true",
        "flannel.alpha.coreos.com/public-ip": p.publicIP,
        "flannel.alpha.coreos.com/backend-data": JSON.stringify({ VNI: 1, VtepMAC: mac }),
      },
    },
    spec: { podCIDR: p.podCIDR, podCIDRs: [p.podCIDR] },
  };
}

interface Memory {
  /** Resident set, KiB. */
  rss: number;
  /** Of that, private anonymous memory (heaps, stacks) and pages of mapped files (the binary). */
  anon: number;
  file: number;
}

async function memoryOf(pid: number): Promise<Memory> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kib = (field: string) =>
    Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1] ?? 0);
  return { rss: kib("VmRSS"), anon: kib("RssAnon"), file: kib("RssFile") };
}

/** A kubeconfig for the lab's API with a token user: the daemon then loads client-node. */
async function writeKubeconfig(path: string, server: string): Promise<void> {
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "lab", cluster: { server } }],
      users: [{ name: "bench", user: { token: "bench" } }],
      contexts: [{ name: "lab", context: { cluster: "lab", user: "bench" } }],
      "current-context": "lab",
    }),
  );
}

/** Waits until the daemon's log shows its `n`th node list in the kernel, then settles. */
async function settledAfterList(node: ReturnType<Lab["node"]>, n: number): Promise<string> {
  const log = await waitFor(`node list ${n} applied`, async () => {
    const text = await node.log();
    return (text.match(/node list applied/g) ?? []).length >= n ? text : undefined;
  }, 60_000);
  await new Promise((resolve) => setTimeout(resolve, 3000)); // settle: state file, publisher
  return log;
}

/** Peers whose route is in the kernel (the route is programmed last). */
async function kernelCounts(lab: Lab): Promise<number> {
  const node = lab.node("bench");
  const routes = await node.netns.check(["ip", "-4", "route", "show", "dev", "flannel.1"]);
  return routes.split("\n").filter((line) => line.includes("onlink")).length;
}

async function ipBatchFloor(lab: Lab, peers: ReturnType<typeof peer>[]): Promise<number> {
  // A fresh node with the same device, programmed by iproute2 from batch files.
  const node = lab.node("floor");
  await createVtepByHand(node, "0e:ff:00:00:00:01", "10.0.1.0");
  const neigh = peers.map((p) =>
    `neigh replace ${p.vtep} lladdr ${p.mac} dev flannel.1 nud permanent`
  );
  const fdb = peers.map((p) =>
    `fdb replace ${p.mac} dev flannel.1 dst ${p.publicIP} self permanent`
  );
  const routes = peers.map((p) => `route replace ${p.podCIDR} via ${p.vtep} dev flannel.1 onlink`);
  const dir = lab.dir;
  await Deno.writeTextFile(`${dir}/ip.batch`, [...neigh, ...routes].join("\n") + "\n");
  await Deno.writeTextFile(`${dir}/bridge.batch`, fdb.join("\n") + "\n");
  // Interleaving matters for neither; order as flannel: neighbours, FDB, routes.
  const started = performance.now();
  await node.netns.check(["ip", "-batch", `${dir}/ip.batch`]);
  await node.netns.check(["bridge", "-batch", `${dir}/bridge.batch`]);
  return performance.now() - started;
}

async function annotationLatency(lab: Lab, peers: ReturnType<typeof peer>[], rounds: number) {
  const node = lab.node("bench");
  const monitor = node.netns.spawn(["ip", "monitor", "neigh", "dev", "flannel.1"], {
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  });
  const reader = monitor.stdout.getReader();
  let buffer = "";
  const waitForLine = async (needle: string) => {
    while (!buffer.includes(needle)) {
      const { value, done } = await reader.read();
      if (done) throw new Error("ip monitor ended");
      buffer += decoder.decode(value);
    }
    buffer = buffer.slice(buffer.indexOf(needle) + needle.length);
    return performance.now();
  };
  await new Promise((resolve) => setTimeout(resolve, 300)); // let ip monitor subscribe
  const samples: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const target = peers[(round * 37) % peers.length]!;
      const mac = `0e:aa:00:00:${(round >> 8).toString(16).padStart(2, "0")}:${
        (round & 255).toString(16).padStart(2, "0")
      }`;
      const started = performance.now();
      const seen = waitForLine(`lladdr ${mac}`);
      await lab.api.control({
        op: "mergeNode",
        name: target.name,
        patch: {
          metadata: {
            annotations: {
              "flannel.alpha.coreos.com/backend-data": JSON.stringify({ VNI: 1, VtepMAC: mac }),
            },
          },
        },
      });
      samples.push((await seen) - started);
    }
  } finally {
    monitor.kill("SIGTERM");
    await reader.cancel().catch(() => {});
    await monitor.status;
  }
  return samples;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { peers: { type: "string", default: "1000" } },
  });
  const count = Number(values.peers);
  const peers = Array.from({ length: count }, (_, i) => peer(i));
  await using lab = await Lab.create([{ name: "bench" }, { name: "floor" }], {
    Network: "10.0.0.0/8",
    Backend: { Type: "vxlan" },
  });
  // The benchmarked node gets 10.0.1.0/24; "floor" is only used for the ip -batch run.
  await lab.api.control({
    op: "mergeNode",
    name: "bench",
    patch: { spec: { podCIDR: "10.0.1.0/24", podCIDRs: ["10.0.1.0/24"] } },
  });
  await lab.api.control({ op: "createNodes", nodes: peers.map((p, i) => peerNode(p, i)) });

  const node = lab.node("bench");
  const started = performance.now();
  const daemon = node.startVtepd(["--log-level=info"], { bundle: true });
  const ready = await waitFor("every peer in the kernel", async () => {
    return (await kernelCounts(lab)) === count ? performance.now() : undefined;
  }, 120_000);
  const log = await waitFor("the sync log line", async () => {
    const text = await node.log();
    return /kernel reconciled with the peer table peers=\d+ changed=[1-9]/.test(text)
      ? text
      : undefined;
  });
  const programmingMs = Number(
    log.match(/kernel reconciled with the peer table peers=\d+ changed=[1-9]\d* .* ms=(\d+)/)?.[1],
  );
  await settledAfterList(node, 1);
  // `ip netns exec` execs deno, so the spawned process is the daemon itself.
  const bareUrl = await memoryOf(daemon.pid);
  const latencies = await annotationLatency(lab, peers, 20);
  await node.stopVtepd("SIGTERM");

  // The same node restarted with a kubeconfig (its token user, the same server).
  const kubeconfig = `${node.diskDir}/bench-kubeconfig`;
  await writeKubeconfig(kubeconfig, lab.api.url);
  const restarted = node.startVtepd(["--log-level=info", `--kubeconfig-file=${kubeconfig}`], {
    bundle: true,
  });
  await settledAfterList(node, 2);
  const withKubeconfig = await memoryOf(restarted.pid);
  await node.stopVtepd("SIGTERM");
  const floorMs = await ipBatchFloor(lab, peers);

  console.log(`keepnet-vtepd benchmark, ${count} peers, Deno ${Deno.version.deno}`);
  console.log("");
  console.log("| what | figure |");
  console.log("|---|---|");
  console.log(
    `| start to data plane ready with ${count} peers | ${(ready - started).toFixed(0)} ms |`,
  );
  console.log(
    `| programming ${count} × (neighbour + FDB + route) by the daemon | ${programmingMs} ms |`,
  );
  console.log(`| the same entries with ip -batch + bridge -batch | ${floorMs.toFixed(0)} ms |`);
  console.log(`| ratio daemon / ip -batch | ${(programmingMs / floorMs).toFixed(2)} |`);
  console.log(
    `| annotation change to kernel, median of ${latencies.length} | ${
      median(latencies).toFixed(1)
    } ms |`,
  );
  const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
  for (
    const [how, memory] of [["a bare URL (yurthub)", bareUrl], [
      "a kubeconfig",
      withKubeconfig,
    ]] as const
  ) {
    console.log(
      `| resident memory with ${count} peers after start-up, API by ${how} | ${
        mib(memory.rss)
      } (anonymous ${mib(memory.anon)}, binary and libraries ${mib(memory.file)}) |`,
    );
  }
}

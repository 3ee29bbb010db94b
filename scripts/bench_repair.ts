/**
 * How fast keepnet-vtepd repairs kernel drift and catches up with the cloud, measured in a lab of
 * network namespaces with the bundle and the compiled binary's flags:
 *
 * - each fault of scripts/lab_faults.ts, injected with iproute2 on a node whose resync interval
 *   is an hour (so only kernel notifications can repair it): time from the `ip` command's exit
 *   to the entry being back, as `ip` sees it (polled every 5 ms);
 * - the cloud returning after an outage (behind a yurthub, out of reach, or a silently lost
 *   link), with a node joined meanwhile: time from the cloud's return to every node routing to
 *   the new node.
 *
 *   deno task bench:repair       (as root)
 *
 * @module
 */
import { Lab, type LabNode, waitFor } from "./lab.ts";
import { FAULTS, timeRepair } from "./lab_faults.ts";

const ROUNDS = Number(Deno.env.get("ROUNDS") ?? "5");

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function overlayRoutes(node: LabNode): Promise<string> {
  return await node.netns.check(["ip", "-4", "route", "show", "dev", "flannel.1"]);
}

async function repairs(): Promise<void> {
  await using lab = await Lab.create([{ name: "edge-1" }, { name: "edge-2" }]);
  const [edge1, edge2] = ["edge-1", "edge-2"].map((name) => lab.node(name)) as [LabNode, LabNode];
  for (const node of [edge1, edge2]) {
    node.startVtepd(["--resync-seconds=3600", "--log-level=info"], { bundle: true });
  }
  await waitFor(
    "the overlay",
    async () => (await overlayRoutes(edge1)).includes(edge2.podCIDR) ? true : undefined,
  );
  const ownMac = (await edge1.vtepMAC())!;
  const data = (await lab.api.annotations("edge-2"))["flannel.alpha.coreos.com/backend-data"]!;
  const peerMac = (JSON.parse(data) as { VtepMAC: string }).VtepMAC;
  console.log(`| fault | median | max | rounds |`);
  console.log(`| --- | --- | --- | --- |`);
  for (const fault of FAULTS) {
    const times: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      times.push(await timeRepair(fault, edge1, edge2, peerMac, ownMac));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    console.log(
      `| ${fault.name} | ${median(times).toFixed(0)} ms | ${
        Math.max(...times).toFixed(0)
      } ms | ${ROUNDS} |`,
    );
  }
}

/**
 * How the cloud goes away: behind an emptied yurthub cache; out of reach with connections refused
 * at once; or a link that dies silently (packets vanish both ways, open connections go quiet).
 */
type Outage = "yurthub" | "refused" | "silent";

const OUTAGE_NAMES: Record<Outage, string> = {
  yurthub: "behind an empty yurthub cache",
  refused: "API unreachable, connections refused",
  silent: "link lost silently",
};

async function reconnect(outage: Outage): Promise<void> {
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await using lab = await Lab.create([{ name: "edge-1" }, { name: "edge-2" }]);
    const nodes = ["edge-1", "edge-2"].map((name) => lab.node(name));
    for (const node of nodes) node.startVtepd(["--log-level=info"], { bundle: true });
    for (const node of nodes) {
      await waitFor(
        "the overlay",
        async () => (await overlayRoutes(node)).includes("10.244.") ? true : undefined,
      );
    }
    if (outage === "yurthub") await lab.api.setYurthubMode({ mode: "uncached" });
    else if (outage === "refused") { for (const node of nodes) await node.cutApi(); }
    else for (const node of nodes) await node.cutApiSilently();
    // Long enough for every retry to have backed off as far as it goes, and for a quiet watch
    // to have been found dead.
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    await lab.api.createFlannelNode(9);
    const back = performance.now();
    if (outage === "yurthub") await lab.api.setYurthubMode({ mode: "online" });
    else for (const node of nodes) await node.restoreApi();
    for (const node of nodes) {
      await waitFor(
        "the new node routed",
        async () => (await overlayRoutes(node)).includes("10.244.9.0/24") ? true : undefined,
        30_000,
      );
    }
    times.push(performance.now() - back);
  }
  console.log(
    `\ncloud back after an outage (${
      OUTAGE_NAMES[outage]
    }) → every node routes to a node that joined meanwhile: median ${
      median(times).toFixed(0)
    } ms, max ${Math.max(...times).toFixed(0)} ms (${ROUNDS} rounds)`,
  );
}

if (import.meta.main) {
  await repairs();
  await reconnect("yurthub");
  await reconnect("refused");
  await reconnect("silent");
}

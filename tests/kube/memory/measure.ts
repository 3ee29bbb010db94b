/**
 * Measures the resident memory of the daemon's Kubernetes side (probe.ts) with 1000 peer nodes:
 * bundles the probe as the daemon is bundled (`deno bundle --minify`), serves realistic Node
 * objects from the test API server, lets the probe LIST and WATCH them (plus a burst of watch
 * events), and reports RSS after GC with and without `--max-semi-space-size=1`, with the V8
 * code cache cold, warm, and disabled.
 *
 *   deno run -A tests/kube/memory/measure.ts [--nodes 1000] [--repeat 3]
 *
 * The page size of the probe's LIST comes from PROBE_PAGE_SIZE (default: the client's).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ROOT } from "../../../scripts/programs.ts";
import { TestApiServer } from "../apiserver.ts";
import { realisticNode } from "./realistic_node.ts";

export interface ProbeResult {
  peers: number;
  events: number;
  syncedMs: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
}

/** Bundles probe.ts the way scripts/build.ts bundles the daemon; returns the bundle's path. */
export async function bundleProbe(dir: string): Promise<string> {
  const output = `${dir}/probe.js`;
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform=deno",
      "--minify",
      "-o",
      output,
      "tests/kube/memory/probe.ts",
    ],
    cwd: ROOT,
    stderr: "piped",
  }).output();
  if (!result.success) throw new Error(new TextDecoder().decode(result.stderr));
  return output;
}

/** Fills `server` with `count` nodes: the own node and count-1 flannel peers. */
export function populate(server: TestApiServer, count: number): void {
  for (let index = 0; index < count; index++) {
    server.createNode(realisticNode(index === 0 ? "self" : `edge-${index}`, index));
  }
}

/** Runs the bundled probe once and returns what it reports. */
export async function runProbe(
  bundle: string,
  server: TestApiServer,
  count: number,
  v8Flags: string[],
  extraFlags: string[] = [],
  env: Record<string, string> = {},
  events = 100,
): Promise<ProbeResult> {
  const child = new Deno.Command(Deno.execPath(), {
    env,
    args: [
      "run",
      "--no-config",
      "--quiet",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      `--v8-flags=${["--expose-gc", ...v8Flags].join(",")}`,
      ...extraFlags,
      bundle,
      server.url,
      String(count),
      String(events),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    // Watch events while the probe is running: peers changing their public IP.
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const changes = (async () => {
      while (server.activeWatches === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      const run = crypto.randomUUID();
      for (let i = 1; i <= events; i++) {
        server.updateNode(`edge-${i}`, (node) => {
          node.metadata.annotations["example.com/probe-run"] = run;
        });
      }
    })();
    let text = "";
    while (!text.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) throw new Error("the probe ended without a report");
      text += value;
    }
    await changes;
    reader.releaseLock();
    return JSON.parse(text) as ProbeResult;
  } finally {
    await child.stdin.close().catch(() => {});
    await child.stdout.cancel().catch(() => {});
    await child.status;
  }
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { nodes: { type: "string" }, repeat: { type: "string" } },
  });
  const count = Number(values.nodes ?? 1000);
  const repeat = Number(values.repeat ?? 3);
  let heap = 0;
  const dir = await Deno.makeTempDir({ prefix: "keepnet-kube-memory-" });
  const server = await TestApiServer.start();
  try {
    populate(server, count);
    const bundle = await bundleProbe(dir);
    const size = (await Deno.stat(bundle)).size;
    console.log(`probe bundle ${(size / 1024).toFixed(0)} KiB, ${count} nodes`);
    const semi = ["--max-semi-space-size=1"];
    const noCache = ["--no-code-cache"];
    const undici = { PROBE_TRANSPORT: "client-node" };
    const cases: [string, string[], string[], Record<string, string>][] = [
      ["code cache cold", [], [], {}],
      ["code cache warm", [], [], {}],
      ["no code cache", [], noCache, {}],
      ["code cache warm, semi-space 1", semi, [], {}],
      ["no code cache, semi-space 1", semi, noCache, {}],
      ["undici: code cache warm", [], [], undici],
      ["undici: no code cache", [], noCache, undici],
      ["undici: no code cache, semi-space 1", semi, noCache, undici],
    ];
    for (const [label, v8Flags, extra, env] of cases) {
      const runs: string[] = [];
      for (let run = 0; run < repeat; run++) {
        const result = await runProbe(bundle, server, count, v8Flags, extra, env);
        runs.push((result.rss / 1048576).toFixed(0));
        heap = result.heapUsed;
        // A cold code cache exists only once per bundle.
        if (label === "code cache cold") break;
      }
      console.log(`${label.padEnd(40)} RSS MiB ${runs.join(" ")}  (heap used ${mib(heap)})`);
    }
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

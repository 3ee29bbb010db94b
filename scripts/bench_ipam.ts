/**
 * Benchmark of keepnet-ipam's cost per pod operation, side by side in one run:
 *
 *  - an ADD+DEL cycle of keepnet-ipam (the bundle dist/keepnet-ipam.js, run with `deno run` and
 *    exactly the compiled binary's permissions),
 *  - two runs of an empty Deno script with the same flags (the runtime's floor),
 *  - an ADD+DEL cycle of Debian's host-local (/usr/lib/cni/host-local), when installed,
 *
 * then a restart storm: 110 pods (kubelet's default max pods) get IPs, their sandboxes are
 * deleted as after a reboot, and 110 concurrent ADDs bring them back; every pod must get its
 * own IP again. Reports medians, the time ratio to the floor and peak memory.
 *
 *   deno task bench:ipam [--cycles 40] [--pods 110]
 *
 * Needs `deno task bundle` first and GNU time (/usr/bin/time) for per-process peak memory.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { permissionFlags, PROGRAMS, ROOT } from "./programs.ts";

const HOST_LOCAL = "/usr/lib/cni/host-local";
const GNU_TIME = "/usr/bin/time";
/** Cycles run under GNU time for peak memory. */
const MEMORY_CYCLES = 10;

interface Sample {
  ms: number;
  maxRssKiB: number;
}

interface Invocation {
  argv: string[];
  env: Record<string, string>;
  stdin: string;
}

const decoder = new TextDecoder();

/**
 * Runs one process and returns its wall time, or with `memory` its peak RSS as GNU time reports
 * it (the wrapper's own start-up then inflates the time, so the two are measured in separate runs).
 */
async function measure(
  invocation: Invocation,
  memory: boolean,
): Promise<Sample & { stdout: string }> {
  const argv = memory ? [GNU_TIME, "-f", "%M", ...invocation.argv] : invocation.argv;
  const child = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    env: invocation.env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const started = performance.now();
  const process = child.spawn();
  const writer = process.stdin.getWriter();
  await writer.write(new TextEncoder().encode(invocation.stdin));
  await writer.close();
  const output = await process.output();
  const ms = performance.now() - started;
  const stderr = decoder.decode(output.stderr).trim().split("\n");
  const stdout = decoder.decode(output.stdout);
  if (!output.success) {
    throw new Error(`${invocation.argv.join(" ")} failed: ${stdout}\n${stderr.join("\n")}`);
  }
  return { ms, maxRssKiB: memory ? Number(stderr.at(-1)) : 0, stdout };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function networkConfig(dataDir: string, name: string, subnet: string): string {
  return JSON.stringify({
    cniVersion: "1.0.0",
    name,
    type: "bridge",
    ipam: { type: "keepnet-ipam", dataDir, ranges: [[{ subnet }]], routes: [{ dst: "0.0.0.0/0" }] },
  });
}

/**
 * Where Deno keeps its V8 code cache. A compiled binary keeps its own next to itself (in
 * $TMPDIR), so `deno run` of the bundle gets one too, or every run would compile from scratch.
 */
function denoEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

function cniEnv(command: string, containerId: string, podName?: string): Record<string, string> {
  const env: Record<string, string> = {
    ...denoEnv(),
    CNI_COMMAND: command,
    CNI_CONTAINERID: containerId,
    CNI_NETNS: "/var/run/netns/bench",
    CNI_IFNAME: "eth0",
    CNI_PATH: "/opt/cni/bin",
  };
  if (podName) {
    env.CNI_ARGS =
      `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=${podName};K8S_POD_INFRA_CONTAINER_ID=${containerId}`;
  }
  return env;
}

const denoRun = (script: string) => [
  Deno.execPath(),
  "run",
  "--quiet",
  "--no-prompt",
  "--no-config",
  ...permissionFlags("ipam"),
  script,
];

interface Contender {
  label: string;
  /** The ADD and DEL (or the two runs) of cycle `i`. */
  pair: (i: number) => [Invocation, Invocation];
}

interface Row {
  label: string;
  cycleMs: number;
  maxRssKiB: number;
}

/**
 * Runs `count` cycles of every contender, interleaved (cycle i of each, then cycle i + 1), so
 * that drift in the machine's speed hits them all alike; then peak memory in separate cycles.
 */
async function cycles(contenders: Contender[], count: number): Promise<Row[]> {
  const times = contenders.map(() => [] as number[]);
  const peaks = contenders.map(() => [] as number[]);
  for (let i = 0; i < count + 3; i++) {
    for (const [k, contender] of contenders.entries()) {
      const [first, second] = contender.pair(i);
      const a = await measure(first, false);
      const b = await measure(second, false);
      if (i >= 3) times[k]!.push(a.ms + b.ms); // 3 warm-up cycles: page cache, V8 code cache
    }
  }
  for (let i = count + 3; i < count + 3 + MEMORY_CYCLES; i++) {
    for (const [k, contender] of contenders.entries()) {
      const [first, second] = contender.pair(i);
      const a = await measure(first, true);
      const b = await measure(second, true);
      peaks[k]!.push(Math.max(a.maxRssKiB, b.maxRssKiB));
    }
  }
  return contenders.map((contender, k) => ({
    label: contender.label,
    cycleMs: median(times[k]!),
    maxRssKiB: median(peaks[k]!),
  }));
}

/** Sums the RSS of the given live processes (KiB); processes already gone count 0. */
async function totalRssKiB(pids: number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) {
    try {
      const status = await Deno.readTextFile(`/proc/${pid}/status`);
      const match = status.match(/^VmRSS:\s+(\d+) kB/m);
      if (match) total += Number(match[1]);
    } catch {
      // exited
    }
  }
  return total;
}

interface StormResult {
  pods: number;
  ms: number;
  peakKiB: number;
  kept: number;
}

async function storm(pods: number, dataDir: string): Promise<StormResult> {
  const config = networkConfig(dataDir, "storm", "10.99.0.0/16");
  const script = `${ROOT}/${PROGRAMS.ipam.bundle}`;
  const runAll = async (command: string, generation: number) => {
    const started = performance.now();
    const children = Array.from({ length: pods }, (_, i) => {
      const process = new Deno.Command(denoRun(script)[0]!, {
        args: denoRun(script).slice(1),
        env: cniEnv(command, `sandbox-${generation}-${i}`, `web-${i}`),
        clearEnv: true,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = process.stdin.getWriter();
      writer.write(new TextEncoder().encode(config)).then(() => writer.close());
      return process;
    });
    const pids = children.map((child) => child.pid);
    let peak = 0;
    let running = true;
    const sampler = (async () => {
      while (running) {
        peak = Math.max(peak, await totalRssKiB(pids));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const outputs = await Promise.all(children.map((child) => child.output()));
    const ms = performance.now() - started;
    running = false;
    await sampler;
    const failures = outputs.filter((output) => !output.success);
    if (failures.length > 0) {
      throw new Error(
        `${failures.length} ${command}s failed: ${decoder.decode(failures[0]!.stdout)}`,
      );
    }
    const addresses = outputs.map((output) => {
      const text = decoder.decode(output.stdout);
      return text ? (JSON.parse(text).ips?.[0]?.address as string) : "";
    });
    return { ms, peakKiB: peak, addresses };
  };
  const first = await runAll("ADD", 1);
  await runAll("DEL", 1);
  const again = await runAll("ADD", 2);
  const kept = again.addresses.filter((address, i) => address === first.addresses[i]).length;
  if (new Set(again.addresses).size !== pods) throw new Error("restart storm gave duplicate IPs");
  return { pods, ms: again.ms, peakKiB: again.peakKiB, kept };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      cycles: { type: "string", default: "40" },
      pods: { type: "string", default: "110" },
    },
  });
  const count = Number(values.cycles);
  const pods = Number(values.pods);
  const bundle = `${ROOT}/${PROGRAMS.ipam.bundle}`;
  await Deno.stat(bundle).catch(() => {
    throw new Error(`${bundle} is missing: run deno task bundle first`);
  });
  await Deno.stat(GNU_TIME).catch(() => {
    throw new Error(`${GNU_TIME} is missing: apt-get install time`);
  });
  const dataDir = await Deno.makeTempDir({ prefix: "keepnet-bench-" });
  const empty = `${dataDir}/empty.js`;
  await Deno.writeTextFile(empty, "");
  try {
    const newPods = networkConfig(dataDir, "new-pods", "10.98.0.0/16");
    const restarts = networkConfig(dataDir, "restarts", "10.96.0.0/16");
    const contenders: Contender[] = [
      {
        label: "empty Deno script, 2 runs (floor)",
        pair: () => {
          const run = { argv: denoRun(empty), env: denoEnv(), stdin: "" };
          return [run, run];
        },
      },
      {
        label: "keepnet-ipam ADD+DEL of a new pod (bundle)",
        pair: (i) => [
          { argv: denoRun(bundle), env: cniEnv("ADD", `c${i}`, `pod-${i}`), stdin: newPods },
          { argv: denoRun(bundle), env: cniEnv("DEL", `c${i}`, `pod-${i}`), stdin: newPods },
        ],
      },
      {
        label: "keepnet-ipam ADD+DEL of a restarted pod, same IP back (bundle)",
        pair: (i) => [
          { argv: denoRun(bundle), env: cniEnv("ADD", `r${i}`, "web-0"), stdin: restarts },
          { argv: denoRun(bundle), env: cniEnv("DEL", `r${i}`, "web-0"), stdin: restarts },
        ],
      },
    ];
    if (await Deno.stat(HOST_LOCAL).then(() => true, () => false)) {
      const hostLocalConfig = networkConfig(dataDir, "cycle-hl", "10.97.0.0/16");
      contenders.push({
        label: "Debian host-local ADD+DEL",
        pair: (i) => [
          { argv: [HOST_LOCAL], env: cniEnv("ADD", `h${i}`), stdin: hostLocalConfig },
          { argv: [HOST_LOCAL], env: cniEnv("DEL", `h${i}`), stdin: hostLocalConfig },
        ],
      });
    }
    const rows = await cycles(contenders, count);
    const floor = rows[0]!;
    const mib = (kib: number) => (kib / 1024).toFixed(1);
    console.log(`keepnet-ipam benchmark, ${count} cycles each, Deno ${Deno.version.deno}`);
    console.log("");
    console.log("| what | median time | × floor | peak RSS of one process | × floor |");
    console.log("|---|---|---|---|---|");
    for (const row of rows) {
      console.log(
        `| ${row.label} | ${row.cycleMs.toFixed(1)} ms | ${
          (row.cycleMs / floor.cycleMs).toFixed(2)
        } | ` +
          `${mib(row.maxRssKiB)} MiB | ${(row.maxRssKiB / floor.maxRssKiB).toFixed(2)} |`,
      );
    }
    const result = await storm(pods, dataDir);
    console.log("");
    console.log(
      `Restart storm: ${result.pods} concurrent ADDs after DEL of every sandbox: ${
        result.ms.toFixed(0)
      } ms ` +
        `in total, peak ${mib(result.peakKiB)} MiB RSS summed over the running plugins, ` +
        `${result.kept}/${result.pods} pods got their previous IP.`,
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

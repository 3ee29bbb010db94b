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
 * own IP again. The storm is run by keepnet-ipam and by host-local, timed in one run and its
 * memory sampled in another: the PSS of every running plugin process summed (from
 * /proc/<pid>/smaps_rollup; PSS divides each shared page among the processes that map it, so
 * the sum counts the runtime's code once and each process's own memory fully). For scale, the
 * same sum for 110 idle Deno processes (the runtime's own floor) is measured too. Reports
 * medians, the time ratio to the floor and peak memory.
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

/** `deno run` of a script with the compiled keepnet-ipam binary's permissions and flags. */
export const denoRun = (script: string, runtimeFlags = PROGRAMS.ipam.runtimeFlags): string[] => [
  Deno.execPath(),
  "run",
  "--quiet",
  "--no-prompt",
  "--no-config",
  ...permissionFlags("ipam"),
  ...runtimeFlags,
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

/** Memory of the live processes among `pids`, summed (KiB); processes already gone count 0. */
interface MemorySample {
  /** Proportional set size: each shared page counts once across the processes sharing it. */
  pssKiB: number;
  /** Resident set size: shared pages count in every process. */
  rssKiB: number;
}

async function summedMemory(pids: number[]): Promise<MemorySample> {
  const samples = await Promise.all(pids.map(async (pid) => {
    try {
      // smaps_rollup: the process's mappings summed by the kernel (one read per process).
      const text = await Deno.readTextFile(`/proc/${pid}/smaps_rollup`);
      const field = (name: string) =>
        Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
      return { pssKiB: field("Pss"), rssKiB: field("Rss") };
    } catch {
      return { pssKiB: 0, rssKiB: 0 }; // exited
    }
  }));
  return {
    pssKiB: samples.reduce((sum, s) => sum + s.pssKiB, 0),
    rssKiB: samples.reduce((sum, s) => sum + s.rssKiB, 0),
  };
}

export interface StormResult {
  label: string;
  pods: number;
  ms: number;
  /** With `sampleMemory`: the highest PSS sum seen, and the RSS sum of the same sample. */
  peak: MemorySample;
  /** With `sampleMemory`: the highest RSS sum seen (another sample, perhaps). */
  peakRssKiB: number;
  /** Pods that got their previous address again; undefined when the program does not keep them. */
  kept?: number;
}

export interface StormProgram {
  label: string;
  /** The argv that runs the plugin once. */
  argv: string[];
  /** Whether the program gives pods their previous address (keepnet-ipam) or not (host-local). */
  keepsIPs: boolean;
}

/**
 * A restart storm: `pods` pods get IPs, every sandbox is deleted as after a reboot, then `pods`
 * concurrent ADDs with new sandbox IDs bring them back. With `sampleMemory`, the memory of every
 * running plugin process of that last wave is read as fast as the kernel gives it (reading 110
 * smaps_rollup files slows the storm by about a fifth: time it in a run without sampling).
 */
export async function storm(
  program: StormProgram,
  pods: number,
  dataDir: string,
  options: { sampleMemory: boolean },
): Promise<StormResult> {
  const slug = program.label.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
  const network = `storm-${slug}-${options.sampleMemory ? "memory" : "time"}`;
  const config = networkConfig(dataDir, network, "10.99.0.0/16");
  const runAll = async (command: string, generation: number, sample = false) => {
    const started = performance.now();
    const children = Array.from({ length: pods }, (_, i) => {
      const process = new Deno.Command(program.argv[0]!, {
        args: program.argv.slice(1),
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
    let peak: MemorySample = { pssKiB: 0, rssKiB: 0 };
    let peakRssKiB = 0;
    let running = sample;
    const sampler = (async () => {
      while (running) {
        const sample = await summedMemory(pids);
        if (sample.pssKiB > peak.pssKiB) peak = sample;
        peakRssKiB = Math.max(peakRssKiB, sample.rssKiB);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const outputs = await Promise.all(children.map((child) => child.output()));
    const ms = performance.now() - started;
    running = false;
    await sampler;
    const failures = outputs.filter((output) => !output.success);
    if (failures.length > 0) {
      throw new Error(
        `${program.label}: ${failures.length} ${command}s failed: ${
          decoder.decode(failures[0]!.stdout)
        }`,
      );
    }
    const addresses = outputs.map((output) => {
      const text = decoder.decode(output.stdout);
      return text ? (JSON.parse(text).ips?.[0]?.address as string) : "";
    });
    return { ms, peak, peakRssKiB, addresses };
  };
  const first = await runAll("ADD", 1);
  await runAll("DEL", 1);
  const again = await runAll("ADD", 2, options.sampleMemory);
  if (new Set(again.addresses).size !== pods) throw new Error("restart storm gave duplicate IPs");
  const kept = again.addresses.filter((address, i) => address === first.addresses[i]).length;
  return {
    label: program.label,
    pods,
    ms: again.ms,
    peak: again.peak,
    peakRssKiB: again.peakRssKiB,
    kept: program.keepsIPs ? kept : undefined,
  };
}

/**
 * The summed PSS of `count` Deno processes that do nothing (each blocks reading stdin), with the
 * given runtime flags: what the runtime alone costs that many processes. Sampled until the sum
 * has not grown for a second.
 */
export async function idleDenoFloor(
  count: number,
  script: string,
  runtimeFlags: string[],
): Promise<MemorySample> {
  const children = Array.from({ length: count }, () =>
    new Deno.Command(Deno.execPath(), {
      args: denoRun(script, runtimeFlags).slice(1),
      env: denoEnv(),
      clearEnv: true,
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn());
  const pids = children.map((child) => child.pid);
  let peak: MemorySample = { pssKiB: 0, rssKiB: 0 };
  let lastGrowth = performance.now();
  const started = performance.now();
  while (performance.now() - lastGrowth < 1000 && performance.now() - started < 60_000) {
    const sample = await summedMemory(pids);
    if (sample.pssKiB > peak.pssKiB * 1.001) lastGrowth = performance.now();
    if (sample.pssKiB > peak.pssKiB) peak = sample;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await Promise.all(children.map(async (child) => {
    await child.stdin.close();
    await child.status;
  }));
  return peak;
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
  const idle = `${dataDir}/idle.js`;
  await Deno.writeTextFile(idle, "Deno.stdin.readSync(new Uint8Array(1));\n");
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
    const stormPrograms: StormProgram[] = [
      { label: "keepnet-ipam", argv: denoRun(bundle), keepsIPs: true },
    ];
    if (await Deno.stat(HOST_LOCAL).then(() => true, () => false)) {
      stormPrograms.push({ label: "Debian host-local", argv: [HOST_LOCAL], keepsIPs: false });
    }
    console.log("");
    console.log(
      `Restart storm: ${pods} concurrent ADDs after the DEL of every sandbox; memory summed ` +
        "over the running plugin processes (PSS: each shared page counts once), sampled in a " +
        "second storm",
    );
    console.log("");
    console.log(
      "| program | total time | peak summed PSS | per process | RSS summed then | pods kept |",
    );
    console.log("|---|---|---|---|---|---|");
    const floorMemory = await idleDenoFloor(pods, idle, PROGRAMS.ipam.runtimeFlags);
    console.log(
      `| ${pods} idle Deno processes (the runtime's floor) | | ${mib(floorMemory.pssKiB)} MiB | ` +
        `${mib(floorMemory.pssKiB / pods)} MiB | ${mib(floorMemory.rssKiB)} MiB | |`,
    );
    for (const program of stormPrograms) {
      const timed = await storm(program, pods, dataDir, { sampleMemory: false });
      const sampled = await storm(program, pods, dataDir, { sampleMemory: true });
      console.log(
        `| ${program.label} | ${timed.ms.toFixed(0)} ms | ${mib(sampled.peak.pssKiB)} MiB | ` +
          `${mib(sampled.peak.pssKiB / pods)} MiB | ${mib(sampled.peak.rssKiB)} MiB | ${
            timed.kept === undefined ? "n/a" : `${timed.kept}/${timed.pods}`
          } |`,
      );
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

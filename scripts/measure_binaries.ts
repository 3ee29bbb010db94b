/**
 * Size, start-up time and memory of the shipped programs, as a Markdown table for release notes.
 * Needs root (keepnet-vtepd runs in a network namespace) and GNU time (/usr/bin/time).
 *
 *   deno run -A scripts/measure_binaries.ts dist/bin/x86_64          DIR/keepnet-{ipam,vtepd}
 *   deno run -A scripts/measure_binaries.ts release -aarch64         DIR/keepnet-ipam-aarch64, ...
 *   deno run -A scripts/measure_binaries.ts --bundles                dist/*.js under `deno run`
 *                                                                    with the binaries' flags
 *   options: --runs N (default 20), --title TEXT
 *
 * Rows: file size; start-up = median wall time of `--version` (keepnet-ipam prints its about
 * text) and its peak RSS; keepnet-ipam's ADD+DEL of a pod against a temporary data directory
 * (median) and the ADD's peak RSS; keepnet-vtepd's RSS 5 s after it started in a namespace of its
 * own with the API server unreachable (its floor: no peers yet).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createNetns } from "../tests/helpers/netns.ts";
import { permissionFlags, type ProgramName, PROGRAMS, ROOT } from "./programs.ts";

const GNU_TIME = "/usr/bin/time";
const decoder = new TextDecoder();

interface Target {
  /** The file whose size is reported (the binary, or the bundle). */
  file: string;
  /** The argv that runs it. */
  argv: string[];
}

interface Invocation {
  args: string[];
  env: Record<string, string>;
  stdin?: string;
}

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
  for (const name of ["HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Wall time in ms, or with `memory` the peak RSS in KiB as GNU time reports it. */
async function once(target: Target, call: Invocation, memory: boolean): Promise<number> {
  const argv = memory ? [GNU_TIME, "-f", "%M", ...target.argv] : target.argv;
  const started = performance.now();
  const child = new Deno.Command(argv[0]!, {
    args: [...argv.slice(1), ...call.args],
    env: { ...baseEnv(), ...call.env },
    clearEnv: true,
    stdin: call.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (call.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(call.stdin));
    await writer.close();
  }
  const output = await child.output();
  const ms = performance.now() - started;
  const stderr = decoder.decode(output.stderr).trim();
  if (!output.success) {
    throw new Error(`${target.argv.join(" ")} ${call.args.join(" ")} failed: ${stderr}`);
  }
  return memory ? Number(stderr.split("\n").at(-1)) : ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const ms = (value: number) => `${value.toFixed(0)} ms`;

/** Median time and the peak RSS of `--version`. */
async function startUp(target: Target, runs: number): Promise<{ ms: number; rssKiB: number }> {
  const call = { args: ["--version"], env: {} };
  await once(target, call, false); // warm the page cache
  const times = [];
  for (let i = 0; i < runs; i++) times.push(await once(target, call, false));
  return { ms: median(times), rssKiB: await once(target, call, true) };
}

/** keepnet-ipam: median ADD+DEL of one pod, and the peak RSS of an ADD. */
async function ipamPodCycle(target: Target, runs: number): Promise<{ ms: number; rssKiB: number }> {
  const dataDir = await Deno.makeTempDir({ prefix: "keepnet-measure-" });
  try {
    const stdin = JSON.stringify({
      cniVersion: "1.0.0",
      name: "measure",
      type: "bridge",
      ipam: { type: "keepnet-ipam", dataDir, ranges: [[{ subnet: "10.244.8.0/24" }]] },
    });
    const call = (command: string, i: number): Invocation => ({
      args: [],
      stdin,
      env: {
        CNI_COMMAND: command,
        CNI_CONTAINERID: `sandbox-${i}`,
        CNI_NETNS: "/var/run/netns/measure",
        CNI_IFNAME: "eth0",
        CNI_PATH: "/opt/cni/bin",
        CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-${i % 5}`,
      },
    });
    const times = [];
    for (let i = 0; i < runs; i++) {
      const add = await once(target, call("ADD", i), false);
      times.push(add + await once(target, call("DEL", i), false));
    }
    const rssKiB = await once(target, call("ADD", runs), true);
    await once(target, call("DEL", runs), false);
    return { ms: median(times), rssKiB };
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

/** keepnet-vtepd's RSS in KiB 5 s after it started in a namespace, the API unreachable. */
async function vtepdIdleRss(target: Target): Promise<number> {
  const work = await Deno.makeTempDir({ prefix: "keepnet-measure-" });
  await using ns = await createNetns("kn-measure-");
  await ns.check(["ip", "link", "add", "m0", "type", "veth", "peer", "name", "m1"]);
  await ns.check(["ip", "addr", "add", "192.0.2.10/24", "dev", "m0"]);
  await ns.check(["ip", "link", "set", "m0", "up"]);
  await Deno.writeTextFile(
    `${work}/net-conf.json`,
    JSON.stringify({ Network: "10.244.0.0/16", Backend: { Type: "vxlan" } }),
  );
  // `ip netns exec` execs the program, so the child's PID is the daemon's.
  const child = ns.spawn([
    ...target.argv,
    "--kube-api-url=http://127.0.0.1:9",
    "--node-name=measure",
    "--iface=m0",
    `--net-config-path=${work}/net-conf.json`,
    `--state-dir=${work}/state`,
    `--subnet-file=${work}/subnet.env`,
  ], { env: baseEnv(), clearEnv: true, stdout: "null", stderr: "null" });
  try {
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
    const rss = status.match(/^VmRSS:\s+(\d+) kB/m);
    if (!rss) throw new Error(`keepnet-vtepd (pid ${child.pid}) is not running`);
    return Number(rss[1]);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(work, { recursive: true });
  }
}

function targets(positionals: string[], bundles: boolean): Record<ProgramName, Target> {
  const entries = (Object.keys(PROGRAMS) as ProgramName[]).map((name) => {
    const program = PROGRAMS[name];
    if (bundles) {
      const file = `${ROOT}/${program.bundle}`;
      const argv = [
        Deno.env.get("DENO") ?? Deno.execPath(),
        "run",
        "--quiet",
        "--no-prompt",
        "--no-config",
        ...permissionFlags(name),
        ...program.runtimeFlags,
        file,
      ];
      return [name, { file, argv }] as const;
    }
    const [dir, suffix = ""] = positionals;
    const file = `${Deno.realPathSync(dir!)}/${program.binary}${suffix}`;
    return [name, { file, argv: [file] }] as const;
  });
  return Object.fromEntries(entries) as Record<ProgramName, Target>;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      bundles: { type: "boolean", default: false },
      runs: { type: "string", default: "20" },
      title: { type: "string" },
    },
  });
  if (!values.bundles && positionals.length === 0) {
    console.error("usage: measure_binaries.ts DIR [-SUFFIX] | --bundles  [--runs N] [--title T]");
    Deno.exit(2);
  }
  try {
    Deno.statSync(GNU_TIME);
  } catch {
    console.error(`${GNU_TIME} is missing: apt-get install time`);
    Deno.exit(1);
  }
  const runs = Number(values.runs);
  const { ipam, vtepd } = targets(positionals, values.bundles);
  const ipamStart = await startUp(ipam, runs);
  const vtepdStart = await startUp(vtepd, runs);
  const pod = await ipamPodCycle(ipam, runs);
  const idle = await vtepdIdleRss(vtepd);
  const kib = (value: number) => mib(value * 1024);

  const title = values.title ??
    `${values.bundles ? "bundles under deno run" : "compiled binaries"}, ${Deno.build.arch}`;
  console.log(`#### ${title}\n`);
  console.log(`| | keepnet-ipam | keepnet-vtepd |`);
  console.log(`| --- | --- | --- |`);
  console.log(
    `| file size | ${mib(Deno.statSync(ipam.file).size)} | ${
      mib(Deno.statSync(vtepd.file).size)
    } |`,
  );
  console.log(
    `| start-up: \`--version\`, median of ${runs} | ${ms(ipamStart.ms)} | ${ms(vtepdStart.ms)} |`,
  );
  console.log(
    `| peak RSS of that start-up | ${kib(ipamStart.rssKiB)} | ${kib(vtepdStart.rssKiB)} |`,
  );
  console.log(`| a pod's ADD+DEL, median of ${runs} | ${ms(pod.ms)} | |`);
  console.log(`| peak RSS of an ADD | ${kib(pod.rssKiB)} | |`);
  console.log(`| RSS 5 s after start (namespace, no API server, no peers) | | ${kib(idle)} |`);
}

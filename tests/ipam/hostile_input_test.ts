/**
 * Hostile and broken input to keepnet-ipam, one row per finding: what is given (network config,
 * environment, damage to the store) and what must come out (the CNI error code and message, or
 * the outcome). Extend the table when a new finding comes in.
 *
 * Rules the rows check: bad input gets a clear error (host-local's code and message where
 * host-local has one), nothing wedges (no IP blocked forever, no hang on a pipe, no memory
 * growth from a file or stdin), nothing outside the store is followed or touched, and STATUS
 * and ADD agree on what is free.
 *
 * Rows marked `bundle` run the shipped bundle with its permission set (Deno refusals, the stdin
 * reader, a hang or memory growth are only real there), under a watchdog that kills it past a
 * time or memory limit instead of letting a regression take the machine down.
 */
import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import type { PluginOutput } from "../../src/cni/skel.ts";
import { spawnProgram } from "../helpers/programs.ts";
import {
  addressesOf,
  type Call,
  callEnv,
  errorOf,
  ipam,
  readStore,
  stdinOf,
  withTempDir,
} from "./harness.ts";

const NET = "hostile";

interface Ctx {
  /** The data directory (ipam.dataDir). */
  dir: string;
  /** The network's store, `<dir>/hostile`. */
  net: string;
  /** A scratch directory outside the store. */
  outside: string;
}

interface ExpectedError {
  code: number;
  msg: string | RegExp | ((ctx: Ctx) => string);
  details?: string;
}

interface Row {
  name: string;
  /** Where the finding comes from. */
  source: string;
  /** Damage or history set up before the call (files in the store, earlier calls). */
  setup?: (ctx: Ctx) => Promise<void>;
  /** The call under test. */
  call: (ctx: Ctx) => Call;
  /** Run the shipped bundle under the watchdog instead of in-process. */
  bundle?: boolean;
  /** The CNI error expected, or a check of the outcome. */
  expect: ExpectedError | ((out: PluginOutput, ctx: Ctx) => Promise<void> | void);
}

/** A network config of the table: a /29 (5 usable addresses, .2–.6) unless told otherwise. */
function conf(ctx: Ctx, ipam: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: "1.1.0",
    name: NET,
    ipam: {
      type: "keepnet-ipam",
      dataDir: ctx.dir,
      ranges: [[{ subnet: "10.77.0.0/29" }]],
      ...ipam,
    },
  };
}

const podArgs = (name: string) => `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${name}`;
const statusEnv = { CNI_COMMAND: "STATUS", CNI_PATH: "/opt/cni/bin" };
const encoder = new TextEncoder();
const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? [...encoder.encode(p)] : p)));
const decodeError = (msg: string): ExpectedError => ({
  code: 6,
  msg: `error unmarshall network config: ${msg}`,
});
const OK_TEXT = '{"cniVersion":"1.1.0","name":"hostile","ipam":{"subnet":"10.77.0.0/29"}}';

async function addPod(ctx: Ctx, name: string, containerID = `c-${name}`, extra = {}) {
  return addressesOf(
    await ipam({ containerID, args: podArgs(name), config: conf(ctx, extra) }),
  );
}

async function fillPods(ctx: Ctx, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) await addPod(ctx, `p${i}`);
}

async function setMtime(path: string, msAgo: number): Promise<void> {
  const time = new Date(Date.now() - msAgo);
  await Deno.utime(path, time, time);
}

const HOUR = 3_600_000;

/** Makes a FIFO (named pipe): opening it for reading waits for a writer. */
async function mkfifo(path: string): Promise<void> {
  const out = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(out.code, 0, "mkfifo");
}

async function statusOf(ctx: Ctx, ipam_: Record<string, unknown> = {}): Promise<PluginOutput> {
  return await ipam({ env: statusEnv, config: conf(ctx, ipam_) });
}

const ROWS: Row[] = [
  // --- The network config on stdin -------------------------------------------------------------
  {
    name: "a truncated config: host-local's 'unexpected end of JSON input'",
    source: "issue 7 item 8",
    call: () => ({ config: OK_TEXT.slice(0, 40) }),
    expect: decodeError("unexpected end of JSON input"),
  },
  {
    name: "a config cut after whitespace",
    source: "issue 7 item 8",
    call: () => ({ config: `${OK_TEXT.slice(0, 21)}  \n` }),
    expect: decodeError("unexpected end of JSON input"),
  },
  {
    name: "a literal cut short at the end is Go's 'invalid character ' ''",
    source: "Go encoding/json, host-local runs",
    call: () => ({ config: '{"name":"hostile","ipam":tru' }),
    expect: decodeError("invalid character ' ' in literal true (expecting 'e')"),
  },
  {
    name: "garbage after the config",
    source: "host-local runs",
    call: () => ({ config: `${OK_TEXT}x` }),
    expect: decodeError("invalid character 'x' after top-level value"),
  },
  {
    name: "a missing comma between members",
    source: "host-local runs",
    call: () => ({ config: '{"name":"hostile" "ipam":{}}' }),
    expect: decodeError(`invalid character '"' after object key:value pair`),
  },
  {
    name: "a byte-order mark before the config (Go does not skip it)",
    source: "host-local runs",
    call: () => ({ config: bytes([0xef, 0xbb, 0xbf], OK_TEXT) }),
    expect: decodeError("invalid character 'ï' looking for beginning of value"),
  },
  {
    name: "a byte that is not UTF-8 where a value starts",
    source: "host-local runs",
    call: () => ({ config: bytes('{"name":', [0xff], "}") }),
    expect: decodeError("invalid character 'ÿ' looking for beginning of value"),
  },
  {
    name: "a network name that is not UTF-8",
    source: "host-local runs",
    call: () => ({ config: bytes('{"cniVersion":"1.1.0","name":"n', [0xff], '"}') }),
    expect: { code: 7, msg: "invalid characters found in network name", details: "n\ufffd" },
  },
  {
    name: "nesting deeper than Go's 10000 levels",
    source: "Go encoding/json maxNestingDepth",
    call: () => ({ config: `{"name":"hostile","x":${"[".repeat(10000)}${"]".repeat(10000)}}` }),
    expect: decodeError("invalid character '[' exceeded max depth"),
  },
  {
    name: "nesting of exactly 10000 levels is accepted (and ignored)",
    source: "Go encoding/json maxNestingDepth",
    call: (ctx) => {
      const config = JSON.stringify(conf(ctx)).slice(0, -1);
      return {
        containerID: "deep",
        config: `${config},"x":${"[".repeat(9999)}${"]".repeat(9999)}}`,
      };
    },
    expect: (out) => assert.deepEqual(addressesOf(out), ["10.77.0.2/29"]),
  },
  {
    name: "stdin larger than 4 MiB fails at once (code 5), without reading on",
    source: "issue 7 bounded reads",
    bundle: true,
    call: (ctx) => {
      const config = JSON.stringify(conf(ctx)).slice(0, -1);
      return { config: `${config},"pad":"${"x".repeat(5 * 1024 * 1024)}"}` };
    },
    expect: {
      code: 5,
      msg: "error reading from stdin: the network config is larger than 4 MiB",
    },
  },
  {
    name: "a network name with a path in it",
    source: "path traversal",
    call: () => ({ config: '{"cniVersion":"1.1.0","name":"../../etc","ipam":{}}' }),
    expect: { code: 7, msg: "invalid characters found in network name", details: "../../etc" },
  },

  // --- Paths in the config ---------------------------------------------------------------------
  {
    name: "resolvConf /dev/zero fails at once like host-local (64 KiB line limit)",
    source: "issue 7 item 5",
    bundle: true,
    call: (ctx) => ({ config: conf(ctx, { resolvConf: "/dev/zero" }) }),
    expect: { code: 999, msg: "bufio.Scanner: token too long" },
  },
  {
    name: "resolvConf larger than 1 MiB (short lines) fails, naming the key",
    source: "issue 7 item 5",
    setup: async (ctx) => {
      await Deno.writeTextFile(`${ctx.outside}/big.conf`, "# padding\n".repeat(110_000));
    },
    call: (ctx) => ({ config: conf(ctx, { resolvConf: `${ctx.outside}/big.conf` }) }),
    expect: {
      code: 999,
      msg: (ctx) => `ipam.resolvConf "${ctx.outside}/big.conf": the file is larger than 1 MiB`,
    },
  },
  {
    name: "resolvConf under /proc: a CNI error naming the key, never Deno's --allow-all advice",
    source: "issue 7 item 8",
    bundle: true,
    call: (ctx) => ({ config: conf(ctx, { resolvConf: "/proc/self/environ" }) }),
    expect: {
      code: 999,
      msg: 'ipam.resolvConf "/proc/self/environ": open /proc/self/environ: not permitted: ' +
        "keepnet-ipam does not use paths under /dev, /proc or /sys",
    },
  },
  {
    name: "dataDir /proc/self: a CNI error naming the key, never Deno's --allow-all advice",
    source: "issue 7 item 8",
    bundle: true,
    call: (ctx) => ({ config: conf(ctx, { dataDir: "/proc/self" }) }),
    expect: {
      code: 999,
      msg: `ipam.dataDir "/proc/self": mkdir /proc/self/${NET}: not permitted: ` +
        "keepnet-ipam does not use paths under /dev, /proc or /sys",
    },
  },
  {
    name: "dataDir under /sys",
    source: "issue 7 item 8",
    bundle: true,
    call: (ctx) => ({ config: conf(ctx, { dataDir: "/sys/kernel" }) }),
    expect: {
      code: 999,
      msg: `ipam.dataDir "/sys/kernel": mkdir /sys/kernel/${NET}: not permitted: ` +
        "keepnet-ipam does not use paths under /dev, /proc or /sys",
    },
  },
  {
    name: "dataDir is a file: Go's 'not a directory', as host-local",
    source: "host-local runs/23",
    setup: async (ctx) => await Deno.writeTextFile(`${ctx.outside}/file`, "x"),
    call: (ctx) => ({ config: conf(ctx, { dataDir: `${ctx.outside}/file` }) }),
    expect: { code: 999, msg: (ctx) => `mkdir ${ctx.outside}/file: not a directory` },
  },

  // --- The environment -------------------------------------------------------------------------
  {
    name: "a container ID too long to be read back is refused on ADD",
    source: "bounded reads",
    call: (ctx) => ({ containerID: "c".repeat(5000), config: conf(ctx) }),
    expect: {
      code: 4,
      msg: "containerID is too long",
      details: "a container ID has at most 4096 characters",
    },
  },
  {
    name: "a pod name with a path in it is refused before any file is touched",
    source: "path traversal",
    call: (ctx) => ({ args: podArgs("../../etc/passwd"), config: conf(ctx) }),
    expect: { code: 999, msg: /^invalid K8S_POD_NAME "\.\.\/\.\.\/etc\/passwd": / },
  },
  {
    name: "a namespace with a slash is refused",
    source: "path traversal",
    call: (ctx) => ({
      args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=a/b;K8S_POD_NAME=web",
      config: conf(ctx),
    }),
    expect: { code: 999, msg: /^invalid K8S_POD_NAMESPACE "a\/b": / },
  },
  {
    name: "an interface name with a path in it",
    source: "CNI library",
    call: (ctx) => ({ ifName: "../eth0", config: conf(ctx) }),
    expect: { code: 4, msg: "interface name contains / or : or whitespace characters" },
  },

  // --- Damaged binding files (issue 7 item 4) --------------------------------------------------
  {
    name: "a garbage binding file does not block its IP: the last pod of a /29 gets it",
    source: "issue 7 item 4",
    setup: async (ctx) => {
      await fillPods(ctx, 4); // .2–.5
      await Deno.writeTextFile(`${ctx.net}/10.77.0.6_default_ghost`, "\u0000garbage{");
      // STATUS and ADD agree: an address is free.
      assert.equal((await statusOf(ctx)).code, 0);
    },
    call: (ctx) => ({ containerID: "c-p5", args: podArgs("p5"), config: conf(ctx) }),
    expect: async (out, ctx) => {
      assert.deepEqual(addressesOf(out), ["10.77.0.6/29"]);
      const store = await readStore(ctx.net);
      assert.equal(store["10.77.0.6_default_ghost"], undefined, "the damaged binding moved");
      assert.equal(JSON.parse(store["10.77.0.6_default_p5"]!).containerID, "c-p5");
      assert.equal(errorOf(await statusOf(ctx)).code, 50);
    },
  },
  {
    name: "a garbage binding file is still its pod's: the pod gets the IP back, as a record",
    source: "issue 7 item 4",
    setup: async (ctx) => {
      await fillPods(ctx, 2); // .2, .3
      await Deno.writeTextFile(`${ctx.net}/10.77.0.5_default_ghost`, '{"ip": broken');
    },
    call: (ctx) => ({ containerID: "c-ghost", args: podArgs("ghost"), config: conf(ctx) }),
    expect: async (out, ctx) => {
      assert.deepEqual(addressesOf(out), ["10.77.0.5/29"]);
      const record = JSON.parse((await readStore(ctx.net))["10.77.0.5_default_ghost"]!);
      assert.equal(record.name, "ghost");
      assert.equal(record.releasedAt, null);
    },
  },
  {
    name: "other pods avoid a garbage binding's IP while anything else is free",
    source: "issue 7 item 4",
    setup: async (ctx) => {
      await Deno.mkdir(ctx.net, { recursive: true });
      await Deno.writeTextFile(`${ctx.net}/10.77.0.2_default_ghost`, "garbage");
    },
    call: (ctx) => ({ containerID: "c-new", args: podArgs("new"), config: conf(ctx) }),
    expect: (out) => assert.deepEqual(addressesOf(out), ["10.77.0.3/29"]),
  },
  {
    name: "bindingTTL ages a garbage binding out by the file's modification time",
    source: "issue 7 item 4",
    setup: async (ctx) => {
      await Deno.mkdir(ctx.net, { recursive: true });
      await Deno.writeTextFile(`${ctx.net}/10.77.0.2_default_old`, "garbage");
      await Deno.writeTextFile(`${ctx.net}/10.77.0.3_default_young`, "garbage");
      await setMtime(`${ctx.net}/10.77.0.2_default_old`, 2 * HOUR);
      await setMtime(`${ctx.net}/10.77.0.3_default_young`, HOUR / 2);
    },
    call: (ctx) => ({
      command: "DEL",
      containerID: "unrelated",
      config: conf(ctx, { bindingTTL: "1h" }),
    }),
    expect: async (out, ctx) => {
      assert.equal(out.code, 0, out.stdout);
      const names = Object.keys(await readStore(ctx.net)).filter((n) => n.includes("_default_"));
      assert.deepEqual(names, ["10.77.0.3_default_young"]);
    },
  },
  {
    name:
      "a DEL that releases a garbage binding's IP starts its clock: bindingTTL counts from then",
    source: "issue 7 item 4",
    setup: async (ctx) => {
      await addPod(ctx, "web", "c-web"); // .2
      // The pod's binding was damaged long ago, while the pod kept running.
      await Deno.writeTextFile(`${ctx.net}/10.77.0.2_default_web`, "garbage");
      await setMtime(`${ctx.net}/10.77.0.2_default_web`, 5 * HOUR);
    },
    call: (ctx) => ({
      command: "DEL",
      containerID: "c-web",
      config: conf(ctx, { bindingTTL: "1h" }),
    }),
    expect: async (out, ctx) => {
      assert.equal(out.code, 0, out.stdout);
      const info = await Deno.stat(`${ctx.net}/10.77.0.2_default_web`);
      assert.ok(Date.now() - info.mtime!.getTime() < 60_000, "the release restarted the clock");
      assert.deepEqual(await addPod(ctx, "web", "c-web-2", { bindingTTL: "1h" }), [
        "10.77.0.2/29",
      ]);
    },
  },
  {
    name: "a record whose releasedAt is not a time counts as damaged and still ages out",
    source: "hostile store",
    setup: async (ctx) => {
      await Deno.mkdir(ctx.net, { recursive: true });
      const path = `${ctx.net}/10.77.0.2_default_old`;
      await Deno.writeTextFile(
        path,
        JSON.stringify({
          ip: "10.77.0.2",
          namespace: "default",
          name: "old",
          uid: null,
          ifname: "eth0",
          containerID: "gone",
          rangeSet: "10.77.0.1-10.77.0.6",
          family: 4,
          boundAt: "2020-01-01T00:00:00.000Z",
          releasedAt: "yesterday",
        }),
      );
      await setMtime(path, 2 * HOUR);
    },
    call: (ctx) => ({
      command: "DEL",
      containerID: "unrelated",
      config: conf(ctx, { bindingTTL: "1h" }),
    }),
    expect: async (_, ctx) => {
      assert.equal((await readStore(ctx.net))["10.77.0.2_default_old"], undefined);
    },
  },
  {
    name: "a binding file larger than 64 KiB is damaged, not read whole: its pod gets the IP",
    source: "issue 7 bounded reads",
    setup: async (ctx) => {
      await Deno.mkdir(ctx.net, { recursive: true });
      await Deno.writeTextFile(`${ctx.net}/10.77.0.4_default_big`, `{${" ".repeat(100 * 1024)}}`);
    },
    call: (ctx) => ({ containerID: "c-big", args: podArgs("big"), config: conf(ctx) }),
    expect: (out) => assert.deepEqual(addressesOf(out), ["10.77.0.4/29"]),
  },
  {
    name: "a binding that is a symlink is never followed nor touched; the pod gets its IP",
    source: "symlinks in the store",
    setup: async (ctx) => {
      await Deno.mkdir(ctx.net, { recursive: true });
      await Deno.writeTextFile(`${ctx.outside}/target`, "precious");
      await setMtime(`${ctx.outside}/target`, 10 * HOUR);
      await Deno.symlink(`${ctx.outside}/target`, `${ctx.net}/10.77.0.3_default_linked`);
      await addPod(ctx, "linked", "c-linked-1");
      await ipam({
        command: "DEL",
        containerID: "c-linked-1",
        args: podArgs("linked"),
        config: conf(ctx),
      });
    },
    call: (ctx) => ({ containerID: "c-linked-2", args: podArgs("linked"), config: conf(ctx) }),
    expect: async (out, ctx) => {
      assert.deepEqual(addressesOf(out), ["10.77.0.3/29"]);
      assert.equal(await Deno.readTextFile(`${ctx.outside}/target`), "precious");
      const target = await Deno.stat(`${ctx.outside}/target`);
      assert.ok(Date.now() - target.mtime!.getTime() > 9 * HOUR, "the target's mtime is kept");
      const binding = await Deno.lstat(`${ctx.net}/10.77.0.3_default_linked`);
      assert.ok(binding.isFile, "the symlink was replaced by a record");
    },
  },
  {
    name: "a binding that is a FIFO does not hang a DEL that reads every binding",
    source: "hostile store",
    bundle: true,
    setup: async (ctx) => {
      await addPod(ctx, "web", "c-web");
      await mkfifo(`${ctx.net}/10.77.0.5_default_piped`);
    },
    // Without the pod's name, DEL reads every binding to find the container's.
    call: (ctx) => ({ command: "DEL", containerID: "c-web", config: conf(ctx) }),
    expect: async (out, ctx) => {
      assert.equal(out.code, 0, out.stdout);
      const record = JSON.parse((await readStore(ctx.net))["10.77.0.2_default_web"]!);
      assert.match(record.releasedAt, /^\d{4}-/);
    },
  },

  // --- Damaged reservations and cursors --------------------------------------------------------
  {
    name: "a reservation that is a FIFO does not hang a DEL (which reads every reservation)",
    source: "hostile store",
    bundle: true,
    setup: async (ctx) => {
      await addPod(ctx, "web", "c-web");
      await mkfifo(`${ctx.net}/10.77.0.4`);
    },
    call: (ctx) => ({ command: "DEL", containerID: "c-web", config: conf(ctx) }),
    expect: async (out, ctx) => {
      assert.equal(out.code, 0, out.stdout);
      assert.equal((await readStore(ctx.net))["10.77.0.2"], undefined, "released");
    },
  },
  {
    name: "a reservation symlinked to /dev/zero is neither read nor followed; its IP stays taken",
    source: "symlinks in the store",
    bundle: true,
    setup: async (ctx) => {
      await Deno.mkdir(ctx.net, { recursive: true });
      await Deno.symlink("/dev/zero", `${ctx.net}/10.77.0.2`);
    },
    call: (ctx) => ({ containerID: "c1", config: conf(ctx) }),
    expect: (out) => assert.deepEqual(addressesOf(out), ["10.77.0.3/29"]),
  },
  {
    name: "a huge reservation file keeps its IP taken and costs no memory",
    source: "issue 7 bounded reads",
    bundle: true,
    setup: async (ctx) => {
      await Deno.mkdir(ctx.net, { recursive: true });
      const file = await Deno.open(`${ctx.net}/10.77.0.2`, { write: true, create: true });
      await file.truncate(2 * 1024 * 1024 * 1024); // sparse: 2 GiB of zeros
      file.close();
    },
    call: (ctx) => ({ command: "DEL", containerID: "c1", config: conf(ctx) }),
    expect: async (out, ctx) => {
      assert.equal(out.code, 0, out.stdout);
      assert.ok((await Deno.stat(`${ctx.net}/10.77.0.2`)).size > 0, "left as it was");
    },
  },
  {
    name: "last_reserved_ip.0 as a FIFO: the ADD logs it and allocates from the start",
    source: "hostile store",
    bundle: true,
    setup: async (ctx) => {
      await Deno.mkdir(ctx.net, { recursive: true });
      await mkfifo(`${ctx.net}/last_reserved_ip.0`);
    },
    call: (ctx) => ({ containerID: "c1", config: conf(ctx) }),
    expect: (out) => {
      assert.deepEqual(addressesOf(out), ["10.77.0.2/29"]);
      assert.match(out.stderr, /Error retrieving last reserved ip: .*not a regular file/);
    },
  },
  {
    name: "a directory named like an IP: ADD skips it and STATUS counts it taken",
    source: "hostile store",
    setup: async (ctx) => {
      await fillPods(ctx, 4); // .2–.5
      await Deno.mkdir(`${ctx.net}/10.77.0.6`);
    },
    call: (ctx) => ({ env: statusEnv, config: conf(ctx) }),
    expect: async (out, ctx) => {
      assert.deepEqual(errorOf(out), {
        code: 50,
        msg: "no IP addresses available in range set: 10.77.0.1-10.77.0.6",
      });
      const add = errorOf(await ipam({ containerID: "x", config: conf(ctx) }));
      assert.match(add.msg, /no IP addresses available in range set/);
    },
  },
  {
    name: "a temporary-file name taken by a directory does not stop the store",
    source: "hostile store",
    setup: async (ctx) => {
      await Deno.mkdir(`${ctx.net}/.keepnet-tmp-1-x/sub`, { recursive: true });
    },
    call: (ctx) => ({ containerID: "c1", config: conf(ctx) }),
    expect: (out) => assert.deepEqual(addressesOf(out), ["10.77.0.2/29"]),
  },

  // --- STATUS (issue 7 item 7) -----------------------------------------------------------------
  {
    name: "dual-stack with the IPv4 set full: STATUS fails (code 50) as every ADD would",
    source: "issue 7 item 7",
    setup: async (ctx) => {
      const ipam_ = { ranges: [[{ subnet: "10.77.0.0/30" }], [{ subnet: "fd00:77::/64" }]] };
      await ipam({ containerID: "only", args: podArgs("only"), config: conf(ctx, ipam_) });
    },
    call: (ctx) => ({
      env: statusEnv,
      config: conf(ctx, { ranges: [[{ subnet: "10.77.0.0/30" }], [{ subnet: "fd00:77::/64" }]] }),
    }),
    expect: { code: 50, msg: "no IP addresses available in range set: 10.77.0.1-10.77.0.2" },
  },
];

/** A bundle run may take this long and grow this large before the watchdog kills it. */
const WATCHDOG_MS = 20_000;
const WATCHDOG_RSS_KIB = 512 * 1024;

async function rssKiB(pid: number): Promise<number> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Runs the bundle; kills it and fails when it runs too long or grows too large. */
async function bundleUnderWatchdog(call: Call): Promise<PluginOutput> {
  const child = spawnProgram("ipam", { env: callEnv(call) });
  const stdin = stdinOf(call);
  const writer = child.stdin.getWriter();
  // The program may stop reading early (a limit): a broken pipe is its answer, not an error.
  await writer.write(typeof stdin === "string" ? encoder.encode(stdin) : stdin).catch(() => {});
  await writer.close().catch(() => {});
  let verdict = "";
  let done = false;
  const started = Date.now();
  const watchdog = (async () => {
    while (!done) {
      const rss = await rssKiB(child.pid);
      if (rss > WATCHDOG_RSS_KIB) verdict = `grew to ${rss} KiB`;
      else if (Date.now() - started > WATCHDOG_MS) verdict = `ran over ${WATCHDOG_MS} ms`;
      if (verdict) {
        try {
          child.kill("SIGKILL");
        } catch {
          // exited meanwhile
        }
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const output = await child.output();
  done = true;
  await watchdog;
  assert.equal(verdict, "", `the plugin ${verdict}`);
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

for (const row of ROWS) {
  Deno.test(`hostile input: ${row.name} (${row.source})`, async () => {
    await withTempDir(async (dir) => {
      const outside = await Deno.makeTempDir({ prefix: "keepnet-hostile-outside-" });
      try {
        const ctx: Ctx = { dir, net: `${dir}/${NET}`, outside };
        await row.setup?.(ctx);
        const call = row.call(ctx);
        const out = row.bundle ? await bundleUnderWatchdog(call) : await ipam(call);
        if (typeof row.expect === "function") {
          await row.expect(out, ctx);
          return;
        }
        const error = errorOf(out);
        const { code, msg, details } = row.expect;
        assert.equal(error.code, code, out.stdout);
        if (msg instanceof RegExp) assert.match(error.msg, msg);
        else assert.equal(error.msg, typeof msg === "function" ? msg(ctx) : msg);
        if (details !== undefined) assert.equal(error.details, details);
        assert.doesNotMatch(out.stdout, /--allow-all|run again with/);
      } finally {
        await Deno.remove(outside, { recursive: true });
      }
    });
  });
}

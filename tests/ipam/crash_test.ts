/**
 * Crash safety: many ADDs of the real bundle are killed with SIGKILL at random moments; the
 * store must still be consistent (every file complete or absent), and the next calls must work
 * and clear the temporary files the killed writers left.
 *
 * The test proves that it crashed writers mid-operation. Half of the ADDs are killed after a
 * random delay spread over the time an ADD really takes here under the same load (measured
 * first, so a slow or emulated machine is covered alike); the other half are killed at a random
 * moment while they hold the store's lock, which the kernel shows in /proc/locks: between the
 * lock and the end of the ADD every write happens, and most of an ADD's time is the runtime
 * starting, so random delays alone would rarely land there. The test counts the ADDs killed
 * before they finished, those killed holding the lock, and those whose half-done writes are
 * left (a temporary file, or a reservation without its binding), and requires a minimum of
 * each. It assumes nothing about what exists before any ADD got far.
 */
import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { TEMP_PREFIX } from "../../src/fs/atomic.ts";
import { parseIP } from "../../src/net/ip.ts";
import { spawnProgram } from "../helpers/programs.ts";
import { addressesOf, callEnv, ipamBundle, withTempDir } from "./harness.ts";

const RUNS = 200;
const PARALLEL = 8;
const PODS = 40;
/** Minimums: ADDs killed before they finished, killed holding the lock, half-done writes left. */
const MIN_KILLED = RUNS / 4;
const MIN_KILLED_HOLDING_LOCK = RUNS / 10;
const MIN_HALF_DONE = 1;

/** The pids holding a flock(2) lock now (the store lock is the only one the plugin takes). */
async function flockHolders(): Promise<Set<number>> {
  const holders = new Set<number>();
  for (const line of (await Deno.readTextFile("/proc/locks")).split("\n")) {
    // "1: FLOCK  ADVISORY  WRITE 1234 fe:00:5678 0 EOF"; a waiter has "->" after the number.
    const fields = line.trim().split(/\s+/);
    if (fields[1] === "FLOCK") holders.add(Number(fields[4]));
  }
  return holders;
}

/** Watches /proc/locks for the processes that asked, until each holds a lock or ends. */
class LockWatcher {
  #waiting = new Map<number, (holding: boolean) => void>();
  #running = false;

  /** Resolves true once `pid` holds a flock, false when `ended` resolves first. */
  holding(pid: number, ended: Promise<unknown>): Promise<boolean> {
    const seen = new Promise<boolean>((resolve) => this.#waiting.set(pid, resolve));
    ended.then(() => this.#settle(pid, false));
    if (!this.#running) this.#run();
    return seen;
  }

  #settle(pid: number, holding: boolean): void {
    this.#waiting.get(pid)?.(holding);
    this.#waiting.delete(pid);
  }

  async #run(): Promise<void> {
    this.#running = true;
    while (this.#waiting.size > 0) {
      const holders = await flockHolders();
      for (const pid of [...this.#waiting.keys()]) if (holders.has(pid)) this.#settle(pid, true);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    this.#running = false;
  }
}

interface Outcome {
  index: number;
  pid: number;
  /** Ended by our SIGKILL, not by finishing. */
  killed: boolean;
  /** The kill was sent while /proc/locks showed the process holding the store lock. */
  killedHoldingLock: boolean;
}

function addEnv(index: number): Record<string, string> {
  return callEnv({
    containerID: `crash-${index}`,
    args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=crash;K8S_POD_NAME=pod-${index % PODS}`,
    config: {},
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type KillPlan = { afterMs: number } | { holdingLock: LockWatcher } | "never";

/** Starts an ADD and kills it as planned, unless it finished first. */
async function add(config: unknown, index: number, plan: KillPlan): Promise<Outcome> {
  const child = spawnProgram("ipam", { env: addEnv(index) });
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(config))).catch(() => {});
  await writer.close().catch(() => {});
  const ended = child.status;
  let killedHoldingLock = false;
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  };
  if (plan !== "never") {
    if ("afterMs" in plan) {
      await Promise.race([ended, sleep(plan.afterMs)]);
      kill();
    } else if (await plan.holdingLock.holding(child.pid, ended)) {
      // Somewhere inside the locked part: the lock is held for a few ms.
      await sleep(Math.random() * 12);
      killedHoldingLock = (await flockHolders()).has(child.pid);
      kill();
    }
  }
  const status = await child.output();
  const killed = status.signal === "SIGKILL";
  return { index, pid: child.pid, killed, killedHoldingLock: killed && killedHoldingLock };
}

/** How long an ADD takes here with PARALLEL of them running at once (median, ms). */
async function measureAddUnderLoad(config: unknown, firstIndex: number): Promise<number> {
  const durations = await Promise.all(
    Array.from({ length: PARALLEL }, async (_, k) => {
      const started = performance.now();
      const outcome = await add(config, firstIndex + k, "never");
      assert.equal(outcome.killed, false);
      return performance.now() - started;
    }),
  );
  durations.sort((a, b) => a - b);
  return durations[Math.floor(durations.length / 2)]!;
}

/** The names in a directory; none when it does not exist (no ADD got that far). */
async function namesIn(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

Deno.test("SIGKILL at random points of 200 ADDs leaves a consistent store", async () => {
  await withTempDir(async (dir) => {
    const config = {
      cniVersion: "1.0.0",
      name: "crash",
      ipam: { dataDir: dir, ranges: [[{ subnet: "10.66.0.0/24" }], [{ subnet: "fd00:66::/64" }]] },
    };
    // Calibrate in a throw-away network so the store under test starts empty.
    const addMs = await measureAddUnderLoad({ ...config, name: "calibrate" }, 10_000);
    const watcher = new LockWatcher();
    const outcomes: Outcome[] = [];
    for (let start = 0; start < RUNS; start += PARALLEL) {
      const batch = [];
      for (let i = start; i < Math.min(RUNS, start + PARALLEL); i++) {
        const plan: KillPlan = i % 2 === 0
          ? { afterMs: Math.random() * addMs * 1.1 }
          : { holdingLock: watcher };
        batch.push(add(config, i, plan));
      }
      outcomes.push(...await Promise.all(batch));
    }

    const net = `${dir}/crash`;
    const names = await namesIn(net);
    const killed = outcomes.filter((o) => o.killed);
    const killedIDs = new Set(killed.map((o) => `crash-${o.index}`));
    const killedPids = new Set(killed.map((o) => o.pid));
    const halfDone = new Set<string>();
    const holders = new Map<string, string>();
    const boundIPs = new Map<string, string>();
    const boundContainers = new Set<string>();
    for (const name of names) {
      if (name === "lock") continue;
      if (name.startsWith(TEMP_PREFIX)) {
        const pid = Number(name.slice(TEMP_PREFIX.length).split("-")[0]);
        assert.ok(killedPids.has(pid), `temporary file ${name} of a process that finished`);
        halfDone.add(`pid ${pid}`);
        continue;
      }
      const content = await Deno.readTextFile(`${net}/${name}`);
      if (name.startsWith("last_reserved_ip.")) {
        assert.ok(parseIP(content), `${name} holds "${content}"`);
      } else if (parseIP(name)) {
        assert.match(content, /^crash-\d+\r\neth0$/, `reservation ${name}`);
        holders.set(name, content);
      } else {
        assert.match(name, /^[0-9a-f.:]+_crash_pod-\d+$/, `unexpected file ${name}`);
        const record = JSON.parse(content);
        assert.equal(record.namespace, "crash");
        const ip = name.slice(0, name.indexOf("_"));
        assert.equal(boundIPs.get(ip), undefined, `two bindings for ${ip}`);
        boundIPs.set(ip, record.name);
        boundContainers.add(record.containerID);
      }
    }
    // One attachment never holds two addresses of one family.
    const perHolder = new Map<string, Set<number>>();
    for (const [ip, holder] of holders) {
      const families = perHolder.get(holder) ?? new Set<number>();
      const family = parseIP(ip)!.family;
      assert.ok(!families.has(family), `${holder} holds two IPv${family} addresses`);
      families.add(family);
      perHolder.set(holder, families);
      // A killed ADD's reservation without its binding: killed between the two writes.
      const id = holder.split("\r\n")[0]!;
      if (killedIDs.has(id) && !boundContainers.has(id)) halfDone.add(id);
    }

    // The kills really hit ADDs mid-operation.
    const holdingLock = killed.filter((o) => o.killedHoldingLock).length;
    const summary = `${killed.length}/${RUNS} ADDs killed before finishing, ${holdingLock} of ` +
      `them holding the lock, ${halfDone.size} with half-done writes left (an ADD takes ` +
      `${addMs.toFixed(0)} ms here)`;
    assert.ok(killed.length >= MIN_KILLED, summary);
    assert.ok(holdingLock >= MIN_KILLED_HOLDING_LOCK, summary);
    assert.ok(halfDone.size >= MIN_HALF_DONE, summary);
    assert.ok(killed.length < RUNS, `${summary}: none finished`);

    // The store still works: an ADD and a DEL succeed, and no temporary file is left.
    const after = await ipamBundle({
      containerID: "after-crash",
      args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=crash;K8S_POD_NAME=pod-0",
      config,
    });
    assert.equal(addressesOf(after).length, 2);
    assert.equal(
      (await ipamBundle({ command: "DEL", containerID: "after-crash", config })).code,
      0,
    );
    const leftovers = (await namesIn(net)).filter((name) => name.startsWith(TEMP_PREFIX));
    assert.deepEqual(leftovers, []);
  });
});

/**
 * Crash safety: many ADDs of the real bundle are killed with SIGKILL at random moments; the
 * store must still be consistent (every file complete or absent), and the next calls must work
 * and clear the temporary files the killed writers left.
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

/** Starts an ADD and kills it after a random delay; tells whether it was killed. */
async function killedAdd(config: unknown, index: number): Promise<boolean> {
  const pod = `pod-${index % PODS}`;
  const env = callEnv({
    containerID: `crash-${index}`,
    args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=crash;K8S_POD_NAME=${pod}`,
    config,
  });
  const child = spawnProgram("ipam", { env });
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(config)));
  await writer.close().catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 90));
  try {
    child.kill("SIGKILL");
  } catch {
    // already exited
  }
  const status = await child.output();
  return status.signal === "SIGKILL";
}

Deno.test("SIGKILL at random points of 200 ADDs leaves a consistent store", async () => {
  await withTempDir(async (dir) => {
    const config = {
      cniVersion: "1.0.0",
      name: "crash",
      ipam: { dataDir: dir, ranges: [[{ subnet: "10.66.0.0/24" }], [{ subnet: "fd00:66::/64" }]] },
    };
    for (let start = 0; start < RUNS; start += PARALLEL) {
      const batch = [];
      for (let i = start; i < Math.min(RUNS, start + PARALLEL); i++) {
        batch.push(killedAdd(config, i));
      }
      await Promise.all(batch);
    }

    const net = `${dir}/crash`;
    const names = (await Array.fromAsync(Deno.readDir(net))).map((e) => e.name);
    const holders = new Map<string, string>();
    const boundIPs = new Map<string, string>();
    for (const name of names) {
      if (name === "lock" || name.startsWith(TEMP_PREFIX)) continue;
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
    }

    // The store still works: an ADD and a DEL succeed, and no temporary file is left.
    const add = await ipamBundle({
      containerID: "after-crash",
      args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=crash;K8S_POD_NAME=pod-0",
      config,
    });
    assert.equal(addressesOf(add).length, 2);
    assert.equal(
      (await ipamBundle({ command: "DEL", containerID: "after-crash", config })).code,
      0,
    );
    const leftovers = (await Array.fromAsync(Deno.readDir(net))).filter((e) =>
      e.name.startsWith(TEMP_PREFIX)
    );
    assert.deepEqual(leftovers, []);
  });
});

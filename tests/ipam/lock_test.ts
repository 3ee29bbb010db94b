import assert from "node:assert/strict";
import { acquireLock } from "../../src/ipam/lock.ts";
import { addressesOf, callEnv, hasHostLocal, HOST_LOCAL, withTempDir } from "./harness.ts";
import { spawnProgram } from "../helpers/programs.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("LK-1 an existing regular file can be locked and unlocked", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "x");
    const lock = await acquireLock(`${dir}/file`);
    lock.release();
    const again = await acquireLock(`${dir}/file`);
    again.release();
    assert.equal(await Deno.readTextFile(`${dir}/file`), "x");
  });
});

Deno.test("LK-2 locking a directory locks <dir>/lock (created, mode 0750)", async () => {
  await withTempDir(async (dir) => {
    const lock = await acquireLock(dir);
    assert.equal((await Deno.stat(`${dir}/lock`)).mode! & 0o777, 0o750);
    lock.release();
  });
});

Deno.test("the lock excludes a second holder in this process until it is released", async () => {
  await withTempDir(async (dir) => {
    const first = await acquireLock(dir);
    let acquired = false;
    const second = acquireLock(dir).then((lock) => {
      acquired = true;
      return lock;
    });
    await sleep(200);
    assert.equal(acquired, false);
    first.release();
    (await second).release();
    assert.equal(acquired, true);
  });
});

async function runWithStdin(command: string[], stdin: string, env: Record<string, string>) {
  const child = new Deno.Command(command[0]!, {
    args: command.slice(1),
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  return child;
}

Deno.test({
  name: "S-15 Go's host-local waits while keepnet-ipam holds the store lock",
  ignore: !hasHostLocal,
  fn: async () => {
    await withTempDir(async (dir) => {
      const config = {
        cniVersion: "1.0.0",
        name: "lk",
        ipam: { dataDir: dir, subnet: "10.10.0.0/29" },
      };
      await Deno.mkdir(`${dir}/lk`);
      const lock = await acquireLock(`${dir}/lk`);
      const started = performance.now();
      const child = await runWithStdin([HOST_LOCAL], JSON.stringify(config), callEnv({ config }));
      let finishedAt = 0;
      const done = child.output().then((output) => {
        finishedAt = performance.now();
        return output;
      });
      await sleep(700);
      assert.equal(finishedAt, 0, "host-local finished while the lock was held");
      lock.release();
      const output = await done;
      assert.equal(output.code, 0, new TextDecoder().decode(output.stdout));
      assert.ok(finishedAt - started >= 700);
    });
  },
});

Deno.test("S-15 keepnet-ipam (the bundle) waits while util-linux flock holds the lock", async () => {
  await withTempDir(async (dir) => {
    const config = {
      cniVersion: "1.0.0",
      name: "lk",
      ipam: { dataDir: dir, subnet: "10.10.0.0/29" },
    };
    await Deno.mkdir(`${dir}/lk`);
    await Deno.writeTextFile(`${dir}/lk/lock`, "");
    const holder = new Deno.Command("flock", { args: [`${dir}/lk/lock`, "sleep", "1.2"] }).spawn();
    try {
      await sleep(150);
      const started = performance.now();
      const child = spawnProgram("ipam", { env: callEnv({ config }) });
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(JSON.stringify(config)));
      await writer.close();
      const output = await child.output();
      const elapsed = performance.now() - started;
      assert.deepEqual(
        addressesOf({
          code: output.code,
          stdout: new TextDecoder().decode(output.stdout),
          stderr: "",
        }),
        ["10.10.0.2/29"],
      );
      assert.ok(elapsed >= 800, `ADD took only ${elapsed} ms`);
    } finally {
      await holder.status;
    }
  });
});

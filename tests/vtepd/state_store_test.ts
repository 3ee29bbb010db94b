/**
 * The state file is written through: writes one at a time, the newest state always last,
 * failures retried and shown in the store's health, and a real write atomic and durable.
 */
import assert from "node:assert/strict";
import { loadState, statePath, type VtepState } from "../../src/vtepd/state.ts";
import { StateStore } from "../../src/vtepd/state_store.ts";
import { recordingLogger } from "../kube/helpers.ts";

function state(n: number): VtepState {
  return {
    nodeName: "edge-1",
    vtepMAC: "0e:11:22:33:44:55",
    vni: 1,
    lease: { podCIDR: "10.244.1.0/24", publicIP: "192.168.1.1" },
    peers: [],
    resourceVersion: String(n),
    updatedAt: "2026-12-01T00:00:00.000Z",
  };
}

/** A disk whose writes finish when the test says so. */
function slowDisk() {
  const written: string[] = [];
  const started: string[] = [];
  let finish: (() => void)[] = [];
  let fail: ((error: Error) => void)[] = [];
  return {
    written,
    started,
    write(_dir: string, saved: VtepState): Promise<void> {
      started.push(saved.resourceVersion!);
      return new Promise<void>((resolve, reject) => {
        finish.push(() => {
          written.push(saved.resourceVersion!);
          resolve();
        });
        fail.push(reject);
      });
    },
    completeAll(): void {
      const pending = finish;
      finish = [];
      fail = [];
      for (const done of pending) done();
    },
    failAll(message: string): void {
      const pending = fail;
      finish = [];
      fail = [];
      for (const reject of pending) reject(new Error(message));
    },
    get inFlight(): number {
      return finish.length;
    },
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("state store: one write at a time, and the newest state is the last one written", async () => {
  const disk = slowDisk();
  const store = new StateStore({ stateDir: "/x", log: recordingLogger(), write: disk.write });
  const first = store.save(state(1));
  const second = store.save(state(2));
  const third = store.save(state(3));
  await tick();
  assert.equal(disk.inFlight, 1, "never two writes at once");
  assert.deepEqual(disk.started, ["1"]);
  disk.completeAll();
  await first;
  await tick();
  // The two saves that came during the first write are one write of the newest state.
  assert.deepEqual(disk.started, ["1", "3"]);
  disk.completeAll();
  await Promise.all([second, third]);
  assert.deepEqual(disk.written, ["1", "3"]);
  assert.equal(store.pending, false);
  assert.equal(store.health.writes, 2);
  await store.close();
});

Deno.test("state store: a failed write is retried, logged once, and shown in health until it works", async () => {
  const disk = slowDisk();
  const log = recordingLogger();
  const store = new StateStore({
    stateDir: "/x",
    log,
    write: disk.write,
    retry: { initialMs: 5, maxMs: 5 },
  });
  let saved = false;
  store.save(state(7)).then(() => saved = true);
  for (let attempt = 0; attempt < 3; attempt++) {
    while (disk.inFlight === 0) await tick();
    disk.failAll("EROFS: read-only file system");
  }
  await tick();
  assert.equal(saved, false);
  assert.equal(store.health.failures, 3);
  assert.equal(store.health.lastError, "EROFS: read-only file system");
  assert.ok(store.health.failingSince instanceof Date);
  assert.equal(log.lines.filter((line) => line.startsWith("ERROR")).length, 1, "logged once");
  while (disk.inFlight === 0) await tick();
  disk.completeAll();
  while (!saved) await tick();
  assert.deepEqual(disk.written, ["7"]);
  assert.equal(store.health.lastError, undefined);
  assert.equal(store.health.failingSince, undefined);
  assert.ok(log.lines.some((line) => /written again/.test(line)));
  await store.close();
});

Deno.test("state store: close() ends the retries and releases whoever waits", async () => {
  const store = new StateStore({
    stateDir: "/x",
    log: recordingLogger(),
    write: () => Promise.reject(new Error("EIO")),
    retry: { initialMs: 10_000, maxMs: 10_000 },
  });
  const saved = store.save(state(1));
  await tick();
  await store.close();
  await saved;
  assert.equal(store.pending, true, "the state never reached the disk");
});

Deno.test("state store: the real write replaces the file atomically and leaves nothing else", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new StateStore({ stateDir: `${dir}/keepnet`, log: recordingLogger() });
    await Promise.all([store.save(state(1)), store.save(state(2)), store.save(state(3))]);
    const loaded = await loadState(`${dir}/keepnet`);
    assert.ok(loaded.kind === "loaded");
    assert.equal(loaded.state.resourceVersion, "3");
    const files = (await Array.fromAsync(Deno.readDir(`${dir}/keepnet`))).map((e) => e.name);
    assert.deepEqual(files, ["vtepd-state.json"]);
    assert.equal((await Deno.stat(statePath(`${dir}/keepnet`))).mode! & 0o777, 0o644);
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

import assert from "node:assert/strict";
import { Backoff, sleep } from "../../src/kube/backoff.ts";

Deno.test("backoff grows by its factor up to the cap, and starts over after reset", () => {
  const backoff = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => backoff.next()), [100, 200, 400, 800, 1000, 1000]);
  assert.equal(backoff.attempts, 6);
  backoff.reset();
  assert.equal(backoff.next(), 100);
});

Deno.test("backoff jitter spreads delays within ±jitter/2 and never above the cap", () => {
  const low = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.2, random: () => 0 });
  const high = new Backoff({ initialMs: 1000, maxMs: 10_000, jitter: 0.2, random: () => 0.999 });
  assert.equal(low.next(), 900);
  assert.equal(high.next(), 1100);
  const capped = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.2, random: () => 0.999 });
  assert.equal(capped.next(), 1000);
  assert.throws(() => new Backoff({ initialMs: 0, maxMs: 10 }), RangeError);
  assert.throws(() => new Backoff({ initialMs: 10, maxMs: 5 }), RangeError);
});

Deno.test("sleep waits, and an abort ends it early", async () => {
  const started = Date.now();
  assert.equal(await sleep(50), true);
  assert.ok(Date.now() - started >= 45);
  const controller = new AbortController();
  const pending = sleep(10_000, controller.signal);
  controller.abort();
  assert.equal(await pending, false);
  assert.equal(await sleep(10_000, controller.signal), false, "already aborted");
});

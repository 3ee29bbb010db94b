import assert from "node:assert/strict";
import { parseGoDuration } from "../../src/ipam/duration.ts";

Deno.test("Go durations: units, fractions, combinations", () => {
  assert.equal(parseGoDuration("168h"), 168 * 3_600_000);
  assert.equal(parseGoDuration("1h30m"), 5_400_000);
  assert.equal(parseGoDuration("1.5h"), 5_400_000);
  assert.equal(parseGoDuration("90s"), 90_000);
  assert.equal(parseGoDuration("250ms"), 250);
  assert.equal(parseGoDuration("0"), 0);
  assert.equal(parseGoDuration("-2m"), -120_000);
});

Deno.test("Go duration errors", () => {
  assert.throws(() => parseGoDuration(""), { message: 'time: invalid duration ""' });
  assert.throws(() => parseGoDuration("abc"), { message: 'time: invalid duration "abc"' });
  assert.throws(() => parseGoDuration("7d"), {
    message: 'time: unknown unit "d" in duration "7d"',
  });
  assert.throws(() => parseGoDuration("10"), { message: 'time: missing unit in duration "10"' });
});

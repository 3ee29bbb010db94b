import assert from "node:assert/strict";
import { createNetns } from "../helpers/netns.ts";
import { ROOT } from "../helpers/programs.ts";
import { denoScript } from "./harness.ts";
import type { ChurnReport } from "./churn.ts";

const CHURN = `${ROOT}/tests/netlink/churn.ts`;
/** A leak of even one nl_addr (32 bytes) per round is four times this. */
const MAX_HEAP_GROWTH_PER_ROUND = 8;
const MAX_RSS_GROWTH = 1024 * 1024;

Deno.test("thousands of netlink calls leave no libnl objects behind", async () => {
  await using ns = await createNetns("kn-nl-");
  const output = await ns.check(denoScript(CHURN, ["1500", "1500", "2"], ["--expose-gc"]));
  const report = JSON.parse(output) as ChurnReport;
  console.log(
    `churn: ${report.rounds} rounds (${report.operations} calls) per interval, ` +
      `C heap growth ${report.heapGrowthBytes} bytes, RSS growth ${report.rssGrowthBytes} bytes, ` +
      `${report.controlLeaks} leaked nl_addr = ${report.controlGrowthBytes} bytes, ` +
      `${report.msPerRound.toFixed(3)} ms per round`,
  );

  const limit = MAX_HEAP_GROWTH_PER_ROUND * report.rounds;
  // The meter must see a leak this small, or the check below would prove nothing.
  assert.ok(
    report.controlGrowthBytes > limit,
    `control leak of ${report.controlLeaks} nl_addr grew the heap by only ${report.controlGrowthBytes}`,
  );
  // A leak grows the heap in every interval; V8 settling in may bump one of them once.
  assert.ok(
    Math.min(...report.heapGrowthBytes) < limit,
    `C heap grew by ${report.heapGrowthBytes} bytes over intervals of ${report.rounds} rounds`,
  );
  // Under qemu-user (scripts/test_arm64.sh on x86_64) RSS is qemu's, and grows with its cache of
  // translated code as V8 compiles; only the C heap speaks for libnl there.
  if (Deno.env.get("KEEPNET_EMULATED") === undefined) {
    assert.ok(
      Math.min(...report.rssGrowthBytes) < MAX_RSS_GROWTH,
      `RSS grew by ${report.rssGrowthBytes} bytes over intervals of ${report.rounds} rounds`,
    );
  }
});

/**
 * Prints the median and maximum time of a resync check, run where the daemon would run it:
 * inside the current network namespace, tools spawned directly (the kernel test starts this
 * with `ip netns exec`, whose own cost per command would otherwise be counted).
 *
 * Usage: deno run -A measure_check.ts '<TrafficConfig as JSON, CIDRs as text>' <passes>
 *
 * @module
 */
import { parseCIDR } from "../../src/net/cidr.ts";
import { loadIPv6 } from "../../src/net/ip.ts";
import type { FamilyLease, TrafficConfig } from "../../src/traffic/config.ts";
import { TrafficRules } from "../../src/traffic/traffic_rules.ts";

await loadIPv6();
const input = JSON.parse(Deno.args[0]!);
const passes = Number(Deno.args[1] ?? "15");
const lease = (pair?: { network: string; subnet: string }): FamilyLease | undefined =>
  pair && { network: parseCIDR(pair.network)!, subnet: parseCIDR(pair.subnet)! };
const config: TrafficConfig = { ...input, ipv4: lease(input.ipv4), ipv6: lease(input.ipv6) };
const rules = new TrafficRules({ ...config, resyncSeconds: 3600 });
const started = await rules.start();
if (started.error) throw started.error;
const times: number[] = [];
for (let i = 0; i < passes; i++) {
  const report = await rules.resyncNow();
  if (report.error || report.actions.length > 0) {
    throw new Error(`a steady check did something: ${JSON.stringify(report)}`);
  }
  times.push(rules.stats.lastCheckMs!);
}
await rules.stop();
times.sort((a, b) => a - b);
console.log(JSON.stringify({ median: times[Math.floor(times.length / 2)], max: times.at(-1) }));

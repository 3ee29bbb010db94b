/**
 * The resync loop over the recording fake: a rule deleted, reordered or joined by a stranger is
 * put back within the interval; a steady state repairs nothing; stop() ends the loop and leaves
 * the rules; a missing tool is one clear error naming the Debian package.
 */
import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { parseCIDR } from "../../src/net/cidr.ts";
import type { TrafficConfig } from "../../src/traffic/config.ts";
import { DenoCommandRunner, MissingToolError } from "../../src/traffic/runner.ts";
import { type TrafficReport, TrafficRules } from "../../src/traffic/traffic_rules.ts";
import { FakeNetfilter } from "./fake_netfilter.ts";

const cidr = (text: string) => parseCIDR(text)!;
const IPV4 = { network: cidr("10.244.0.0/16"), subnet: cidr("10.244.1.0/24") };
const IPV6 = { network: cidr("fd00:10:244::/56"), subnet: cidr("fd00:10:244:1::/64") };
const INTERVAL_S = 0.05;

async function waitFor(what: string, done: () => boolean, withinMs = 2000): Promise<void> {
  const deadline = performance.now() + withinMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function running(config: TrafficConfig, fake = new FakeNetfilter()) {
  const reports: TrafficReport[] = [];
  const rules = new TrafficRules({ resyncSeconds: INTERVAL_S, ...config }, {
    runner: fake,
    onReport: (report) => reports.push(report),
  });
  await rules.start();
  return { rules, fake, reports };
}

Deno.test("a deleted rule, a swapped order and a stranger's rule are each repaired within the interval", async () => {
  const { rules, fake, reports } = await running({ ipv4: IPV4, ipMasq: true });
  try {
    const chain = () => fake.chain(4, "nat", "FLANNEL-POSTRTG")!;
    const good = [...chain()];
    assert.equal(good.length, 6);

    chain().splice(2, 1);
    await waitFor("the deleted rule", () => rules.stats.repairs === 1);
    assert.deepEqual(chain(), good);

    const swapped = [...good];
    [swapped[1], swapped[2]] = [swapped[2]!, swapped[1]!];
    fake.iptables.get("4:nat")!.set("FLANNEL-POSTRTG", swapped);
    await waitFor("the order", () => rules.stats.repairs === 2);
    assert.deepEqual(chain(), good);

    chain().unshift("-A FLANNEL-POSTRTG -s 10.9.0.0/16 -j ACCEPT");
    await waitFor("the stranger's rule", () => rules.stats.repairs === 3);
    assert.deepEqual(chain(), good);

    const repaired = reports.filter((r) => r.phase === "resync").flatMap((r) => r.actions);
    assert.deepEqual(
      repaired,
      Array(3).fill({ kind: "repaired", unit: "iptables IPv4 masquerade" }),
    );
  } finally {
    await rules.stop();
  }
});

Deno.test("a flushed chain, a lost jump and a doubled jump are repaired; FORWARD's twin too", async () => {
  const { rules, fake } = await running({ ipv4: IPV4, ipv6: IPV6, ipMasq: true });
  try {
    const postrouting = fake.chain(6, "nat", "POSTROUTING")!;
    fake.chain(6, "nat", "FLANNEL-POSTRTG")!.length = 0;
    await waitFor("the flushed chain", () => rules.stats.repairs === 1);
    assert.equal(fake.chain(6, "nat", "FLANNEL-POSTRTG")!.length, 6);

    fake.chain(4, "filter", "FORWARD")!.length = 0;
    await waitFor("the lost jump", () => rules.stats.repairs === 2);
    assert.equal(fake.chain(4, "filter", "FORWARD")!.length, 1);

    const fwd = fake.chain(6, "filter", "FORWARD")!;
    fwd.push(fwd[0]!);
    await waitFor("the doubled jump", () => rules.stats.repairs === 3);
    assert.equal(fake.chain(6, "filter", "FORWARD")!.length, 1);
    assert.equal(postrouting.length, 1);
  } finally {
    await rules.stop();
  }
});

Deno.test("in place: passes only list (2 processes per chain), repair nothing, report nothing", async () => {
  const { rules, fake, reports } = await running({ ipv4: IPV4, ipMasq: true });
  try {
    fake.calls.length = 0;
    const checks = rules.stats.checks;
    await waitFor("five passes", () => rules.stats.checks >= checks + 5);
    assert.equal(rules.stats.repairs, 0);
    assert.equal(fake.transactions.length, 0);
    assert.ok(fake.calls.every((call) => call.argv.includes("-S")));
    assert.deepEqual(reports.map((r) => r.phase), ["start"]);
    assert.ok(rules.inPlace);
    assert.equal(typeof rules.stats.lastCheckMs, "number");
  } finally {
    await rules.stop();
  }
});

Deno.test("stop() ends the loop and leaves the rules", async () => {
  const { rules, fake } = await running({ ipv4: IPV4, ipMasq: true });
  await rules.stop();
  const calls = fake.calls.length;
  await new Promise((resolve) => setTimeout(resolve, INTERVAL_S * 1000 * 4));
  assert.equal(fake.calls.length, calls);
  assert.equal(fake.chain(4, "nat", "FLANNEL-POSTRTG")!.length, 6);
  assert.equal(fake.chain(4, "filter", "FLANNEL-FWD")!.length, 2);
});

Deno.test("nftables: a deleted rule or table is put back; a steady table is left alone", async () => {
  const { rules, fake } = await running({ ipv4: IPV4, ipMasq: true, nftables: true });
  try {
    const postrtg = () => fake.nft.get("ip flannel-ipv4")!.chains.get("postrtg")!.rules;
    const good = [...postrtg()];
    postrtg().pop();
    await waitFor("the deleted rule", () => rules.stats.repairs >= 1);
    assert.deepEqual(postrtg(), good);

    const repairs = rules.stats.repairs;
    fake.nft.delete("ip flannel-ipv4");
    await waitFor("the deleted table", () => rules.stats.repairs > repairs);
    assert.deepEqual(postrtg(), good);

    const settled = rules.stats.repairs;
    const checks = rules.stats.checks;
    await waitFor("three passes", () => rules.stats.checks >= checks + 3);
    assert.equal(rules.stats.repairs, settled);
  } finally {
    await rules.stop();
  }
});

Deno.test("a failed install is reported and retried by the loop", async () => {
  const fake = new FakeNetfilter();
  // Until FLANNEL-POSTRTG's table has a POSTROUTING chain, the transaction fails.
  const postrouting = fake.iptables.get("4:nat")!.get("POSTROUTING")!;
  fake.iptables.get("4:nat")!.delete("POSTROUTING");
  const failures: TrafficReport[] = [];
  const rules = new TrafficRules({ ipv4: IPV4, ipMasq: true, resyncSeconds: INTERVAL_S }, {
    runner: fake,
    onReport: (report) => report.error && failures.push(report),
  });
  try {
    const first = await rules.start();
    assert.ok(first.error);
    assert.equal(rules.inPlace, false);
    fake.iptables.get("4:nat")!.set("POSTROUTING", postrouting);
    await waitFor("the retried install", () => rules.inPlace);
    assert.equal(fake.chain(4, "nat", "FLANNEL-POSTRTG")!.length, 6);
    assert.ok(failures.length >= 1);
  } finally {
    await rules.stop();
  }
});

Deno.test("an iptables that prints a rule unlike our text is an error naming the line, not silent churn", async () => {
  const fake = new FakeNetfilter();
  fake.printRule = (line) => line.replace("--mark 0x4000/0x4000", "--mark 0x4000");
  const rules = new TrafficRules({ ipv4: IPV4, ipMasq: true, forwardRules: false }, {
    runner: fake,
  });
  const report = await rules.start();
  await rules.stop();
  assert.match(
    report.error?.message ?? "",
    /iptables IPv4 masquerade: installed, but iptables lists ".*--mark 0x4000 -m comment.*" where ".*--mark 0x4000\/0x4000 .*" was written/,
  );
  assert.equal(rules.inPlace, false);
});

Deno.test("a missing iptables-restore or nft is one error naming the Debian package", async () => {
  const fake = new FakeNetfilter();
  fake.missing.add("iptables-restore");
  const iptables = new TrafficRules({ ipv4: IPV4, ipMasq: true }, { runner: fake });
  await assert.rejects(() => iptables.start(), (error: Error) => {
    assert.ok(error instanceof MissingToolError);
    assert.match(error.message, /^iptables-restore is not installed: .*"iptables"/);
    return true;
  });
  const noNft = new FakeNetfilter();
  noNft.missing.add("nft");
  const nft = new TrafficRules({ ipv4: IPV4, nftables: true }, { runner: noNft });
  await assert.rejects(() => nft.start(), /^MissingToolError: nft is not installed: .*"nftables"/);
});

Deno.test("iptables mode without nft installed: the nftables clean-up is skipped, not an error", async () => {
  const fake = new FakeNetfilter();
  fake.missing.add("nft");
  const rules = new TrafficRules({ ipv4: IPV4, ipMasq: true }, { runner: fake });
  const report = await rules.start();
  await rules.stop();
  assert.equal(report.error, undefined);
  assert.ok(report.actions.some((a) => a.kind === "skipped" && a.unit === "nftables clean-up"));
});

Deno.test("the Deno runner turns a program that is not installed into MissingToolError", async () => {
  const runner = new DenoCommandRunner();
  await assert.rejects(() => runner.run(["keepnet-no-such-tool-x"]), MissingToolError);
  const result = await runner.run(["sh", "-c", "cat; echo err >&2; exit 3"], "in");
  assert.deepEqual(result, { code: 3, stdout: "in", stderr: "err\n" });
  const slow = new DenoCommandRunner({ timeoutMs: 100 });
  const killed = await slow.run(["sleep", "5"]);
  assert.notEqual(killed.code, 0);
  assert.match(killed.stderr, /killed by SIGTERM/);
});

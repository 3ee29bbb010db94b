/**
 * The rules in the real kernel, in network namespaces, with Debian's iptables (both its
 * nf_tables default and iptables-legacy) and nftables: they are flanneld's rules exactly (as
 * iptables-save / nft list ruleset show them next to flanneld's own commands in another
 * namespace), they are repaired within the resync interval, and a node switches between
 * flanneld and us, and between iptables and nftables, with no leftover and no duplicate.
 */
import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { createNetns, type Netns } from "../helpers/netns.ts";
import { parseCIDR } from "../../src/net/cidr.ts";
import type { TrafficConfig } from "../../src/traffic/config.ts";
import { TrafficRules } from "../../src/traffic/traffic_rules.ts";
import {
  FLANNEL_FWD_V4,
  FLANNEL_FWD_V6,
  FLANNEL_MASQ_V6,
  FLANNEL_NFT_FWD_V4,
  FLANNEL_NFT_FWD_V6,
  FLANNEL_NFT_MASQ_V6,
  flannelMasqV4,
  flannelNftMasqV4,
} from "./flannel_golden.ts";
import {
  flanneldIptables,
  type FlanneldIptablesStart,
  flanneldNftables,
  iptablesCommand,
  type Variant,
} from "./flanneld_emulation.ts";
import {
  flannelIptablesLines,
  flannelNftRuleset,
  flannelNftTables,
  nftRuleset,
  runnerIn,
  savedRules,
  waitFor,
} from "./netfilter_ns.ts";

const cidr = (text: string) => parseCIDR(text)!;
const IPV4 = { network: cidr("10.244.0.0/16"), subnet: cidr("10.244.1.0/24") };
const IPV6 = { network: cidr("fd00:10:244::/56"), subnet: cidr("fd00:10:244:1::/64") };
const DUAL: TrafficConfig = {
  ipv4: IPV4,
  ipv6: IPV6,
  ipMasq: true,
  previous: { ipv4: IPV4, ipv6: IPV6 },
};
const FLANNELD_DUAL: FlanneldIptablesStart = {
  masq: [[4, flannelMasqV4()], [6, FLANNEL_MASQ_V6]],
  forward: [[4, FLANNEL_FWD_V4], [6, FLANNEL_FWD_V6]],
};
const FLANNELD_NFT_DUAL = {
  masq: [flannelNftMasqV4(), FLANNEL_NFT_MASQ_V6],
  forward: [FLANNEL_NFT_FWD_V4, FLANNEL_NFT_FWD_V6],
};
const VARIANTS: Array<[string, Variant]> = [
  ["iptables-nft (Debian's default iptables)", "default"],
  ["iptables-legacy", "legacy"],
];
const RESYNC_S = 0.25;

async function ours(ns: Netns, config: TrafficConfig): Promise<TrafficRules> {
  const rules = new TrafficRules({ resyncSeconds: RESYNC_S, ...config }, { runner: runnerIn(ns) });
  const report = await rules.start();
  if (report.error) {
    await rules.stop();
    throw report.error;
  }
  return rules;
}

/** Our rules for `config`, installed once and left (the daemon stopped). */
async function oursOnce(ns: Netns, config: TrafficConfig): Promise<void> {
  await (await ours(ns, config)).stop();
}

async function bothFamilies(ns: Netns, variant: Variant): Promise<string[]> {
  return [await savedRules(ns, 4, variant), await savedRules(ns, 6, variant)];
}

for (const [label, variant] of VARIANTS) {
  Deno.test(`${label}: dual-stack rules are flanneld's, line for line in iptables-save`, async () => {
    await using flanneld = await createNetns("kn-tr-");
    await using node = await createNetns("kn-tr-");
    await flanneldIptables(flanneld, { ...FLANNELD_DUAL, variant });
    await oursOnce(node, { ...DUAL, iptablesVariant: variant });
    const expected = await bothFamilies(flanneld, variant);
    assert.deepEqual(await bothFamilies(node, variant), expected);
    // Not vacuous: both namespaces hold the 6 + 2 rules of each family, in order.
    for (const text of expected) {
      assert.equal(text.split("\n").filter((l) => l.startsWith("-A FLANNEL-POSTRTG")).length, 6);
      assert.equal(text.split("\n").filter((l) => l.startsWith("-A FLANNEL-FWD")).length, 2);
      assert.match(text, /-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG/);
    }
  });

  Deno.test(`${label}: a rule deleted by hand, a flushed chain and a lost jump are repaired within the interval (IPv4 and IPv6)`, async () => {
    await using reference = await createNetns("kn-tr-");
    await using node = await createNetns("kn-tr-");
    await flanneldIptables(reference, { ...FLANNELD_DUAL, variant });
    const expected = await bothFamilies(reference, variant);
    const rules = await ours(node, { ...DUAL, iptablesVariant: variant });
    try {
      const damage: Array<[4 | 6, string[]]> = [
        [4, ["-t", "nat", "-D", "FLANNEL-POSTRTG", "3"]],
        [6, ["-t", "nat", "-F", "FLANNEL-POSTRTG"]],
        [4, ["-t", "filter", "-D", "FORWARD", "1"]],
        [6, ["-t", "filter", "-D", "FLANNEL-FWD", "2"]],
      ];
      for (const [index, [family, args]] of damage.entries()) {
        await node.check([iptablesCommand(family, variant), "-w", ...args]);
        assert.notDeepEqual(await bothFamilies(node, variant), expected, args.join(" "));
        await waitFor(
          `repair after ${args.join(" ")}`,
          async () =>
            JSON.stringify(await bothFamilies(node, variant)) === JSON.stringify(expected),
          RESYNC_S * 1000 + 1500,
        );
        // One repair per damage: nothing else was touched, and nothing is repaired twice.
        await waitFor("the pass to end", () => rules.stats.repairs === index + 1, 1000);
      }
    } finally {
      await rules.stop();
    }
  });

  Deno.test(`${label}: flanneld → keepnet → flanneld, also across a lease change, leaves flanneld's rules exactly`, async () => {
    await using reference = await createNetns("kn-tr-");
    await using node = await createNetns("kn-tr-");
    await flanneldIptables(reference, { ...FLANNELD_DUAL, variant });
    const expected = await bothFamilies(reference, variant);

    // flanneld ran with an old lease; keepnet-vtepd starts with the new one (old subnet.env).
    await flanneldIptables(node, {
      masq: [[4, flannelMasqV4("10.244.7.0/24")]],
      forward: [[4, FLANNEL_FWD_V4]],
      variant,
    });
    await oursOnce(node, {
      ...DUAL,
      previous: { ipv4: { network: IPV4.network, subnet: cidr("10.244.7.1/24") } },
      iptablesVariant: variant,
    });
    assert.deepEqual(await bothFamilies(node, variant), expected);

    // Back to flanneld (same lease, so no teardown): still no duplicate.
    await flanneldIptables(node, { ...FLANNELD_DUAL, variant });
    assert.deepEqual(await bothFamilies(node, variant), expected);
    // And to keepnet once more.
    await oursOnce(node, { ...DUAL, iptablesVariant: variant });
    assert.deepEqual(await bothFamilies(node, variant), expected);
  });
}

Deno.test("nftables: the tables are flanneld's, line for line in nft list ruleset", async () => {
  await using flanneld = await createNetns("kn-tr-");
  await using node = await createNetns("kn-tr-");
  await flanneldNftables(flanneld, FLANNELD_NFT_DUAL);
  await oursOnce(node, { ...DUAL, nftables: true });
  const expected = await nftRuleset(flanneld);
  assert.equal(await nftRuleset(node), expected);
  assert.match(expected, /table ip6 flannel-ipv6 \{/);
  assert.match(expected, /ip saddr 10\.244\.0\.0\/16 ip daddr != 224\.0\.0\.0\/4 masquerade/);
});

Deno.test("nftables: a deleted rule, a flushed chain and a deleted table are repaired (ip and ip6)", async () => {
  await using reference = await createNetns("kn-tr-");
  await using node = await createNetns("kn-tr-");
  await flanneldNftables(reference, FLANNELD_NFT_DUAL);
  const expected = await nftRuleset(reference);
  const rules = await ours(node, { ...DUAL, nftables: true });
  try {
    const listing = await node.check([
      "nft",
      "-a",
      "list",
      "chain",
      "ip",
      "flannel-ipv4",
      "postrtg",
    ]);
    const handle = /daddr 10\.244\.1\.0\/24 return # handle (\d+)/.exec(listing)![1]!;
    const damage = [
      ["nft", "delete", "rule", "ip", "flannel-ipv4", "postrtg", "handle", handle],
      ["nft", "flush", "chain", "ip6", "flannel-ipv6", "forward"],
      ["nft", "delete", "table", "ip6", "flannel-ipv6"],
    ];
    for (const argv of damage) {
      await node.check(argv);
      assert.notEqual(await nftRuleset(node), expected, argv.join(" "));
      await waitFor(
        `repair after ${argv.join(" ")}`,
        async () => await nftRuleset(node) === expected,
        RESYNC_S * 1000 + 1500,
      );
    }
    await waitFor("the last pass to end", () => rules.stats.repairs >= damage.length, 1000);
  } finally {
    await rules.stop();
  }
});

Deno.test("iptables ↔ nftables: each mode removes the other's rules, ours and flanneld's", async () => {
  await using iptablesReference = await createNetns("kn-tr-");
  await using nftReference = await createNetns("kn-tr-");
  await using node = await createNetns("kn-tr-");
  await flanneldIptables(iptablesReference, FLANNELD_DUAL);
  await flanneldNftables(nftReference, FLANNELD_NFT_DUAL);
  const iptablesExpected = await bothFamilies(iptablesReference, "default");
  const nftExpected = await flannelNftRuleset(nftReference);

  await oursOnce(node, DUAL);
  assert.deepEqual(await bothFamilies(node, "default"), iptablesExpected);
  await oursOnce(node, { ...DUAL, nftables: true });
  assert.deepEqual(await flannelIptablesLines(node, "default"), []);
  assert.equal(await flannelNftRuleset(node), nftExpected);
  await oursOnce(node, DUAL);
  assert.deepEqual(await flannelNftTables(node), []);
  assert.deepEqual(await bothFamilies(node, "default"), iptablesExpected);

  // From flanneld's iptables rules to our nftables mode: flanneld itself would leave the
  // POSTROUTING jump and FLANNEL-FWD behind; we leave nothing.
  await using fromFlanneld = await createNetns("kn-tr-");
  await flanneldIptables(fromFlanneld, FLANNELD_DUAL);
  await oursOnce(fromFlanneld, { ...DUAL, nftables: true });
  assert.deepEqual(await flannelIptablesLines(fromFlanneld, "default"), []);
  assert.equal(await flannelNftRuleset(fromFlanneld), nftExpected);
  // From flanneld's nftables mode to our iptables mode.
  await using fromFlanneldNft = await createNetns("kn-tr-");
  await flanneldNftables(fromFlanneldNft, FLANNELD_NFT_DUAL);
  await oursOnce(fromFlanneldNft, DUAL);
  assert.deepEqual(await flannelNftTables(fromFlanneldNft), []);
  assert.deepEqual(await bothFamilies(fromFlanneldNft, "default"), iptablesExpected);
});

Deno.test("turning masquerade and forward rules off removes them; IPv6 no longer configured too", async () => {
  await using node = await createNetns("kn-tr-");
  await oursOnce(node, DUAL);
  await oursOnce(node, { ipv4: IPV4, ipMasq: false, forwardRules: true });
  const lines = await flannelIptablesLines(node, "default");
  assert.ok(
    lines.length > 0 && lines.every((line) => line.includes("FLANNEL-FWD")),
    lines.join("\n"),
  );
  assert.equal((await savedRules(node, 6, "default")).includes("FLANNEL"), false);
  await oursOnce(node, { ipv4: IPV4, ipMasq: false, forwardRules: false });
  assert.deepEqual(await flannelIptablesLines(node, "default"), []);
});

Deno.test("the time of one resync check (listing and comparing every chain, no repair)", async () => {
  await using node = await createNetns("kn-tr-");
  const v4 = { network: "10.244.0.0/16", subnet: "10.244.1.0/24" };
  const v6 = { network: "fd00:10:244::/56", subnet: "fd00:10:244:1::/64" };
  const script = new URL("./measure_check.ts", import.meta.url).pathname;
  for (
    const [label, config] of [
      ["iptables IPv4", { ipv4: v4, ipMasq: true }],
      ["iptables dual-stack", { ipv4: v4, ipv6: v6, ipMasq: true }],
      ["nftables dual-stack", { ipv4: v4, ipv6: v6, ipMasq: true, nftables: true }],
    ] as const
  ) {
    const output = await node.check([Deno.execPath(), "run", "-A", script, JSON.stringify(config)]);
    const { median, max } = JSON.parse(output) as { median: number; max: number };
    console.log(`resync check, ${label}: median ${median.toFixed(1)} ms, max ${max.toFixed(1)} ms`);
    assert.ok(median > 0 && median < 1000);
  }
});

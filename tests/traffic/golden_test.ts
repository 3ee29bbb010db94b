/**
 * The exact iptables-restore and nft input, case by case, against what flanneld sends
 * (tests/traffic/flannel_golden.ts, written by hand from flannel's code). No root needed.
 */
import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { parseCIDR } from "../../src/net/cidr.ts";
import type { TrafficAction } from "../../src/traffic/actions.ts";
import type { TrafficConfig } from "../../src/traffic/config.ts";
import { TrafficRules } from "../../src/traffic/traffic_rules.ts";
import { FakeNetfilter } from "./fake_netfilter.ts";
import {
  FLANNEL_FWD_V4,
  FLANNEL_FWD_V6,
  FLANNEL_MASQ_V6,
  FLANNEL_NFT_FWD_V4,
  FLANNEL_NFT_FWD_V6,
  FLANNEL_NFT_MASQ_V6,
  FLANNEL_NFT_TABLES,
  flannelMasqV4,
  flannelMasqV4Restart,
  flannelNftMasqV4,
  flannelTeardownV4,
  withChainDeclared,
} from "./flannel_golden.ts";

const cidr = (text: string) => parseCIDR(text)!;
const IPV4 = { network: cidr("10.244.0.0/16"), subnet: cidr("10.244.1.0/24") };
const IPV6 = { network: cidr("fd00:10:244::/56"), subnet: cidr("fd00:10:244:1::/64") };
const SAME_AS_NOW = { ipv4: IPV4, ipv6: IPV6 };

async function started(
  config: TrafficConfig,
  fake = new FakeNetfilter(),
): Promise<{ fake: FakeNetfilter; actions: TrafficAction[] }> {
  const rules = new TrafficRules(config, { runner: fake });
  const report = await rules.start();
  await rules.stop();
  assert.equal(report.error, undefined, report.error?.message ?? "");
  return { fake, actions: report.actions };
}

/** The (program, input) of every transaction, in order. */
function sent(fake: FakeNetfilter): Array<[string, string]> {
  return fake.transactions.map((call) => [call.argv[0]!, call.stdin!]);
}

/** Applies flanneld's payloads to the fake, as a node that ran flanneld would have them. */
async function asFlanneld(fake: FakeNetfilter, family: 4 | 6, payloads: string[]) {
  const restore = family === 4 ? "iptables-restore" : "ip6tables-restore";
  for (const payload of payloads) {
    const chain = payload.startsWith("*nat") ? "FLANNEL-POSTRTG" : "FLANNEL-FWD";
    const result = await fake.run([restore, "--noflush"], withChainDeclared(payload, chain));
    assert.equal(result.code, 0, result.stderr);
  }
  fake.calls.length = 0;
}

Deno.test("IPv4: flanneld's masquerade then forward payloads, through iptables-restore --noflush", async () => {
  const { fake, actions } = await started({ ipv4: IPV4, ipMasq: true });
  assert.deepEqual(sent(fake), [
    ["iptables-restore", withChainDeclared(flannelMasqV4(), "FLANNEL-POSTRTG")],
    ["iptables-restore", withChainDeclared(FLANNEL_FWD_V4, "FLANNEL-FWD")],
  ]);
  const restores = fake.calls.filter((call) => call.argv[0] === "iptables-restore" && call.stdin);
  assert.deepEqual(restores[0]!.argv, ["iptables-restore", "--noflush", "-w", "5"]);
  assert.deepEqual(actions.filter((a) => a.kind === "installed").map((a) => a.unit), [
    "iptables IPv4 masquerade",
    "iptables IPv4 forward",
  ]);
});

Deno.test("IPv6-only: ip6tables-restore gets the IPv6 twins (ff00::/8), iptables nothing", async () => {
  const { fake } = await started({ ipv6: IPV6, ipMasq: true });
  assert.deepEqual(sent(fake), [
    ["ip6tables-restore", withChainDeclared(FLANNEL_MASQ_V6, "FLANNEL-POSTRTG")],
    ["ip6tables-restore", withChainDeclared(FLANNEL_FWD_V6, "FLANNEL-FWD")],
  ]);
});

Deno.test("dual-stack: masquerade IPv4, IPv6, then forward IPv4, IPv6 (flanneld's order)", async () => {
  const { fake } = await started({ ipv4: IPV4, ipv6: IPV6, ipMasq: true });
  assert.deepEqual(sent(fake), [
    ["iptables-restore", withChainDeclared(flannelMasqV4(), "FLANNEL-POSTRTG")],
    ["ip6tables-restore", withChainDeclared(FLANNEL_MASQ_V6, "FLANNEL-POSTRTG")],
    ["iptables-restore", withChainDeclared(FLANNEL_FWD_V4, "FLANNEL-FWD")],
    ["ip6tables-restore", withChainDeclared(FLANNEL_FWD_V6, "FLANNEL-FWD")],
  ]);
});

Deno.test("--ip-masq-fully-random-disable: MASQUERADE without --random-fully", async () => {
  const { fake } = await started({
    ipv4: IPV4,
    ipMasq: true,
    fullyRandom: false,
    forwardRules: false,
  });
  assert.deepEqual(sent(fake), [
    ["iptables-restore", withChainDeclared(flannelMasqV4(undefined, false), "FLANNEL-POSTRTG")],
  ]);
});

Deno.test("an iptables older than 1.6.2: no --random-fully and no --wait, and it is reported", async () => {
  const fake = new FakeNetfilter();
  fake.iptablesVersion = "v1.6.1";
  const { actions } = await started({ ipv4: IPV4, ipMasq: true, forwardRules: false }, fake);
  assert.deepEqual(sent(fake), [
    ["iptables-restore", withChainDeclared(flannelMasqV4(undefined, false), "FLANNEL-POSTRTG")],
  ]);
  const restore = fake.calls.find((call) => call.argv[0] === "iptables-restore" && call.stdin);
  assert.deepEqual(restore!.argv, ["iptables-restore", "--noflush"]);
  assert.ok(actions.some((a) => a.kind === "skipped" && a.unit.endsWith("--random-fully")));
});

Deno.test("forward rules off: only masquerade; flanneld's old FLANNEL-FWD is removed", async () => {
  const fake = new FakeNetfilter();
  await asFlanneld(fake, 4, [flannelMasqV4(), FLANNEL_FWD_V4]);
  const { actions } = await started(
    { ipv4: IPV4, ipMasq: true, forwardRules: false, previous: SAME_AS_NOW },
    fake,
  );
  assert.deepEqual(sent(fake), [
    [
      "iptables-restore",
      `*filter\n-D FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD\n` +
      `-F FLANNEL-FWD\n-X FLANNEL-FWD\nCOMMIT\n`,
    ],
    ["iptables-restore", withChainDeclared(flannelMasqV4Restart(), "FLANNEL-POSTRTG")],
  ]);
  assert.equal(fake.chain(4, "filter", "FLANNEL-FWD"), undefined);
  assert.deepEqual(fake.chain(4, "filter", "FORWARD"), []);
  assert.ok(
    actions.some((a) =>
      a.kind === "removed" && a.unit === "iptables IPv4 forward" &&
      a.reason === "forward rules are off"
    ),
  );
});

Deno.test("masquerade off: only forward; flanneld's old FLANNEL-POSTRTG is removed", async () => {
  const fake = new FakeNetfilter();
  await asFlanneld(fake, 4, [flannelMasqV4(), FLANNEL_FWD_V4]);
  await started({ ipv4: IPV4, ipMasq: false, previous: SAME_AS_NOW }, fake);
  assert.deepEqual(sent(fake), [
    [
      "iptables-restore",
      `*nat\n-D POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG\n` +
      `-F FLANNEL-POSTRTG\n-X FLANNEL-POSTRTG\nCOMMIT\n`,
    ],
    [
      "iptables-restore",
      withChainDeclared(
        FLANNEL_FWD_V4.replace(
          "*filter\n",
          `*filter\n-D FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD\n`,
        ),
        "FLANNEL-FWD",
      ),
    ],
  ]);
  assert.equal(fake.chain(4, "nat", "FLANNEL-POSTRTG"), undefined);
});

Deno.test("restart with the same lease: the jump is deleted and appended again, as flanneld", async () => {
  const fake = new FakeNetfilter();
  await asFlanneld(fake, 4, [flannelMasqV4()]);
  await started({ ipv4: IPV4, ipMasq: true, forwardRules: false, previous: SAME_AS_NOW }, fake);
  assert.deepEqual(sent(fake), [
    ["iptables-restore", withChainDeclared(flannelMasqV4Restart(), "FLANNEL-POSTRTG")],
  ]);
  assert.equal(fake.chain(4, "nat", "POSTROUTING")!.length, 1);
});

Deno.test("lease change: flanneld's teardown of the old lease's rules, then the new ones", async () => {
  const fake = new FakeNetfilter();
  await asFlanneld(fake, 4, [flannelMasqV4("10.244.7.0/24")]);
  const { actions } = await started({
    ipv4: IPV4,
    ipMasq: true,
    forwardRules: false,
    previous: { ipv4: { network: cidr("10.244.0.0/16"), subnet: cidr("10.244.7.1/24") } },
  }, fake);
  assert.deepEqual(sent(fake), [
    ["iptables-restore", flannelTeardownV4("10.244.7.0/24")],
    ["iptables-restore", withChainDeclared(flannelMasqV4(), "FLANNEL-POSTRTG")],
  ]);
  assert.deepEqual(
    fake.chain(4, "nat", "FLANNEL-POSTRTG")!.filter((line) => line.includes("10.244.7.")),
    [],
  );
  assert.ok(
    actions.some((a) =>
      a.kind === "removed" && a.reason === "the lease was 10.244.7.0/24 in 10.244.0.0/16"
    ),
  );
});

Deno.test("no previous subnet.env: flanneld compares with 0.0.0.0/0 and deletes the lease-independent rules first", async () => {
  const fake = new FakeNetfilter();
  await asFlanneld(fake, 4, [flannelMasqV4()]);
  await started({ ipv4: IPV4, ipMasq: true, forwardRules: false }, fake);
  const MASQ = `-m comment --comment "flanneld masq"`;
  assert.deepEqual(sent(fake), [
    [
      "iptables-restore",
      `*nat\n-D POSTROUTING ${MASQ} -j FLANNEL-POSTRTG\n` +
      `-D FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 ${MASQ} -j RETURN\nCOMMIT\n`,
    ],
    ["iptables-restore", withChainDeclared(flannelMasqV4(), "FLANNEL-POSTRTG")],
  ]);
});

Deno.test("iptables mode deletes the nftables mode's tables first", async () => {
  const fake = new FakeNetfilter();
  await fake.run(["nft", "-f", "-"], FLANNEL_NFT_TABLES + flannelNftMasqV4());
  fake.calls.length = 0;
  const { actions } = await started({ ipv4: IPV4, ipMasq: true }, fake);
  assert.deepEqual(sent(fake)[0], [
    "nft",
    "delete table ip flannel-ipv4\ndelete table ip6 flannel-ipv6\n",
  ]);
  assert.equal(fake.nft.size, 0);
  assert.equal(actions.filter((a) => a.kind === "removed").length, 2);
});

Deno.test("nftables, IPv4: flanneld's tables, masquerade and forward in one transaction", async () => {
  const { fake, actions } = await started({ ipv4: IPV4, ipMasq: true, nftables: true });
  assert.deepEqual(sent(fake), [
    ["nft", FLANNEL_NFT_TABLES + flannelNftMasqV4() + FLANNEL_NFT_FWD_V4],
  ]);
  assert.deepEqual(actions.filter((a) => a.kind === "installed").map((a) => a.unit), [
    "nftables IPv4 masquerade",
    "nftables IPv4 forward",
    "nftables IPv6 table", // empty, as flanneld's Init leaves it
  ]);
});

Deno.test("nftables, IPv6-only and dual-stack: the ip6 table's twins", async () => {
  const v6 = await started({ ipv6: IPV6, ipMasq: true, nftables: true });
  assert.deepEqual(sent(v6.fake), [
    ["nft", FLANNEL_NFT_TABLES + FLANNEL_NFT_MASQ_V6 + FLANNEL_NFT_FWD_V6],
  ]);
  const dual = await started({ ipv4: IPV4, ipv6: IPV6, ipMasq: true, nftables: true });
  assert.deepEqual(sent(dual.fake), [[
    "nft",
    FLANNEL_NFT_TABLES + flannelNftMasqV4() + FLANNEL_NFT_MASQ_V6 + FLANNEL_NFT_FWD_V4 +
    FLANNEL_NFT_FWD_V6,
  ]]);
});

Deno.test("nftables: fully-random off by flag, or unsupported by the kernel", async () => {
  const off = await started({ ipv4: IPV4, ipMasq: true, nftables: true, fullyRandom: false });
  assert.deepEqual(sent(off.fake), [
    ["nft", FLANNEL_NFT_TABLES + flannelNftMasqV4(false) + FLANNEL_NFT_FWD_V4],
  ]);
  const fake = new FakeNetfilter();
  fake.nftFullyRandom = false;
  const unsupported = await started({ ipv4: IPV4, ipMasq: true, nftables: true }, fake);
  assert.deepEqual(sent(fake), [
    ["nft", FLANNEL_NFT_TABLES + flannelNftMasqV4(false) + FLANNEL_NFT_FWD_V4],
  ]);
  assert.ok(unsupported.actions.some((a) => a.kind === "skipped"));
});

Deno.test("nftables: masquerade off or forward off leaves that chain out (and deletes an old one)", async () => {
  const masqOff = await started({ ipv4: IPV4, nftables: true });
  assert.deepEqual(sent(masqOff.fake), [["nft", FLANNEL_NFT_TABLES + FLANNEL_NFT_FWD_V4]]);
  const fake = new FakeNetfilter();
  await fake.run(["nft", "-f", "-"], FLANNEL_NFT_TABLES + flannelNftMasqV4() + FLANNEL_NFT_FWD_V4);
  fake.calls.length = 0;
  await started({ ipv4: IPV4, ipMasq: true, forwardRules: false, nftables: true }, fake);
  assert.deepEqual(sent(fake), [[
    "nft",
    FLANNEL_NFT_TABLES + flannelNftMasqV4() + "delete chain ip flannel-ipv4 forward\n",
  ]]);
});

Deno.test("nftables without object comments (old kernels): knftables leaves the comments out", async () => {
  const fake = new FakeNetfilter();
  fake.nftComments = false;
  await started({ ipv4: IPV4, ipMasq: true, nftables: true, fullyRandom: false }, fake);
  const expected = (FLANNEL_NFT_TABLES + flannelNftMasqV4(false) + FLANNEL_NFT_FWD_V4)
    .replaceAll(/ \{ comment "[^"]*" ; \}/g, "")
    .replaceAll(/ comment "[^"]*" ;/g, "");
  assert.deepEqual(sent(fake), [["nft", expected]]);
});

Deno.test("nftables mode removes flanneld's iptables chains and every jump to them", async () => {
  const fake = new FakeNetfilter();
  await asFlanneld(fake, 4, [flannelMasqV4(), FLANNEL_FWD_V4]);
  await asFlanneld(fake, 6, [FLANNEL_MASQ_V6]);
  const { actions } = await started({ ipv4: IPV4, ipMasq: true, nftables: true }, fake);
  assert.deepEqual(sent(fake).slice(0, 3), [
    [
      "iptables-restore",
      `*nat\n-D POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG\n` +
      `-F FLANNEL-POSTRTG\n-X FLANNEL-POSTRTG\nCOMMIT\n`,
    ],
    [
      "iptables-restore",
      `*filter\n-D FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD\n` +
      `-F FLANNEL-FWD\n-X FLANNEL-FWD\nCOMMIT\n`,
    ],
    [
      "ip6tables-restore",
      `*nat\n-D POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG\n` +
      `-F FLANNEL-POSTRTG\n-X FLANNEL-POSTRTG\nCOMMIT\n`,
    ],
  ]);
  for (const family of [4, 6] as const) {
    assert.equal(fake.chain(family, "nat", "FLANNEL-POSTRTG"), undefined);
    assert.equal(fake.chain(family, "filter", "FLANNEL-FWD"), undefined);
  }
  assert.equal(
    actions.filter((a) => a.kind === "removed" && a.reason === "nftables mode").length,
    3,
  );
});

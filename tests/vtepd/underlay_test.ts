/**
 * Choosing the underlay interface as flanneld does: `--iface`, then `--iface-regex`, then
 * `--iface-can-reach`, else the public IP's or the default route's interface; one interface for
 * both families. Against the in-memory kernel; the last test runs against the real one.
 */
import assert from "node:assert/strict";
import { loadIPv6 } from "../../src/net/ip.ts";
import { openNetlink } from "../../src/netlink/mod.ts";
import {
  findUnderlay,
  ifaceFlagProblem,
  type UnderlayError,
  UnderlayFlagError,
  type UnderlayInterface,
  UnderlayNotFoundError,
  type UnderlayOptions,
} from "../../src/vtepd/underlay.ts";
import { FakeKernel } from "../helpers/fake_kernel.ts";
import { createNetns } from "../helpers/netns.ts";
import { insideNetns } from "../helpers/netns_thread.ts";

await loadIPv6();

const IPV4: UnderlayOptions = { iface: [], ifaceRegex: [], ipv4: true, ipv6: false };
const DUAL: UnderlayOptions = { ...IPV4, ipv6: true };
const IPV6_ONLY: UnderlayOptions = { ...IPV4, ipv4: false, ipv6: true };

const IFA_F_TEMPORARY = 0x01;
const IFA_F_DEPRECATED = 0x20;
const IFA_F_PERMANENT = 0x80;

/** The fake's eth0 (192.168.1.1, default route) plus an IPv6 address and default route. */
function dualStackKernel(): FakeKernel {
  const kernel = new FakeKernel();
  kernel.outside.addAddress("eth0", "2001:db8:1::1/64");
  kernel.outside.addRoute({ dst: "::/0", gateway: "2001:db8:1::fffe" });
  return kernel;
}

function chosen(underlay: UnderlayInterface): string {
  return [underlay.name, underlay.address, underlay.address6, underlay.chosenBy]
    .filter((part) => part !== undefined).join(" ");
}

function assertThrowsKind(
  run: () => unknown,
  kind: typeof UnderlayFlagError | typeof UnderlayNotFoundError,
  message: RegExp,
): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof kind, `expected ${kind.name}, got ${error}`);
    assert.match((error as UnderlayError).message, message);
    return true;
  });
}

Deno.test("underlay: with no flag, the IPv4 default route's interface and its address", () => {
  const kernel = new FakeKernel();
  kernel.outside.addDevice("eth1", "10.0.0.5/24");
  assert.equal(chosen(findUnderlay(kernel, IPV4)), "eth0 192.168.1.1 default route");
  kernel.outside.deleteRoute("0.0.0.0/0");
  assertThrowsKind(
    () => findUnderlay(kernel, IPV4),
    UnderlayNotFoundError,
    /no IPv4 default route/,
  );
});

Deno.test("underlay: --iface entries are tried in order; one without an address yet is passed over", () => {
  const kernel = new FakeKernel();
  kernel.outside.addDevice("eth1");
  kernel.outside.addDevice("eth2", "10.0.2.5/24");
  const options = { ...IPV4, iface: ["eth9", "eth1", "eth2", "eth0"] };
  assert.equal(chosen(findUnderlay(kernel, options)), "eth2 10.0.2.5 --iface eth2");

  // eth1 gets its address: being earlier in the list, it wins from then on.
  kernel.outside.addAddress("eth1", "10.0.1.5/24");
  assert.equal(chosen(findUnderlay(kernel, options)), "eth1 10.0.1.5 --iface eth1");
});

Deno.test("underlay: an --iface address picks the interface holding it, and that address", () => {
  const kernel = new FakeKernel();
  kernel.outside.addDevice("eth1", "10.0.0.5/24");
  kernel.outside.addAddress("eth1", "10.0.0.6/24");
  assert.equal(
    chosen(findUnderlay(kernel, { ...IPV4, iface: ["10.0.0.6"] })),
    "eth1 10.0.0.6 --iface 10.0.0.6",
  );
  // IPv6 text is compared as an address, not as text.
  kernel.outside.addAddress("eth1", "fd00:1::5/64");
  assert.equal(
    chosen(findUnderlay(kernel, { ...DUAL, iface: ["fd00:1:0:0::5"] })),
    "eth1 10.0.0.5 fd00:1::5 --iface fd00:1:0:0::5",
  );
});

Deno.test("underlay: when --iface is given and none qualifies, the default route is not a fallback", () => {
  const kernel = new FakeKernel();
  assertThrowsKind(
    () => findUnderlay(kernel, { ...IPV4, iface: ["eth9", "10.9.9.9"] }),
    UnderlayNotFoundError,
    /--iface eth9: no interface is named eth9; --iface 10\.9\.9\.9: no interface has the address 10\.9\.9\.9$/,
  );
});

Deno.test("underlay: precedence is --iface, then --iface-regex, then --iface-can-reach", () => {
  const kernel = new FakeKernel();
  kernel.outside.addDevice("eth1", "10.0.1.5/24");
  kernel.outside.addDevice("eth2", "10.0.2.5/24");
  kernel.outside.addDevice("eth3", "10.0.3.5/24");
  kernel.outside.addRoute({ dst: "203.0.113.0/24", gateway: "10.0.3.254" });
  const all = { ...IPV4, iface: ["eth1"], ifaceRegex: ["^eth2$"], ifaceCanReach: "203.0.113.9" };
  assert.equal(findUnderlay(kernel, all).name, "eth1");
  assert.equal(findUnderlay(kernel, { ...all, iface: ["eth9"] }).name, "eth2");
  assert.equal(
    chosen(findUnderlay(kernel, { ...all, iface: ["eth9"], ifaceRegex: ["^nothing$"] })),
    "eth3 10.0.3.5 --iface-can-reach 203.0.113.9",
  );
});

Deno.test("underlay: each --iface-regex matches every interface's addresses before any name", () => {
  const kernel = new FakeKernel();
  // net10 comes first and its name matches "10", but b's address matches and addresses go first.
  kernel.outside.addDevice("net10", "172.16.0.1/24");
  kernel.outside.addDevice("b", "10.0.0.1/24");
  assert.equal(
    chosen(findUnderlay(kernel, { ...IPV4, ifaceRegex: ["10"] })),
    "b 10.0.0.1 --iface-regex 10",
  );
  assert.equal(findUnderlay(kernel, { ...IPV4, ifaceRegex: ["^net"] }).name, "net10");
  // The matching address is the one used, not the interface's first.
  kernel.outside.addAddress("b", "10.1.0.1/24");
  assert.equal(findUnderlay(kernel, { ...IPV4, ifaceRegex: ["^10\\.1\\."] }).address, "10.1.0.1");
});

Deno.test("underlay: a regex's first name match is taken even without an address; the next regex is tried", () => {
  const kernel = new FakeKernel();
  kernel.outside.addDevice("eth7");
  kernel.outside.addDevice("eth8", "10.0.8.1/24");
  const options = { ...IPV4, ifaceRegex: ["^eth[78]$"] };
  assertThrowsKind(
    () => findUnderlay(kernel, options),
    UnderlayNotFoundError,
    /--iface-regex \^eth\[78\]\$: eth7 has no usable IPv4 address/,
  );
  assert.equal(
    findUnderlay(kernel, { ...options, ifaceRegex: ["^eth[78]$", "^eth8$"] }).name,
    "eth8",
  );
});

Deno.test("underlay: a regex that matches nothing names every interface and its addresses", () => {
  assertThrowsKind(
    () => findUnderlay(new FakeKernel(), { ...IPV4, ifaceRegex: ["^wlan"] }),
    UnderlayNotFoundError,
    /no interface address or name matches \(interfaces: lo\[\], eth0\[192\.168\.1\.1\]\)/,
  );
});

Deno.test("underlay: Go regexp syntax selects as in flanneld", () => {
  const kernel = new FakeKernel();
  kernel.outside.addDevice("ETH1", "10.0.1.5/24");
  assert.equal(findUnderlay(kernel, { ...IPV4, ifaceRegex: ["(?i)^eth1"] }).name, "ETH1");
  assert.equal(
    findUnderlay(kernel, { ...IPV4, ifaceRegex: ["\\AETH[[:digit:]]\\z"] }).name,
    "ETH1",
  );
});

Deno.test("underlay: --iface-can-reach takes the route's interface and source address", () => {
  const kernel = new FakeKernel();
  kernel.outside.addDevice("eth1", "10.0.1.5/24");
  kernel.outside.addAddress("eth1", "10.0.1.6/24");
  kernel.outside.addRoute({ dst: "198.51.100.0/24", gateway: "10.0.1.254" });
  assert.equal(
    chosen(findUnderlay(kernel, { ...IPV4, ifaceCanReach: "198.51.100.7" })),
    "eth1 10.0.1.5 --iface-can-reach 198.51.100.7",
  );
  kernel.outside.deleteRoute("0.0.0.0/0");
  assertThrowsKind(
    () => findUnderlay(kernel, { ...IPV4, ifaceCanReach: "203.0.113.1" }),
    UnderlayNotFoundError,
    /--iface-can-reach 203\.0\.113\.1: no route to 203\.0\.113\.1/,
  );
});

Deno.test("underlay: dual-stack gives both addresses of one interface", () => {
  const kernel = dualStackKernel();
  assert.equal(chosen(findUnderlay(kernel, DUAL)), "eth0 192.168.1.1 2001:db8:1::1 default route");
  const v6only = findUnderlay(kernel, IPV6_ONLY);
  assert.equal(chosen(v6only), "eth0 2001:db8:1::1 default route");
  assert.equal(v6only.address, undefined);
  // An interface that lacks one family's address does not qualify.
  kernel.outside.addDevice("eth1", "10.0.1.5/24");
  assertThrowsKind(
    () => findUnderlay(kernel, { ...DUAL, iface: ["eth1"] }),
    UnderlayNotFoundError,
    /eth1 has no usable IPv6 address/,
  );
});

Deno.test("underlay: dual-stack default routes on two interfaces: refused as flanneld refuses them, saying why", () => {
  const kernel = new FakeKernel();
  kernel.outside.addAddress("eth0", "2001:db8:1::1/64");
  kernel.outside.addDevice("eth1", "2001:db8:2::1/64");
  kernel.outside.addRoute({ dst: "::/0", gateway: "2001:db8:2::fffe" });
  assertThrowsKind(
    () => findUnderlay(kernel, DUAL),
    UnderlayNotFoundError,
    /IPv4 default route leaves through eth0 but the IPv6 one through eth1; flanneld requires one interface for both.*give --iface/,
  );
  // Each family alone follows its own default route.
  assert.equal(findUnderlay(kernel, IPV6_ONLY).name, "eth1");
  assert.equal(findUnderlay(kernel, { ...DUAL, iface: ["eth0"] }).address6, "2001:db8:1::1");
});

Deno.test("underlay: dual-stack regex needs an IPv4 and an IPv6 address of the same interface to match", () => {
  const kernel = dualStackKernel();
  kernel.outside.addDevice("eth1", "10.0.1.5/24");
  kernel.outside.addAddress("eth1", "fd00::1:5/64");
  // "5" matches an address of each family on eth1 only; eth0's 2001:db8:1::1 has no 5 in it.
  assert.equal(
    chosen(findUnderlay(kernel, { ...DUAL, ifaceRegex: ["5$"] })),
    "eth1 10.0.1.5 fd00::1:5 --iface-regex 5$",
  );
});

Deno.test("underlay: the best address: global, configured, not temporary, not deprecated", () => {
  const kernel = new FakeKernel();
  kernel.outside.addAddress("eth0", "fe80::1/64", { scope: 253, flags: IFA_F_PERMANENT });
  kernel.outside.addAddress("eth0", "2001:db8::aaaa/64", { flags: IFA_F_TEMPORARY });
  kernel.outside.addAddress("eth0", "2001:db8::dead/64", {
    flags: IFA_F_PERMANENT | IFA_F_DEPRECATED,
  });
  kernel.outside.addAddress("eth0", "2001:db8::5151/64", { flags: 0 });
  kernel.outside.addAddress("eth0", "2001:db8::1/64", { flags: IFA_F_PERMANENT });
  kernel.outside.addRoute({ dst: "::/0", gateway: "2001:db8::fffe" });
  assert.equal(findUnderlay(kernel, IPV6_ONLY).address6, "2001:db8::1");
  kernel.outside.deleteAddress("eth0", "2001:db8::1");
  // Dynamic (SLAAC) next, then the temporary one, then link-local; never the deprecated one.
  assert.equal(findUnderlay(kernel, IPV6_ONLY).address6, "2001:db8::5151");
  kernel.outside.deleteAddress("eth0", "2001:db8::5151");
  assert.equal(findUnderlay(kernel, IPV6_ONLY).address6, "2001:db8::aaaa");
  kernel.outside.deleteAddress("eth0", "2001:db8::aaaa");
  assert.equal(findUnderlay(kernel, IPV6_ONLY).address6, "fe80::1");
});

Deno.test("underlay: IPv4 prefers the primary address over a secondary one and skips loopback", () => {
  const kernel = new FakeKernel();
  kernel.outside.addDevice("eth1");
  kernel.outside.addAddress("eth1", "10.0.1.9/24", { flags: IFA_F_PERMANENT | 0x01 });
  kernel.outside.addAddress("eth1", "10.0.1.5/24");
  assert.equal(findUnderlay(kernel, { ...IPV4, iface: ["eth1"] }).address, "10.0.1.5");
  kernel.outside.addAddress("lo", "127.0.0.1/8", { scope: 254 });
  assertThrowsKind(
    () => findUnderlay(kernel, { ...IPV4, iface: ["lo"] }),
    UnderlayNotFoundError,
    /lo has no usable IPv4 address/,
  );
});

Deno.test("underlay: without choice flags, the interface holding --public-ip, as flanneld", () => {
  const kernel = new FakeKernel();
  kernel.outside.addDevice("eth1", "10.0.1.5/24");
  assert.equal(
    chosen(findUnderlay(kernel, { ...IPV4, publicIP: "10.0.1.5" })),
    "eth1 10.0.1.5 --public-ip",
  );
  assertThrowsKind(
    () => findUnderlay(kernel, { ...IPV4, publicIP: "203.0.113.7" }),
    UnderlayNotFoundError,
    /--public-ip 203\.0\.113\.7: no interface has the address 203\.0\.113\.7 \(without --iface.*flanneld too/,
  );
  // With --iface, the public IP is only advertised (NAT), not looked for.
  assert.equal(
    findUnderlay(kernel, { ...IPV4, iface: ["eth0"], publicIP: "203.0.113.7" }).name,
    "eth0",
  );
});

Deno.test("underlay: flags that can never work are UnderlayFlagError, and ifaceFlagProblem says why first", () => {
  const kernel = new FakeKernel();
  const rows: Array<[Partial<UnderlayOptions>, RegExp]> = [
    [{ iface: ["fd00::1"] }, /^--iface fd00::1 is an IPv6 address, but the overlay is IPv4 only/],
    [{ iface: ["192.168.1.1"], ipv4: false, ipv6: true }, /^--iface 192\.168\.1\.1 is an IPv4/],
    [{ iface: [""] }, /^--iface is empty/],
    [{ ifaceRegex: ["eth("] }, /^--iface-regex "eth\(" is not a usable regular expression/],
    [{ ifaceRegex: ["(?=eth)"] }, /lookahead and lookbehind are not Go regexp syntax/],
    [{ ifaceCanReach: "gateway.local" }, /^--iface-can-reach must be an IP address/],
    [{ ipv4: false, ipv6: false }, /neither IPv4 nor IPv6 is enabled/],
  ];
  for (const [change, message] of rows) {
    const options = { ...IPV4, ...change };
    assertThrowsKind(() => findUnderlay(kernel, options), UnderlayFlagError, message);
    if (options.ipv4 || options.ipv6) assert.match(ifaceFlagProblem(options)!, message);
  }
  assert.equal(
    ifaceFlagProblem({ ...DUAL, iface: ["fd00::1", "eth0"], ifaceRegex: ["^e"] }),
    undefined,
  );
});

Deno.test("underlay (kernel): a namespace's interfaces, addresses and routes, chosen each way", async () => {
  await using ns = await createNetns("kn-underlay-");
  // Two underlays: eth1 holds the default routes of both families, eth2 a route to 198.51.100/24.
  for (
    const [name, v4, v6] of [["eth1", "10.0.1.5/24", "fd00:1::5/64"], [
      "eth2",
      "10.0.2.5/24",
      "fd00:2::5/64",
    ]]
  ) {
    await ns.check(["ip", "link", "add", name!, "type", "veth", "peer", "name", `${name}p`]);
    await ns.check(["ip", "addr", "add", v4!, "dev", name!]);
    await ns.check(["ip", "addr", "add", v6!, "dev", name!, "nodad"]);
    await ns.check(["ip", "link", "set", `${name}p`, "up"]);
    await ns.check(["ip", "link", "set", name!, "up"]);
  }
  await ns.check(["ip", "route", "add", "default", "via", "10.0.1.254"]);
  await ns.check(["ip", "-6", "route", "add", "default", "via", "fd00:1::fffe"]);
  // A second address on eth2, and a route whose preferred source is that one.
  await ns.check(["ip", "addr", "add", "10.0.2.6/24", "dev", "eth2"]);
  await ns.check(["ip", "route", "add", "198.51.100.0/24", "via", "10.0.2.254", "src", "10.0.2.6"]);

  using kernel = insideNetns(ns.name, () => openNetlink());
  assert.equal(chosen(findUnderlay(kernel, DUAL)), "eth1 10.0.1.5 fd00:1::5 default route");
  // Dual-stack: the regex must match an address of each family on one interface.
  assert.equal(
    chosen(findUnderlay(kernel, { ...DUAL, ifaceRegex: ["^fd00:2:", "^(10\\.0\\.2\\.|fd00:2:)"] })),
    "eth2 10.0.2.5 fd00:2::5 --iface-regex ^(10\\.0\\.2\\.|fd00:2:)",
  );
  assert.equal(
    chosen(findUnderlay(kernel, { ...IPV6_ONLY, ifaceRegex: ["^fd00:2:"] })),
    "eth2 fd00:2::5 --iface-regex ^fd00:2:",
  );
  assert.equal(
    chosen(findUnderlay(kernel, { ...DUAL, ifaceCanReach: "198.51.100.1" })),
    "eth2 10.0.2.6 fd00:2::5 --iface-can-reach 198.51.100.1",
  );
  assert.equal(
    chosen(findUnderlay(kernel, { ...IPV4, iface: ["eth9", "10.0.2.6"] })),
    "eth2 10.0.2.6 --iface 10.0.2.6",
  );
  // The IPv6 default route moves to eth2: dual-stack now has no single interface.
  await ns.check(["ip", "-6", "route", "replace", "default", "via", "fd00:2::fffe"]);
  assertThrowsKind(
    () => findUnderlay(kernel, DUAL),
    UnderlayNotFoundError,
    /IPv4 default route leaves through eth1 but the IPv6 one through eth2/,
  );
});

import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { parseCIDR } from "../../src/net/cidr.ts";
import { formatIP, type IP, parseIP } from "../../src/net/ip.ts";
import {
  canonicalizeRange,
  formatRange,
  type Range,
  rangeContains,
  type RangeInput,
  rangesOverlap,
} from "../../src/ipam/range.ts";

const ip = (text: string): IP => parseIP(text)!;
const range = (subnet: string, extra: Omit<RangeInput, "subnet"> = {}): Range =>
  canonicalizeRange({ subnet: parseCIDR(subnet)!, ...extra });
const texts = (r: Range) => ({
  start: formatIP(r.rangeStart),
  end: formatIP(r.rangeEnd),
  gw: formatIP(r.gateway),
});

Deno.test("RG-1 /24 defaults: start .1, end .254, gateway .1", () => {
  assert.deepEqual(texts(range("192.0.2.0/24")), {
    start: "192.0.2.1",
    end: "192.0.2.254",
    gw: "192.0.2.1",
  });
});

Deno.test("RG-2 /25 defaults: end .126", () => {
  assert.equal(texts(range("192.0.2.0/25")).end, "192.0.2.126");
});

Deno.test("RG-3..6 host bits set: the message names the network address", () => {
  const cases: Array<[string, string]> = [
    ["192.0.2.12/24", "length 24 the network address is 192.0.2.0"],
    ["2001:DB8:1::24:19ff:fee1:c44a/64", "length 64 the network address is 2001:db8:1::"],
    ["2001:DB8:24:19ff::/63", "length 63 the network address is 2001:db8:24:19fe::"],
    ["192.168.127.0/23", "length 23 the network address is 192.168.126.0"],
  ];
  for (const [subnet, tail] of cases) {
    assert.throws(() => range(subnet), {
      message: `Network has host bits set. For a subnet mask of ${tail}`,
    });
  }
});

Deno.test("RG-7 IPv6 /64 defaults keep the all-ones address", () => {
  assert.deepEqual(texts(range("2001:DB8:1::/64")), {
    start: "2001:db8:1::1",
    end: "2001:db8:1:0:ffff:ffff:ffff:ffff", // one zero group is not compressed
    gw: "2001:db8:1::1",
  });
});

Deno.test("RG-8 /31 and /127 are too small; /126 is fine", () => {
  assert.throws(() => range("192.0.2.0/31"), {
    message: "Network 192.0.2.0/31 too small to allocate from",
  });
  assert.throws(() => range("fd00::/127"), {
    message: "Network fd00::/127 too small to allocate from",
  });
  assert.equal(texts(range("fd00::/126")).end, "fd00::3");
});

Deno.test("RG-9 start and end must lie in the network, start checked first", () => {
  assert.throws(() => range("192.0.2.0/24", { rangeStart: ip("192.0.3.0") }), {
    message: "RangeStart 192.0.3.0 not in network 192.0.2.0/24",
  });
  assert.throws(() => range("192.0.2.0/24", { rangeEnd: ip("192.0.4.0") }), {
    message: "RangeEnd 192.0.4.0 not in network 192.0.2.0/24",
  });
  assert.throws(
    () => range("192.0.2.0/24", { rangeStart: ip("192.0.2.50"), rangeEnd: ip("192.0.2.40") }),
    { message: "RangeStart 192.0.2.50 not in network 192.0.2.0/24" },
  );
  assert.throws(() => range("10.70.0.0/24", { rangeStart: ip("fd00::1") }), {
    message: "RangeStart fd00::1 not in network 10.70.0.0/24",
  });
});

Deno.test("RG-10 explicit start, end and gateway are kept", () => {
  const r = range("192.0.2.0/24", {
    rangeStart: ip("192.0.2.40"),
    rangeEnd: ip("192.0.2.50"),
    gateway: ip("192.0.2.254"),
  });
  assert.deepEqual(texts(r), { start: "192.0.2.40", end: "192.0.2.50", gw: "192.0.2.254" });
  assert.equal(r.rangeStart.family, 4);
});

Deno.test("RG-11/12 Contains honours start and end, v4 and v6", () => {
  const v4 = range("192.0.2.0/24", { rangeStart: ip("192.0.2.40"), rangeEnd: ip("192.0.2.50") });
  assert.deepEqual(
    ["192.0.2.39", "192.0.2.40", "192.0.2.50", "192.0.2.51", "192.0.3.40"].map((t) =>
      rangeContains(v4, ip(t))
    ),
    [false, true, true, false, false],
  );
  const v6 = range("2001:db8:1::/64", {
    rangeStart: ip("2001:db8:1::40"),
    rangeEnd: ip("2001:db8:1::50"),
  });
  assert.deepEqual(
    ["2001:db8:1::39", "2001:db8:1::40", "2001:db8:1::50", "2001:db8:1::51", "192.0.2.40"].map((
      t,
    ) => rangeContains(v6, ip(t))),
    [false, true, true, false, false],
  );
});

Deno.test("RG-13 Overlaps is commutative and family-aware", () => {
  const cases: Array<[Range, Range, boolean]> = [
    [range("10.0.0.0/24"), range("10.0.1.0/24"), false],
    [range("0.0.0.0/24"), range("::/24"), false],
    [range("10.0.0.0/24"), range("10.0.0.0/24"), true],
    [range("10.0.0.0/20"), range("10.0.2.0/24"), true],
    [
      range("10.0.0.0/24", { rangeEnd: ip("10.0.0.127") }),
      range("10.0.0.0/24", { rangeStart: ip("10.0.0.128") }),
      false,
    ],
    [
      range("10.0.0.0/24", { rangeEnd: ip("10.0.0.127") }),
      range("10.0.0.0/24", { rangeStart: ip("10.0.0.127") }),
      true,
    ],
  ];
  for (const [a, b, expected] of cases) {
    assert.equal(rangesOverlap(a, b), expected, `${formatRange(a)} vs ${formatRange(b)}`);
    assert.equal(rangesOverlap(b, a), expected);
  }
});

Deno.test("S-7 a gateway outside the subnet (or of the other family) is accepted", () => {
  assert.equal(texts(range("10.70.0.0/24", { gateway: ip("10.99.0.1") })).gw, "10.99.0.1");
  assert.equal(texts(range("10.70.0.0/24", { gateway: ip("fd00::1") })).gw, "fd00::1");
});

Deno.test("a v4-mapped IPv6 subnet is a version mismatch; a missing subnet has no family", () => {
  assert.throws(() => range("::ffff:10.0.0.0/120"), {
    message: "IPNet IP and Mask version mismatch",
  });
  assert.throws(() => canonicalizeRange({}), { message: "IP <nil> not v4 nor v6" });
});

import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { Address4 } from "ip-address";
import { compareIP, formatIP, nextIP, parseIP } from "../../src/net/ip.ts";
import { cidrContains, lastAddress, networkAddress, parseCIDR } from "../../src/net/cidr.ts";

Deno.test("parseIP follows Go: no leading zeros, no zones, v4-mapped is IPv4", () => {
  assert.equal(parseIP("010.1.0.5"), undefined);
  assert.equal(parseIP("fd00::1%eth0"), undefined);
  assert.equal(parseIP("1.2.3"), undefined);
  assert.equal(parseIP("1.2.3.4/24"), undefined);
  assert.equal(parseIP(" 1.2.3.4"), undefined);
  assert.equal(parseIP(""), undefined);
  assert.deepEqual(parseIP("::ffff:10.1.2.3"), { family: 4, value: 0x0a010203n });
  assert.deepEqual(parseIP("10.1.2.3"), { family: 4, value: 0x0a010203n });
  assert.equal(parseIP("::1.2.3.4")?.family, 6);
});

Deno.test("formatIP writes Go's canonical text (first longest zero run compressed)", () => {
  const cases: Array<[string, string]> = [
    ["fd00:0:0:1:0:1:0:1", "fd00::1:0:1:0:1"],
    ["2001:db8:0:0:1:0:0:10", "2001:db8::1:0:0:10"],
    ["2001:DB8::1", "2001:db8::1"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["0:0:1:0:0:1:0:0", "::1:0:0:1:0:0"],
    ["::1.2.3.4", "::102:304"],
    ["::ffff:1.2.3.4", "1.2.3.4"],
    ["::", "::"],
    ["10.0.0.255", "10.0.0.255"],
  ];
  for (const [input, expected] of cases) assert.equal(formatIP(parseIP(input)!), expected, input);
});

Deno.test("nextIP and compareIP do 128-bit arithmetic", () => {
  assert.equal(formatIP(nextIP(parseIP("10.0.0.255")!)), "10.0.1.0");
  assert.equal(formatIP(nextIP(parseIP("2001:db8::ffff:ffff:ffff:ffff")!)), "2001:db8:0:1::");
  assert.equal(compareIP(parseIP("10.0.0.1")!, parseIP("10.0.0.2")!), -1);
  assert.equal(compareIP(parseIP("fd00::1")!, parseIP("10.0.0.2")!), 2);
});

Deno.test("parseCIDR keeps host bits and the mask width Go stores", () => {
  const cidr = parseCIDR("10.1.2.3/8")!;
  assert.equal(formatIP(cidr.ip), "10.1.2.3");
  assert.equal(formatIP(networkAddress(cidr)), "10.0.0.0");
  assert.equal(formatIP(lastAddress(cidr)), "10.255.255.255");
  assert.equal(parseCIDR("::ffff:10.0.0.0/120")?.maskFamily, 6);
  assert.equal(parseCIDR("10.0.0.0/33"), undefined);
  assert.equal(parseCIDR("10.0.0.0"), undefined);
  assert.equal(parseCIDR("10.0.0.0/"), undefined);
  assert.equal(parseCIDR("10.0.0.0/024")?.prefix, 24);
  assert.ok(cidrContains(parseCIDR("2001:db8:1::/64")!, parseIP("2001:db8:1::ffff")!));
  assert.ok(!cidrContains(parseCIDR("10.0.0.0/24")!, parseIP("10.0.1.0")!));
});

function viaIpAddress(text: string) {
  // ip-address accepts a trailing "/prefix" and surrounding text Go refuses; only dotted quads.
  if (!/^[0-9.]+$/.test(text)) return undefined;
  try {
    return { family: 4, value: new Address4(text).bigInt() };
  } catch {
    return undefined;
  }
}

Deno.test("parseIP reads dotted quads exactly as ip-address does (2000 random inputs)", () => {
  const samples = [
    "0.0.0.0",
    "255.255.255.255",
    "256.1.1.1",
    "01.2.3.4",
    "1.2.3",
    "1.2.3.4.5",
    "1.2.3.4 ",
    "١.2.3.4",
    "::ffff:1.2.3.4",
    "fd00::1",
    "",
  ];
  const random = () => {
    const octet = () => {
      const n = Math.floor(Math.random() * 300);
      return Math.random() < 0.1 ? `0${n}` : String(n);
    };
    return `${octet()}.${octet()}.${octet()}.${octet()}`;
  };
  for (let i = 0; i < 2000; i++) samples.push(random());
  for (const text of samples) {
    if (text.includes(":")) continue;
    assert.deepEqual(parseIP(text), viaIpAddress(text), text);
  }
});

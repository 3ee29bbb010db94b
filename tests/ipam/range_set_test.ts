import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { parseCIDR } from "../../src/net/cidr.ts";
import { formatIP, parseIP } from "../../src/net/ip.ts";
import {
  canonicalizeRangeSet,
  formatRangeSet,
  rangeFor,
  rangeSetContains,
  rangeSetsOverlap,
} from "../../src/ipam/range_set.ts";

const set = (...subnets: string[]) =>
  canonicalizeRangeSet(subnets.map((s) => ({ subnet: parseCIDR(s)! })));

Deno.test("RS-1 lookups in a two-range set, and the not-in-set message", () => {
  const s = set("192.168.0.0/24", "172.16.1.0/24");
  assert.equal(rangeSetContains(s, parseIP("192.168.0.55")!), true);
  assert.equal(rangeFor(s, parseIP("192.168.0.55")!), s[0]);
  assert.throws(() => rangeFor(s, parseIP("192.168.99.99")!), {
    message: "192.168.99.99 not in range set 192.168.0.1-192.168.0.254,172.16.1.1-172.16.1.254",
  });
  assert.equal(formatIP(rangeFor(s, parseIP("172.16.1.9")!).gateway), "172.16.1.1");
});

Deno.test("RS-2 overlapping ranges inside a set are rejected", () => {
  assert.throws(() => set("192.168.0.0/20", "192.168.2.0/24"), {
    message: "subnets 192.168.0.1-192.168.15.254 and 192.168.2.1-192.168.2.254 overlap",
  });
});

Deno.test("RS-3 overlap between sets is detected both ways", () => {
  const a = set("192.168.0.0/20");
  const b = set("10.0.0.0/24", "192.168.2.0/24");
  assert.equal(rangeSetsOverlap(a, b), true);
  assert.equal(rangeSetsOverlap(b, a), true);
  assert.equal(rangeSetsOverlap(set("10.1.0.0/24"), set("10.2.0.0/24")), false);
});

Deno.test("set checks: empty, mixed families, String()", () => {
  assert.throws(() => canonicalizeRangeSet([]), { message: "empty range set" });
  assert.throws(() => set("10.70.0.0/24", "fd00::/64"), { message: "mixed address families" });
  assert.equal(
    formatRangeSet(set("10.30.0.0/30", "10.31.0.0/30")),
    "10.30.0.1-10.30.0.2,10.31.0.1-10.31.0.2",
  );
});

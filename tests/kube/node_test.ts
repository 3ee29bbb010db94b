import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { findCondition, ipv4PodCIDR, type NodeView, parseNode } from "../../src/kube/node.ts";
import { bareNode, flannelNode } from "./fixtures.ts";

Deno.test("parseNode: the fields keepnet uses, from the wire format", () => {
  const wire = flannelNode("edge-1", 3);
  wire.metadata.uid = "uid-1";
  wire.metadata.resourceVersion = "42";
  const parsed = parseNode(wire);
  assert.ok("ok" in parsed);
  assert.deepEqual(parsed.ok, {
    name: "edge-1",
    uid: "uid-1",
    resourceVersion: "42",
    annotations: wire.metadata.annotations,
    podCIDRs: ["10.244.3.0/24"],
    conditions: wire.status.conditions,
  });
});

Deno.test("parseNode: lenient about everything but the name", () => {
  const parsed = parseNode({
    metadata: { name: "odd", annotations: { good: "yes", bad: 7, worse: null }, uid: 5 },
    spec: { podCIDRs: [], podCIDR: "10.0.0.0/24" },
    status: { conditions: [{ type: "Ready" }, { status: "True" }, "junk"] },
  });
  assert.ok("ok" in parsed);
  assert.deepEqual(parsed.ok, {
    name: "odd",
    uid: "",
    resourceVersion: "",
    annotations: { good: "yes" },
    podCIDRs: ["10.0.0.0/24"],
    conditions: [{ type: "Ready", status: "" }],
  });
  for (const junk of [null, "node", [], {}, { metadata: { name: "" } }, { metadata: 3 }]) {
    assert.ok("error" in parseNode(junk), JSON.stringify(junk));
  }
});

function withCIDRs(podCIDR: string | string[] | undefined): NodeView {
  const parsed = parseNode(bareNode("n", podCIDR));
  assert.ok("ok" in parsed);
  return parsed.ok;
}

Deno.test("ipv4PodCIDR: the first IPv4 of one or two pod CIDRs, as flanneld picks it", () => {
  const cases: [string | string[], string][] = [
    ["10.244.1.0/24", "10.244.1.0/24"],
    ["10.244.1.7/24", "10.244.1.0/24"],
    [["10.244.1.0/24", "fd00:1::/64"], "10.244.1.0/24"],
    [["fd00:1::/64", "10.244.2.0/24"], "10.244.2.0/24"],
  ];
  for (const [cidrs, expected] of cases) {
    assert.deepEqual(ipv4PodCIDR(withCIDRs(cidrs)), { ok: expected }, JSON.stringify(cidrs));
  }
});

Deno.test("ipv4PodCIDR: errors for none, more than two, invalid or IPv6 only", () => {
  const cases: [string | string[] | undefined, RegExp][] = [
    [undefined, /no pod CIDR/],
    [["10.0.1.0/24", "10.0.2.0/24", "fd00::/64"], /3 pod CIDRs/],
    ["10.0.1.0", /not a CIDR/],
    [["10.0.1.0/24", "bogus"], /not a CIDR/],
    ["fd00:1::/64", /no IPv4 pod CIDR/],
    ["::ffff:10.0.0.0/120", /no IPv4 pod CIDR/],
  ];
  for (const [cidrs, message] of cases) {
    const result = ipv4PodCIDR(withCIDRs(cidrs));
    assert.ok("error" in result, JSON.stringify(cidrs));
    assert.match(result.error, message);
  }
});

Deno.test("findCondition: by type", () => {
  const node = withCIDRs("10.0.0.0/24");
  assert.equal(findCondition(node, "Ready")?.status, "True");
  assert.equal(findCondition(node, "NetworkUnavailable"), undefined);
});

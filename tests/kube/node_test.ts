import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { ipv4PodCIDR, type NodeView, parseNode } from "../../src/kube/node.ts";
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
  });
});

Deno.test("parseNode: lenient about everything but the name", () => {
  const parsed = parseNode({
    metadata: { name: "odd", annotations: { good: "yes", bad: 7, worse: null }, uid: 5 },
    spec: { podCIDRs: [], podCIDR: "10.0.0.0/24" },
    status: { conditions: [{ type: "NetworkUnavailable" }, { status: "True" }, "junk"] },
  });
  assert.ok("ok" in parsed);
  assert.deepEqual(parsed.ok, {
    name: "odd",
    uid: "",
    resourceVersion: "",
    annotations: { good: "yes" },
    podCIDRs: ["10.0.0.0/24"],
    networkUnavailable: { type: "NetworkUnavailable", status: "" },
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

Deno.test("parseNode: of the conditions only NetworkUnavailable is kept, whole", () => {
  const unavailable = {
    type: "NetworkUnavailable",
    status: "False",
    reason: "FlannelIsUp",
    message: "Flannel is running on this node",
    lastHeartbeatTime: "2026-01-01T00:00:00Z",
    lastTransitionTime: "2026-01-01T00:00:00Z",
  };
  const parsed = parseNode(
    flannelNode("edge-1", 3, { conditions: [{ type: "Ready", status: "True" }, unavailable] }),
  );
  assert.ok("ok" in parsed);
  assert.deepEqual(parsed.ok.networkUnavailable, unavailable);
  assert.equal(withCIDRs("10.0.0.0/24").networkUnavailable, undefined, "a Ready condition alone");
});

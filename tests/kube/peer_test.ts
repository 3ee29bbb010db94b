import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { flannelAnnotationKeys } from "../../src/kube/annotations.ts";
import { parseNode } from "../../src/kube/node.ts";
import { nodeToPeer, type PeerDecision } from "../../src/kube/peer.ts";
import type { NodeObject } from "./apiserver.ts";
import { flannelNode, type FlannelNodeOptions, PREFIX } from "./fixtures.ts";

const keysResult = flannelAnnotationKeys();
assert.ok("ok" in keysResult);
const keys = keysResult.ok;

function decide(wire: NodeObject, self = "self"): PeerDecision {
  const node = parseNode(wire);
  assert.ok("ok" in node);
  return nodeToPeer(node.ok, keys, self);
}

function peerWith(options: FlannelNodeOptions): PeerDecision {
  return decide(flannelNode("peer", 5, options));
}

Deno.test("a flannel VXLAN node is a peer", () => {
  assert.deepEqual(decide(flannelNode("peer", 5)), {
    ok: {
      name: "peer",
      v4: { podCIDR: "10.244.5.0/24", publicIP: "192.168.0.5", mac: "0a:00:00:00:00:05" },
      vni: 1,
    },
  });
  const legacy = peerWith({
    annotations: { [`${PREFIX}backend-data`]: '{"VtepMAC":"0A:00:00:00:00:05"}' },
    podCIDR: ["fd00:5::/64", "10.244.5.0/24"],
  });
  assert.deepEqual(legacy, {
    ok: {
      name: "peer",
      v4: { podCIDR: "10.244.5.0/24", publicIP: "192.168.0.5", mac: "0a:00:00:00:00:05" },
    },
  });
});

Deno.test("the own node and nodes not managed by flannel are ignored, quietly", () => {
  assert.deepEqual(decide(flannelNode("self", 1)), { ignored: "this is the own node" });
  for (const value of [undefined, "false", "True", ""]) {
    const decision = peerWith({ annotations: { [`${PREFIX}kube-subnet-manager`]: value } });
    assert.ok("ignored" in decision, `kube-subnet-manager=${value}`);
  }
});

Deno.test("each malformed variant is an error naming the problem", () => {
  const cases: [FlannelNodeOptions, RegExp][] = [
    [{ annotations: { [`${PREFIX}backend-type`]: "host-gw" } }, /backend type is "host-gw"/],
    [{ annotations: { [`${PREFIX}backend-type`]: undefined } }, /backend type is ""/],
    [{ annotations: { [`${PREFIX}public-ip`]: undefined } }, /no .*public-ip annotation/],
    [{ publicIP: "192.168.0" }, /is not a unicast IPv4/],
    [{ publicIP: "fd00::5" }, /is not a unicast IPv4/],
    [{ publicIP: "0.0.0.0" }, /is not a unicast IPv4/],
    [{ publicIP: "239.1.1.1" }, /is not a unicast IPv4/],
    [{ annotations: { [`${PREFIX}backend-data`]: undefined } }, /no .*backend-data annotation/],
    [{ annotations: { [`${PREFIX}backend-data`]: "null" } }, /not a JSON object/],
    [{ annotations: { [`${PREFIX}backend-data`]: '{"VNI":1}' } }, /no VtepMAC/],
    [{ mac: "01:00:5e:00:00:05" }, /multicast/],
    [{ podCIDR: [] }, /no pod CIDR/],
    [{ podCIDR: "fd00:5::/64" }, /no IPv4 pod CIDR/],
    [{ podCIDR: ["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"] }, /3 pod CIDRs/],
  ];
  for (const [options, message] of cases) {
    const decision = peerWith(options);
    assert.ok("error" in decision, `${JSON.stringify(options)}: ${JSON.stringify(decision)}`);
    assert.match(decision.error, message, JSON.stringify(options));
  }
});

Deno.test("a malformed node does not affect the others", () => {
  const nodes = [
    flannelNode("a", 1),
    flannelNode("b", 2, { mac: "ff:ff:ff:ff:ff:ff" }),
    flannelNode("c", 3),
    flannelNode("self", 4),
  ];
  const peers = nodes.map((node) => decide(node)).flatMap((decision) =>
    "ok" in decision ? [decision.ok.name] : []
  );
  assert.deepEqual(peers, ["a", "c"]);
});

Deno.test("a custom annotation prefix is honoured", () => {
  const custom = flannelAnnotationKeys("example.com/net");
  assert.ok("ok" in custom);
  const wire = flannelNode("p", 2);
  const renamed: Record<string, string> = {};
  for (const [key, value] of Object.entries(wire.metadata.annotations as Record<string, string>)) {
    renamed[key.replace(PREFIX, "example.com/net-")] = value;
  }
  wire.metadata.annotations = renamed;
  const node = parseNode(wire);
  assert.ok("ok" in node);
  assert.ok("ok" in nodeToPeer(node.ok, custom.ok, "self"));
  assert.ok("ignored" in nodeToPeer(node.ok, keys, "self"), "the default keys find nothing");
});

import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { emptyDNS, encodeResult, type Result } from "../../src/cni/result.ts";
import { parseCIDR } from "../../src/net/cidr.ts";
import { parseIP } from "../../src/net/ip.ts";

const ip = (text: string) => parseIP(text)!;

const dualStack: Result = {
  ips: [
    { ip: ip("10.210.0.2"), prefix: 24, gateway: ip("10.210.0.1") },
    { ip: ip("fd00:210::2"), prefix: 64, gateway: ip("fd00:210::1") },
  ],
  routes: [
    { dst: parseCIDR("0.0.0.0/0")! },
    {
      dst: parseCIDR("10.9.9.9/8")!,
      gw: ip("10.210.0.254"),
      mtu: 1400,
      advmss: 1360,
      priority: 5,
      table: 100,
      scope: 253,
    },
  ],
  dns: emptyDNS(),
};

Deno.test("S-4 1.x results: keys sorted, empty dns left out, all route fields (runs/30)", () => {
  assert.equal(
    encodeResult(dualStack, "1.1.0"),
    `{
    "cniVersion": "1.1.0",
    "ips": [
        {
            "address": "10.210.0.2/24",
            "gateway": "10.210.0.1"
        },
        {
            "address": "fd00:210::2/64",
            "gateway": "fd00:210::1"
        }
    ],
    "routes": [
        {
            "dst": "0.0.0.0/0"
        },
        {
            "advmss": 1360,
            "dst": "10.9.9.9/8",
            "gw": "10.210.0.254",
            "mtu": 1400,
            "priority": 5,
            "scope": 253,
            "table": 100
        }
    ]
}`,
  );
});

Deno.test("S-4 0.4.0 results: version per IP, struct order, dns always present (runs/30)", () => {
  assert.equal(
    encodeResult(dualStack, "0.4.0"),
    `{
    "cniVersion": "0.4.0",
    "ips": [
        {
            "version": "4",
            "address": "10.210.0.2/24",
            "gateway": "10.210.0.1"
        },
        {
            "version": "6",
            "address": "fd00:210::2/64",
            "gateway": "fd00:210::1"
        }
    ],
    "routes": [
        {
            "dst": "0.0.0.0/0"
        },
        {
            "dst": "10.9.9.9/8",
            "gw": "10.210.0.254",
            "mtu": 1400,
            "advmss": 1360,
            "priority": 5,
            "table": 100,
            "scope": 253
        }
    ],
    "dns": {}
}`,
  );
});

Deno.test("S-4 0.2.0 results: first IP per family, routes by dst family, dst/gw only", () => {
  assert.equal(
    encodeResult(dualStack, "0.2.0"),
    `{
    "cniVersion": "0.2.0",
    "ip4": {
        "ip": "10.210.0.2/24",
        "gateway": "10.210.0.1",
        "routes": [
            {
                "dst": "0.0.0.0/0"
            },
            {
                "dst": "10.9.9.9/8",
                "gw": "10.210.0.254"
            }
        ]
    },
    "ip6": {
        "ip": "fd00:210::2/64",
        "gateway": "fd00:210::1"
    },
    "dns": {}
}`,
  );
  assert.match(encodeResult(dualStack, ""), /"cniVersion": "0\.1\.0"/);
});

Deno.test("dns members: sorted in 1.x, struct order in 0.x; null routes and missing dst kept", () => {
  const result: Result = {
    ips: [{ ip: ip("10.0.0.2"), prefix: 24, gateway: ip("10.0.0.1") }],
    routes: [null, { gw: ip("1.2.3.4") }],
    dns: { nameservers: ["10.0.0.53"], domain: "example.com", search: ["a"], options: ["ndots:5"] },
  };
  const v1 = JSON.parse(encodeResult(result, "1.0.0"));
  assert.deepEqual(Object.keys(v1), ["cniVersion", "dns", "ips", "routes"]);
  assert.deepEqual(Object.keys(v1.dns), ["domain", "nameservers", "options", "search"]);
  assert.deepEqual(v1.routes, [null, { dst: "<nil>", gw: "1.2.3.4" }]);
  const v031 = JSON.parse(encodeResult(result, "0.3.1"));
  assert.deepEqual(Object.keys(v031.dns), ["nameservers", "domain", "search", "options"]);
  assert.match(encodeResult(result, "0.3.1"), /"dst": "\\u003cnil\\u003e"/);
});

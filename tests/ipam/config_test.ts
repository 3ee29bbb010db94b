import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { type IPAMConfig, loadIPAMConfig } from "../../src/ipam/config.ts";
import { formatIP } from "../../src/net/ip.ts";
import { formatRange } from "../../src/ipam/range.ts";
import { formatIPNet } from "../../src/cni/result.ts";

const load = (config: unknown, args = "") => loadIPAMConfig(config, args);
const sets = (conf: IPAMConfig) => conf.rangeSets.map((set) => set.map(formatRange));
const requested = (conf: IPAMConfig) => conf.requestedIPs.map(formatIP);
const net = (ipam: unknown, extra: Record<string, unknown> = {}) => ({
  cniVersion: "0.3.1",
  name: "mynet",
  ipam,
  ...extra,
});

Deno.test("CF-1 old-style config becomes one range set", () => {
  const conf = load(net({
    type: "host-local",
    subnet: "10.1.2.0/24",
    rangeStart: "10.1.2.9",
    rangeEnd: "10.1.2.20",
    gateway: "10.1.2.30",
  }));
  assert.equal(conf.name, "mynet");
  assert.equal(conf.cniVersion, "0.3.1");
  assert.deepEqual(sets(conf), [["10.1.2.9-10.1.2.20"]]);
  assert.equal(formatIP(conf.rangeSets[0]![0]!.gateway), "10.1.2.30");
  assert.equal(formatIPNet(conf.rangeSets[0]![0]!.subnet), "10.1.2.0/24");
  assert.equal(conf.keepPodIP, true);
});

Deno.test("CF-2 new-style config: given ranges kept, missing fields defaulted", () => {
  const conf = load(net({
    ranges: [
      [{
        subnet: "10.1.2.0/24",
        rangeStart: "10.1.2.9",
        rangeEnd: "10.1.2.20",
        gateway: "10.1.2.30",
      }, {
        subnet: "10.1.4.0/24",
      }],
      [{
        subnet: "11.1.2.0/24",
        rangeStart: "11.1.2.9",
        rangeEnd: "11.1.2.20",
        gateway: "11.1.2.30",
      }],
    ],
  }));
  assert.deepEqual(sets(conf), [["10.1.2.9-10.1.2.20", "10.1.4.1-10.1.4.254"], [
    "11.1.2.9-11.1.2.20",
  ]]);
  assert.equal(formatIP(conf.rangeSets[0]![1]!.gateway), "10.1.4.1");
});

Deno.test("CF-3 order: runtimeConfig.ipRanges, legacy subnet, ranges", () => {
  const conf = load(net({ subnet: "10.1.2.0/24", ranges: [[{ subnet: "11.1.2.0/24" }]] }, {
    runtimeConfig: { ipRanges: [[{ subnet: "12.1.3.0/24" }]], other: { x: 1 } },
  }));
  assert.deepEqual(sets(conf), [["12.1.3.1-12.1.3.254"], ["10.1.2.1-10.1.2.254"], [
    "11.1.2.1-11.1.2.254",
  ]]);
});

Deno.test("CF-4 CNI_ARGS IP=, with or without a prefix", () => {
  const ipam = { subnet: "10.1.2.0/24" };
  assert.deepEqual(requested(load(net(ipam), "IP=10.1.2.10")), ["10.1.2.10"]);
  assert.deepEqual(requested(load(net(ipam), "IP=10.1.2.11/24")), ["10.1.2.11"]);
  assert.deepEqual(requested(load(net(ipam), "IP=10.1.2.5;IP=")), ["10.1.2.5"]);
  assert.deepEqual(requested(load(net(ipam), "IP=")), []);
});

Deno.test("CF-5 args.cni.ips follow CNI_ARGS, prefixes stripped", () => {
  const conf = load(
    net({ subnet: "10.1.2.0/24" }, {
      args: { cni: { ips: ["10.1.2.11", "11.11.11.11", "2001:db8:1::11/64"] } },
    }),
    "IP=10.1.2.10",
  );
  assert.deepEqual(requested(conf), ["10.1.2.10", "10.1.2.11", "11.11.11.11", "2001:db8:1::11"]);
  assert.equal(conf.requestedIPs[3]!.family, 6);
});

Deno.test("CF-6..9 overlap, mixed families and the per-family limit of old versions", () => {
  assert.throws(
    () => load(net({ ranges: [[{ subnet: "10.0.0.0/24" }], [{ subnet: "10.0.0.0/16" }]] })),
    {
      message: "range set 0 overlaps with 1",
    },
  );
  assert.throws(
    () => load(net({ ranges: [[{ subnet: "10.1.0.0/22" }, { subnet: "10.1.2.0/24" }]] })),
    { message: "invalid range set 0: subnets 10.1.0.1-10.1.3.254 and 10.1.2.1-10.1.2.254 overlap" },
  );
  assert.throws(
    () => load(net({ ranges: [[{ subnet: "10.1.0.0/24" }, { subnet: "2001:db8::/64" }]] })),
    {
      message: "invalid range set 0: mixed address families",
    },
  );
  assert.throws(
    () =>
      load({
        ...net({ ranges: [[{ subnet: "10.1.0.0/24" }], [{ subnet: "10.2.0.0/24" }]] }),
        cniVersion: "0.2.0",
      }),
    { message: "CNI version 0.2.0 does not support more than 1 address per family" },
  );
  assert.throws(
    () =>
      load({
        name: "n",
        ipam: { ranges: [[{ subnet: "10.1.0.0/24" }], [{ subnet: "10.2.0.0/24" }]] },
      }),
    { message: "CNI version  does not support more than 1 address per family" },
  );
});

Deno.test("CF-10 0.2.0 allows one set per family", () => {
  const conf = load({
    ...net({ ranges: [[{ subnet: "10.1.0.0/24" }], [{ subnet: "2001:db8::/64" }]] }),
    cniVersion: "0.2.0",
  });
  assert.equal(conf.rangeSets.length, 2);
});

Deno.test("CF-11 runtimeConfig.ips", () => {
  const conf = load(net({ subnet: "192.168.0.0/24" }, {
    runtimeConfig: { ips: ["192.168.0.1", "192.168.0.5/24", "2001:db8::1/64"] },
  }));
  assert.deepEqual(requested(conf), ["192.168.0.1", "192.168.0.5", "2001:db8::1"]);
});

Deno.test("S-5 the validation catalogue of host-local (runs/08)", () => {
  const cases: Array<[unknown, string]> = [
    [{}, "no IP ranges specified"],
    [{ ranges: [] }, "no IP ranges specified"],
    [{ ranges: [[]] }, "invalid range set 0: empty range set"],
    [
      { subnet: "10.70.0.0/31" },
      "invalid range set 0: Network 10.70.0.0/31 too small to allocate from",
    ],
    [
      { subnet: "10.70.0.5/24" },
      "invalid range set 0: Network has host bits set. For a subnet mask of length 24 the network address is 10.70.0.0",
    ],
    [
      { subnet: "10.70.0.0/24", rangeEnd: "10.71.0.1" },
      "invalid range set 0: RangeEnd 10.71.0.1 not in network 10.70.0.0/24",
    ],
    [{ subnet: "notacidr" }, "invalid CIDR address: notacidr"],
    [{ subnet: "" }, "invalid CIDR address: "],
    [{ subnet: null }, "invalid CIDR address: "],
    [{ subnet: "010.1.0.0/24" }, "invalid CIDR address: 010.1.0.0/24"],
    [{ subnet: "10.70.0.0/24", rangeStart: "nope" }, "invalid IP address: nope"],
    [{ ranges: [[{ rangeStart: "10.1.1.1" }]] }, "invalid range set 0: IP <nil> not v4 nor v6"],
    [
      { subnet: "10.70.0.0/24", ranges: [[{ subnet: "10.70.0.0/24" }]] },
      "range set 0 overlaps with 1",
    ],
    [{
      ranges: [[{ subnet: "10.70.0.0/24" }], [{ subnet: "10.71.0.0/24" }], [{
        subnet: "10.70.0.128/25",
      }]],
    }, "range set 0 overlaps with 2"],
    [
      { ranges: [[{ subnet: "10.70.0.0/24" }]], routes: [{ dst: "bad" }] },
      "invalid CIDR address: bad",
    ],
  ];
  for (const [ipam, message] of cases) {
    assert.throws(() => load(net(ipam)), { message }, JSON.stringify(ipam));
  }
  assert.throws(() => load({ name: "n" }), { message: "IPAM config missing 'ipam' key" });
  assert.throws(() => load({ name: "n", ipam: null }), {
    message: "IPAM config missing 'ipam' key",
  });
});

Deno.test("S-5 requested IP syntax errors", () => {
  const ipam = { subnet: "10.60.0.0/24" };
  assert.throws(() => load(net(ipam, { args: { cni: { ips: ["bogus"] } } })), {
    message: "invalid IP address bogus",
  });
  assert.throws(() => load(net(ipam, { runtimeConfig: { ips: [""] } })), {
    message: "cannot understand ip: IP <nil> not v4 nor v6",
  });
  assert.throws(() => load(net(ipam, { runtimeConfig: { ips: [null] } })), {
    message: "cannot understand ip: IP <nil> not v4 nor v6",
  });
  assert.throws(() => load(net(ipam), "IP=notanip"), {
    message: 'ARGS: error parsing value of pair "IP=notanip": invalid IP address notanip',
  });
  assert.throws(() => load(net(ipam), "IP=fd00::1%eth0"), {
    message: 'ARGS: error parsing value of pair "IP=fd00::1%eth0": invalid IP address fd00::1%eth0',
  });
  assert.deepEqual(requested(load(net(ipam), "IP=::ffff:10.60.0.77")), ["10.60.0.77"]);
});

Deno.test("S-6 Go JSON: keys match case-insensitively and the last one wins", () => {
  const conf = load({
    cniVersion: "1.0.0",
    name: "ci",
    IPAM: {
      TYPE: "host-local",
      DataDir: "/d",
      SUBNET: "10.180.0.0/24",
      RangeStart: "10.180.0.50",
      GATEWAY: "10.180.0.254",
    },
    RuntimeConfig: { IPs: ["10.180.0.9"] },
  });
  assert.deepEqual(sets(conf), [["10.180.0.50-10.180.0.254"]]);
  assert.equal(conf.dataDir, "/d");
  assert.deepEqual(requested(conf), ["10.180.0.9"]);
  assert.deepEqual(sets(load(net({ SUBNET: "10.192.0.0/24", subnet: "10.193.0.0/24" }))), [[
    "10.193.0.1-10.193.0.254",
  ]]);
  assert.deepEqual(sets(load(net({ subnet: "10.193.0.0/24", SUBNET: "10.192.0.0/24" }))), [[
    "10.192.0.1-10.192.0.254",
  ]]);
  assert.deepEqual(sets(load(net({ "\u017fubnet": "10.194.0.0/24" }))), [[
    "10.194.0.1-10.194.0.254",
  ]]);
});

Deno.test('S-6 Go JSON: null is absent; "" IPs are absent; unknown keys ignored', () => {
  const conf = load(
    net({
      subnet: "10.187.0.0/24",
      routes: null,
      ranges: null,
      rangeStart: "",
      gateway: null,
      unknownField: 1,
    }, {
      runtimeConfig: { ipRanges: [] },
      args: { other: { x: 1 } },
    }),
  );
  assert.deepEqual(sets(conf), [["10.187.0.1-10.187.0.254"]]);
  assert.deepEqual(conf.routes, []);
});

Deno.test("S-6 Go JSON: type errors name the struct field as Go does (runs/23 and probes)", () => {
  const cases: Array<[unknown, string]> = [
    [
      net({ subnet: 5 }),
      "json: cannot unmarshal number into Go struct field IPAMConfig.ipam.subnet of type string",
    ],
    [
      net({ ranges: { a: 1 } }),
      "json: cannot unmarshal object into Go struct field IPAMConfig.ipam.ranges of type []allocator.RangeSet",
    ],
    [
      net({ ranges: ["x"] }),
      "json: cannot unmarshal string into Go struct field IPAMConfig.ipam.ranges of type allocator.RangeSet",
    ],
    [
      net({ ranges: [["x"]] }),
      "json: cannot unmarshal string into Go struct field IPAMConfig.ipam.ranges of type allocator.Range",
    ],
    [
      net({ ranges: [[{ subnet: "10.1.0.0/24", gateway: 5 }]] }),
      "json: cannot unmarshal number into Go struct field Range.ipam.ranges.gateway of type net.IP",
    ],
    [
      net({ subnet: "10.1.0.0/24", rangeStart: 5 }),
      "json: cannot unmarshal number into Go struct field IPAMConfig.ipam.rangeStart of type net.IP",
    ],
    [
      net({ subnet: "10.1.0.0/24", name: 5 }),
      "json: cannot unmarshal number into Go struct field IPAMConfig.ipam.Name of type string",
    ],
    [
      net({ subnet: "10.1.0.0/24", type: true }),
      "json: cannot unmarshal bool into Go struct field IPAMConfig.ipam.type of type string",
    ],
    [
      net({ subnet: "10.1.0.0/24", routes: {} }),
      "json: cannot unmarshal object into Go struct field IPAMConfig.ipam.routes of type []*types.Route",
    ],
    [
      net({ subnet: "10.1.0.0/24", routes: [5] }),
      "json: cannot unmarshal number into Go struct field IPAMConfig.ipam.routes of type types.route",
    ],
    [
      net({ subnet: "10.1.0.0/24", routes: [{ dst: "1.0.0.0/8", gw: 5 }] }),
      "json: cannot unmarshal number into Go struct field IPAMConfig.ipam.routes of type net.IP",
    ],
    [
      net({ subnet: "10.1.0.0/24", routes: [{ dst: 5 }] }),
      "json: cannot unmarshal number into Go struct field IPAMConfig.ipam.routes of type string",
    ],
    [
      net("str"),
      "json: cannot unmarshal string into Go struct field Net.ipam of type allocator.IPAMConfig",
    ],
    [
      net({ subnet: "10.1.0.0/24" }, { runtimeConfig: { ips: "x" } }),
      "json: cannot unmarshal string into Go struct field .runtimeConfig.ips of type []*ip.IP",
    ],
    [
      net({ subnet: "10.1.0.0/24" }, { runtimeConfig: { ips: [5] } }),
      "json: cannot unmarshal number into Go struct field .runtimeConfig.ips of type *ip.IP",
    ],
    [
      net({ subnet: "10.1.0.0/24" }, { runtimeConfig: { ipRanges: [[{ subnet: 5 }]] } }),
      "json: cannot unmarshal number into Go struct field Range.runtimeConfig.ipRanges.subnet of type string",
    ],
    [
      net({ subnet: "10.1.0.0/24" }, { args: { cni: "x" } }),
      "json: cannot unmarshal string into Go struct field .args.cni of type allocator.IPAMArgs",
    ],
    [
      net({ subnet: "10.1.0.0/24" }, { args: { cni: { ips: "10.1.0.5" } } }),
      "json: cannot unmarshal string into Go struct field IPAMArgs.args.cni.ips of type []*ip.IP",
    ],
    [
      net({ subnet: "10.1.0.0/24" }, { args: "x" }),
      'json: cannot unmarshal string into Go struct field Net.args of type struct { A *allocator.IPAMArgs "json:\\"cni\\"" }',
    ],
    // A custom unmarshaler's error stops decoding, even after an earlier type error.
    [net({ type: 5, subnet: "bad" }), "invalid CIDR address: bad"],
  ];
  for (const [config, message] of cases) {
    assert.throws(() => load(config), { message }, JSON.stringify(config));
  }
});

Deno.test("routes keep every field and null entries", () => {
  const conf = load(net({
    subnet: "10.1.0.0/24",
    routes: [
      {
        dst: "10.1.2.3/8",
        gw: "10.70.0.1",
        mtu: 1400,
        advmss: 1360,
        priority: 5,
        table: 0,
        scope: 253,
      },
      null,
      { gw: "1.2.3.4" },
    ],
  }));
  assert.equal(conf.routes.length, 3);
  assert.equal(formatIPNet(conf.routes[0]!.dst!), "10.1.2.3/8");
  assert.equal(conf.routes[0]!.table, 0);
  assert.equal(conf.routes[1], null);
  assert.equal(conf.routes[2]!.dst, undefined);
});

Deno.test("keepnet keys: keepPodIP and bindingTTL", () => {
  assert.equal(load(net({ subnet: "10.1.0.0/24", keepPodIP: false })).keepPodIP, false);
  assert.equal(
    load(net({ subnet: "10.1.0.0/24", bindingTTL: "168h" })).bindingTTL,
    168 * 3_600_000,
  );
  assert.equal(load(net({ subnet: "10.1.0.0/24", BindingTTL: "1h30m" })).bindingTTL, 5_400_000);
  assert.throws(() => load(net({ subnet: "10.1.0.0/24", keepPodIP: "yes" })), {
    message:
      "json: cannot unmarshal string into Go struct field IPAMConfig.ipam.keepPodIP of type bool",
  });
  assert.throws(() => load(net({ subnet: "10.1.0.0/24", bindingTTL: "7d" })), {
    message: 'invalid ipam.bindingTTL: time: unknown unit "d" in duration "7d"',
  });
  assert.throws(() => load(net({ subnet: "10.1.0.0/24", bindingTTL: "0s" })), {
    message: 'invalid ipam.bindingTTL "0s": it must be a positive duration',
  });
});

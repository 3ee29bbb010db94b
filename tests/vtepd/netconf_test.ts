import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { NetConfError, parseNetConf } from "../../src/vtepd/netconf.ts";
import { formatCIDR } from "../../src/net/cidr.ts";

Deno.test("net-conf.json: flannel's default ConfigMap parses with flannel's defaults", () => {
  const conf = parseNetConf(
    '{"Network":"10.244.0.0/16","EnableNFTables":false,"Backend":{"Type":"vxlan"}}',
  );
  assert.equal(formatCIDR(conf.network!), "10.244.0.0/16");
  assert.deepEqual(conf.backend, {
    vni: 1,
    port: 0,
    mtu: 0,
    gbp: false,
    learning: false,
    directRouting: false,
  });
});

Deno.test("net-conf.json: keys match case-insensitively and the last spelling wins", () => {
  const conf = parseNetConf(
    '{"network":"10.1.0.0/16","NETWORK":"10.2.0.0/16","backend":{"type":"VXLAN","vni":4096,"port":4789,"directrouting":true,"MTU":1400}}',
  );
  assert.equal(formatCIDR(conf.network!), "10.2.0.0/16");
  assert.equal(conf.backend.vni, 4096);
  assert.equal(conf.backend.port, 4789);
  assert.equal(conf.backend.mtu, 1400);
  assert.equal(conf.backend.directRouting, true);
});

Deno.test("net-conf.json: bad input is rejected with a message naming the key", () => {
  const cases: Array<[string, RegExp]> = [
    ["not json", /not JSON/],
    ["[]", /JSON object/],
    ['{"Backend":{"Type":"vxlan"}}', /Network/],
    ['{"Network":"fd00::/64","Backend":{"Type":"vxlan"}}', /not an IPv4 CIDR/],
    ['{"Network":"10.244.1.0/16","Backend":{"Type":"vxlan"}}', /host bits/],
    ['{"Network":"10.244.0.0/16"}', /Backend is required/],
    ['{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}', /only vxlan/],
    ['{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":"1"}}', /Backend.VNI/],
    ['{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","Port":70000}}', /Backend.Port/],
    [
      '{"Network":"10.244.0.0/16","EnableIPv6":true,"Backend":{"Type":"vxlan"}}',
      /IPv6Network \(IPv6 CIDR\) is required when EnableIPv6 is true/,
    ],
    [
      '{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"10.3.0.0/16","Backend":{"Type":"vxlan"}}',
      /IPv6Network "10.3.0.0\/16" is not an IPv6 CIDR/,
    ],
    ['{"EnableIPv4":false,"EnableIPv6":false,"Backend":{"Type":"vxlan"}}', /both false/],
    ['{"EnableIPv4":"no","Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}', /EnableIPv4/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseNetConf(text), (error: unknown) => {
      assert.ok(error instanceof NetConfError, text);
      assert.match(error.message, message, text);
      return true;
    });
  }
});

Deno.test("net-conf.json: dual-stack and IPv6-only overlays, and EnableNFTables", () => {
  const dual = parseNetConf(
    '{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","EnableNFTables":true,"Backend":{"Type":"vxlan"}}',
  );
  assert.equal(formatCIDR(dual.network!), "10.244.0.0/16");
  assert.equal(formatCIDR(dual.ipv6Network!), "fd00:10:244::/56");
  assert.equal(dual.enableNFTables, true);
  const v6only = parseNetConf(
    '{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","Backend":{"Type":"vxlan"}}',
  );
  assert.equal(v6only.network, undefined, "no IPv4 Network needed when EnableIPv4 is false");
  assert.equal(formatCIDR(v6only.ipv6Network!), "fd00:10:244::/56");
  assert.equal(v6only.enableNFTables, false);
});

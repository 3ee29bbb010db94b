import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import {
  requireCIDR,
  requireFamily,
  requireIfindex,
  requireInteger,
  requireInterfaceName,
  requireIP,
  requireMAC,
  requireNetworkCIDR,
} from "../../src/netlink/input.ts";

Deno.test("requireIP accepts Go's IP text and names the field when it refuses", () => {
  assert.deepEqual(requireIP("10.244.1.0", "gw"), { family: 4, value: 0x0af40100n });
  assert.equal(requireIP("fd00::1", "gw").family, 6);
  assert.throws(() => requireIP("10.244.1", "route gateway"), {
    name: "TypeError",
    message: 'route gateway must be an IP address, got "10.244.1"',
  });
  assert.throws(() => requireIP(42, "gw"), TypeError);
});

Deno.test("requireCIDR wants a prefix; requireNetworkCIDR also refuses host bits", () => {
  assert.equal(requireCIDR("10.244.1.5/24", "address").prefix, 24);
  assert.throws(
    () => requireCIDR("10.244.1.5", "address"),
    /address must be <ip>\/<prefix length>/,
  );
  assert.throws(() => requireCIDR("10.244.1.5/33", "address"), TypeError);
  assert.throws(() => requireCIDR("::ffff:10.0.0.0/104", "dst"), TypeError);
  assert.equal(requireNetworkCIDR("10.244.0.0/16", "dst").prefix, 16);
  assert.equal(requireNetworkCIDR("0.0.0.0/0", "dst").prefix, 0);
  assert.throws(() => requireNetworkCIDR("10.244.1.0/16", "route dst"), {
    name: "RangeError",
    message: "route dst 10.244.1.0/16 has host bits set beyond its prefix length",
  });
});

Deno.test("requireMAC, requireInteger, requireIfindex and requireFamily check ranges", () => {
  assert.equal(requireMAC("02:42:0a:f4:01:00", "mac").length, 6);
  assert.throws(() => requireMAC("02:42:0a:f4:01", "vxlan mac"), /vxlan mac must be a MAC address/);
  assert.equal(requireInteger(1, 0, 1, "n"), 1);
  assert.throws(() => requireInteger(1.5, 0, 10, "n"), RangeError);
  assert.throws(
    () => requireInteger(11, 0, 10, "vxlan vni"),
    /vxlan vni must be an integer from 0 to 10, got 11/,
  );
  assert.throws(() => requireIfindex(0), RangeError);
  assert.equal(requireIfindex(7), 7);
  assert.equal(requireFamily(undefined), undefined);
  assert.equal(requireFamily(6), 6);
  assert.throws(() => requireFamily(5), /family must be 4 or 6/);
});

Deno.test("requireInterfaceName follows the kernel's rules for names", () => {
  for (const good of ["flannel.1", "flannel-v6.1", "eth0", "a".repeat(15)]) {
    assert.equal(requireInterfaceName(good), good);
  }
  for (const bad of ["", "a".repeat(16), "eth 0", "a/b", "a:b", ".", "..", "ééééééééé"]) {
    assert.throws(() => requireInterfaceName(bad), TypeError, bad);
  }
});

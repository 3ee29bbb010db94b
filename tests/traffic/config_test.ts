import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { parseCIDR } from "../../src/net/cidr.ts";
import { resolveTrafficConfig, TrafficConfigError } from "../../src/traffic/config.ts";
import {
  previousLeasesFromSubnetEnv,
  readPreviousLeases,
} from "../../src/traffic/previous_lease.ts";
import { formatNetwork } from "../../src/traffic/config.ts";

const cidr = (text: string) => parseCIDR(text)!;

Deno.test("flanneld's defaults: no masquerade, fully-random, forward rules, iptables, 5 s", async () => {
  const config = await resolveTrafficConfig({
    ipv4: { network: cidr("10.244.0.0/16"), subnet: cidr("10.244.1.0/24") },
  });
  assert.deepEqual(config, {
    families: [{ family: 4, network: "10.244.0.0/16", subnet: "10.244.1.0/24" }],
    ipMasq: false,
    fullyRandom: true,
    forwardRules: true,
    nftables: false,
    resyncMs: 5000,
    previous: [{ family: 4, network: "0.0.0.0/0", subnet: "0.0.0.0/0" }],
    iptablesVariant: "default",
  });
});

Deno.test("prefixes are printed as flanneld prints them: network address, Go's IPv6 text", async () => {
  const config = await resolveTrafficConfig({
    ipv6: { network: cidr("FD00:10:244:0:0::/56"), subnet: cidr("fd00:10:244:1::1/64") },
    previous: { ipv6: { subnet: cidr("fd00:10:244:7::1/64") } },
  });
  assert.deepEqual(config.families, [
    { family: 6, network: "fd00:10:244::/56", subnet: "fd00:10:244:1::/64" },
  ]);
  assert.deepEqual(config.previous, [
    { family: 6, network: "::/0", subnet: "fd00:10:244:7::/64" },
  ]);
});

Deno.test("bad config is one clear error", async () => {
  const bad = async (config: Parameters<typeof resolveTrafficConfig>[0], pattern: RegExp) => {
    await assert.rejects(() => resolveTrafficConfig(config), (error: Error) => {
      assert.ok(error instanceof TrafficConfigError);
      assert.match(error.message, pattern);
      return true;
    });
  };
  await bad({}, /neither an IPv4 nor an IPv6 network/);
  await bad(
    { ipv4: { network: cidr("fd00::/56"), subnet: cidr("fd00::/64") } },
    /IPv4 network is not an IPv4 prefix/,
  );
  await bad(
    { ipv4: { network: cidr("10.244.0.0/16"), subnet: cidr("10.245.1.0/24") } },
    /subnet 10.245.1.0\/24 is not inside the network 10.244.0.0\/16/,
  );
  await bad(
    { ipv4: { network: cidr("10.244.0.0/16"), subnet: cidr("10.244.1.0/24") }, resyncSeconds: 0 },
    /resync interval/,
  );
});

Deno.test("the previous lease from subnet.env, as flanneld's ReadCIDRFromSubnetFile", async () => {
  const leases = await previousLeasesFromSubnetEnv(
    [
      "FLANNEL_NETWORK=10.244.0.0/16",
      "FLANNEL_SUBNET=10.244.1.1/24",
      "FLANNEL_IPV6_NETWORK=fd00:10:244::/56",
      "FLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64",
      "FLANNEL_MTU=1450",
      "FLANNEL_IPMASQ=true",
      "",
    ].join("\n"),
  );
  assert.equal(formatNetwork(leases.ipv4!.network!), "10.244.0.0/16");
  assert.equal(formatNetwork(leases.ipv4!.subnet!), "10.244.1.0/24");
  assert.equal(formatNetwork(leases.ipv6!.subnet!), "fd00:10:244:1::/64");

  const odd = await previousLeasesFromSubnetEnv(
    'export FLANNEL_NETWORK="10.244.0.0/16"\nFLANNEL_SUBNET=10.244.1.1/24,10.244.2.1/24\n',
  );
  assert.equal(formatNetwork(odd.ipv4!.network!), "10.244.0.0/16");
  assert.equal(odd.ipv4!.subnet, undefined, "two prefixes are none, as flanneld");
  assert.deepEqual(await previousLeasesFromSubnetEnv("FLANNEL_SUBNET=garbage\n"), {});
  assert.deepEqual(await readPreviousLeases("/nonexistent/keepnet/subnet.env"), {});
});

import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { parseCIDR } from "../../src/net/cidr.ts";
import { renderSubnetEnv, writeSubnetEnv } from "../../src/vtepd/subnet_env.ts";

const env = {
  network: parseCIDR("10.244.0.0/16")!,
  subnet: parseCIDR("10.244.1.0/24")!,
  mtu: 1450,
  ipMasq: false,
};

Deno.test("subnet.env: flanneld's keys, order and FLANNEL_SUBNET = first host of the pod CIDR", () => {
  assert.equal(
    renderSubnetEnv(env),
    "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n",
  );
});

Deno.test("subnet.env: the IPv6 lines for dual-stack and IPv6-only overlays, in flanneld's order", () => {
  const v6 = {
    ipv6Network: parseCIDR("fd00:10:244::/56")!,
    ipv6Subnet: parseCIDR("fd00:10:244:1::/64")!,
  };
  assert.equal(
    renderSubnetEnv({ ...env, ...v6, mtu: 1430 }),
    "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n" +
      "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\n" +
      "FLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\n",
  );
  assert.equal(
    renderSubnetEnv({ ...v6, mtu: 1430, ipMasq: true }),
    "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\n" +
      "FLANNEL_MTU=1430\nFLANNEL_IPMASQ=true\n",
  );
});

Deno.test("subnet.env: written atomically into a directory it creates, mode 0644", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/run/flannel/subnet.env`;
    await writeSubnetEnv(path, env);
    assert.equal(await Deno.readTextFile(path), renderSubnetEnv(env));
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o644);
    const names = (await Array.fromAsync(Deno.readDir(`${dir}/run/flannel`))).map((entry) =>
      entry.name
    );
    assert.deepEqual(names, ["subnet.env"], "no temporary file is left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

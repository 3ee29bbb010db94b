/**
 * keepnet-ipam loads its IPv6 support (ip-address) only when its input or its store may hold an
 * IPv6 address. These run the bundle, where that decision is made, on inputs that have IPv6
 * only where it is easy to miss.
 */
import assert from "node:assert/strict";
import { addressesOf, errorOf, ipamBundle, readStore, withTempDir } from "./harness.ts";

const v4Only = (dataDir: string) => ({
  cniVersion: "1.0.0",
  name: "v4net",
  ipam: { type: "keepnet-ipam", dataDir, ranges: [[{ subnet: "10.77.0.0/24" }]] },
});

Deno.test("IPv6 on demand: an IPv4 network whose store holds IPv6 names and cursors", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/v4net`, { recursive: true });
    // Left over from when the network was dual-stack.
    await Deno.writeTextFile(`${dir}/v4net/fd00:77::2`, "c9\r\neth0");
    await Deno.writeTextFile(`${dir}/v4net/fd00:77::3_default_web-0`, "");
    await Deno.writeTextFile(`${dir}/v4net/last_reserved_ip.0`, "fd00:77::2");
    const out = await ipamBundle({
      containerID: "c9",
      args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0",
      config: v4Only(dir),
    });
    assert.equal(out.code, 0, out.stdout);
    assert.deepEqual(addressesOf(out), ["10.77.0.2/24"]);
    const store = await readStore(`${dir}/v4net`);
    assert.equal(store["fd00:77::2"], "c9\r\neth0", "the IPv6 reservation is untouched");
  });
});

Deno.test("IPv6 on demand: an IPv6 address requested only through CNI_ARGS", async () => {
  await withTempDir(async (dir) => {
    const out = await ipamBundle({ args: "IP=fd00:77::9", config: v4Only(dir) });
    assert.equal(out.code, 1);
    assert.equal(errorOf(out).msg, "failed to allocate all requested IPs: fd00:77::9");
  });
});

import assert from "node:assert/strict";
import { createNetns, type Netns } from "../helpers/netns.ts";
import { type Driver, RemoteNetlinkError, startDriver } from "./harness.ts";

interface IpAddrInfo {
  family: "inet" | "inet6";
  local: string;
  prefixlen: number;
  scope: string;
}

async function ipAddresses(ns: Netns, device: string): Promise<string[]> {
  const [link] = await ns.json<Array<{ addr_info: IpAddrInfo[] }>>(
    ["ip", "-j", "addr", "show", "dev", device],
  );
  return (link?.addr_info ?? [])
    .filter((info) => info.scope !== "link")
    .map((info) => `${info.local}/${info.prefixlen}`)
    .sort();
}

/** A VXLAN device; each in a namespace needs its own VNI (the kernel refuses duplicates). */
async function vtep(netlink: Driver, name: string, vni = 1): Promise<number> {
  const link = await netlink.call("createVxlan", { name, mac: "02:00:00:00:00:01", vni });
  return link.index;
}

Deno.test("addAddress adds <ip>/<prefix>; a second add fails with EEXIST", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const index = await vtep(netlink, "flannel.1");

  await netlink.call("addAddress", index, "10.244.1.0/32");
  await netlink.call("addAddress", index, "fd00:244:1::/128");
  assert.deepEqual(await ipAddresses(ns, "flannel.1"), ["10.244.1.0/32", "fd00:244:1::/128"]);

  await assert.rejects(
    netlink.call("addAddress", index, "10.244.1.0/32"),
    (error: RemoteNetlinkError) =>
      error.errno === 17 && /add address 10.244.1.0\/32/.test(error.message),
  );
  await assert.rejects(
    netlink.call("addAddress", index, "10.244.1.0"),
    (error: RemoteNetlinkError) => error.errorName === "TypeError",
  );
});

Deno.test("listAddresses filters by device and family", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const first = await vtep(netlink, "vx-a");
  const second = await vtep(netlink, "vx-b", 2);
  await netlink.call("addAddress", first, "10.244.1.0/32");
  await netlink.call("addAddress", first, "192.168.7.2/24");
  await netlink.call("addAddress", first, "fd00::7/64");
  await netlink.call("addAddress", second, "10.244.9.0/32");

  const ofFirst = await netlink.call("listAddresses", { ifindex: first, family: 4 });
  assert.deepEqual(ofFirst, [
    { ifindex: first, family: 4, address: "10.244.1.0", prefixLength: 32, scope: 0, flags: 128 },
    { ifindex: first, family: 4, address: "192.168.7.2", prefixLength: 24, scope: 0, flags: 128 },
  ]);
  const v6 = await netlink.call("listAddresses", { ifindex: first, family: 6 });
  assert.deepEqual(v6.map((a) => `${a.address}/${a.prefixLength}`), ["fd00::7/64"]);
  const all = await netlink.call("listAddresses");
  assert.ok(all.some((a) => a.address === "127.0.0.1" && a.prefixLength === 8));
  assert.ok(all.some((a) => a.ifindex === second && a.address === "10.244.9.0"));
  assert.ok(all.every((a) => a.family === 4 || a.family === 6));
  const v4 = await netlink.call("listAddresses", { family: 4 });
  assert.deepEqual(
    v4.map((a) => a.address).sort(),
    ["10.244.1.0", "10.244.9.0", "127.0.0.1", "192.168.7.2"],
  );
});

Deno.test("deleteAddress removes it; deleting a missing one fails with EADDRNOTAVAIL", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const index = await vtep(netlink, "flannel.1");
  await netlink.call("addAddress", index, "10.244.1.0/32");
  await netlink.call("addAddress", index, "10.244.1.5/32");

  await netlink.call("deleteAddress", index, "10.244.1.0/32");
  assert.deepEqual(await ipAddresses(ns, "flannel.1"), ["10.244.1.5/32"]);
  await assert.rejects(
    netlink.call("deleteAddress", index, "10.244.1.0/32"),
    (error: RemoteNetlinkError) => error.errno === 99 && error.fromKernel === true,
  );
  assert.deepEqual(await ipAddresses(ns, "flannel.1"), ["10.244.1.5/32"]);
});

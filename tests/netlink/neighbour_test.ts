import assert from "node:assert/strict";
import { createNetns, type Netns } from "../helpers/netns.ts";
import { type Driver, RemoteNetlinkError, startDriver } from "./harness.ts";

interface IpNeigh {
  dst: string;
  lladdr?: string;
  state: string[];
}

interface BridgeFdb {
  mac: string;
  dst?: string;
  flags: string[];
  state: string;
}

async function ipNeighbours(ns: Netns, device: string): Promise<string[]> {
  const entries = await ns.json<IpNeigh[]>(["ip", "-j", "neigh", "show", "dev", device]);
  return entries.map((e) => `${e.dst} ${e.lladdr} ${e.state.join(",")}`).sort();
}

async function bridgeFdb(ns: Netns, device: string): Promise<string[]> {
  const entries = await ns.json<BridgeFdb[]>(["bridge", "-j", "fdb", "show", "dev", device]);
  return entries.map((e) => `${e.mac} ${e.dst} ${e.flags.join(",")} ${e.state}`).sort();
}

/** A VTEP set up as flannel does: address, then up. IPv6 remotes need an IPv6 `local`. */
async function vtep(netlink: Driver, name: string, vni: number, address: string, local?: string) {
  const { index } = await netlink.call("createVxlan", {
    name,
    mac: `02:00:00:00:00:0${vni}`,
    vni,
    local,
  });
  await netlink.call("addAddress", index, address);
  await netlink.call("setLinkUp", index);
  return index;
}

Deno.test("replaceNeighbour writes a permanent entry, idempotently, and replaces the MAC", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const index = await vtep(netlink, "flannel.1", 1, "10.244.1.0/32");

  const peer = { ifindex: index, ip: "10.244.2.0", mac: "02:42:0a:f4:02:00" };
  await netlink.call("replaceNeighbour", peer);
  await netlink.call("replaceNeighbour", peer);
  assert.deepEqual(await ipNeighbours(ns, "flannel.1"), [
    "10.244.2.0 02:42:0a:f4:02:00 PERMANENT",
  ]);

  await netlink.call("replaceNeighbour", { ...peer, mac: "02:42:0A:F4:02:FF" });
  assert.deepEqual(await ipNeighbours(ns, "flannel.1"), [
    "10.244.2.0 02:42:0a:f4:02:ff PERMANENT",
  ]);
  assert.deepEqual(await netlink.call("listNeighbours", { ifindex: index, family: 4 }), [
    {
      ifindex: index,
      family: 4,
      ip: "10.244.2.0",
      mac: "02:42:0a:f4:02:ff",
      state: 0x80,
      flags: 0,
    },
  ]);
});

Deno.test("listNeighbours filters by device and family", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const first = await vtep(netlink, "vx-a", 1, "10.244.1.0/32");
  const second = await vtep(netlink, "vx-b", 2, "10.245.1.0/32");
  await netlink.call("replaceNeighbour", {
    ifindex: first,
    ip: "10.244.2.0",
    mac: "02:00:00:00:02:00",
  });
  await netlink.call("replaceNeighbour", {
    ifindex: first,
    ip: "10.244.3.0",
    mac: "02:00:00:00:03:00",
  });
  await netlink.call("replaceNeighbour", {
    ifindex: first,
    ip: "fd00::2",
    mac: "02:00:00:00:06:00",
  });
  await netlink.call("replaceNeighbour", {
    ifindex: second,
    ip: "10.245.2.0",
    mac: "02:00:00:00:04:00",
  });

  const ofFirst = await netlink.call("listNeighbours", { ifindex: first, family: 4 });
  assert.deepEqual(ofFirst.map((n) => `${n.ip} ${n.mac}`).sort(), [
    "10.244.2.0 02:00:00:00:02:00",
    "10.244.3.0 02:00:00:00:03:00",
  ]);
  const v6 = await netlink.call("listNeighbours", { ifindex: first, family: 6 });
  // The kernel may add its own IPv6 multicast entries (NOARP) at any moment: look at ours only.
  const permanentV6 = v6.filter((n) => n.state === 0x80);
  assert.deepEqual(permanentV6.map((n) => [n.ip, n.family, n.mac]), [[
    "fd00::2",
    6,
    "02:00:00:00:06:00",
  ]]);
  assert.ok(v6.every((n) => n.family === 6 && n.ifindex === first));
  const ofSecond = await netlink.call("listNeighbours", { ifindex: second });
  assert.ok(ofSecond.every((n) => n.ifindex === second));
  assert.deepEqual(ofSecond.filter((n) => n.state === 0x80).map((n) => n.ip), ["10.245.2.0"]);
  // Unfiltered: ours plus whatever the kernel adds itself (IPv6 multicast NOARP entries).
  const all = await netlink.call("listNeighbours");
  assert.equal(all.filter((n) => n.state === 0x80).length, 4);
  assert.ok(all.some((n) => n.ifindex === second) && all.some((n) => n.family === 6));
});

Deno.test("deleteNeighbour removes the entry; a missing one fails with ENOENT", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const index = await vtep(netlink, "flannel.1", 1, "10.244.1.0/32");
  await netlink.call("replaceNeighbour", {
    ifindex: index,
    ip: "10.244.2.0",
    mac: "02:00:00:00:02:00",
  });
  await netlink.call("replaceNeighbour", {
    ifindex: index,
    ip: "10.244.3.0",
    mac: "02:00:00:00:03:00",
  });

  await netlink.call("deleteNeighbour", { ifindex: index, ip: "10.244.2.0" });
  assert.deepEqual(await ipNeighbours(ns, "flannel.1"), [
    "10.244.3.0 02:00:00:00:03:00 PERMANENT",
  ]);
  await assert.rejects(
    netlink.call("deleteNeighbour", { ifindex: index, ip: "10.244.2.0" }),
    (error: RemoteNetlinkError) => {
      assert.equal(error.errno, 2);
      assert.equal(error.operation, `delete neighbour 10.244.2.0 on link ${index}`);
      return true;
    },
  );
  await assert.rejects(
    netlink.call("deleteNeighbour", { ifindex: 4242, ip: "10.244.3.0" }),
    (error: RemoteNetlinkError) => error.errno === 19,
  );
  await assert.rejects(
    netlink.call("replaceNeighbour", { ifindex: index, ip: "10.244.9.0", mac: "zz" }),
    (error: RemoteNetlinkError) =>
      error.errorName === "TypeError" && /neighbour mac/.test(error.message),
  );
});

Deno.test("replaceFdb writes a permanent self entry; a new dst for the same MAC replaces it", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const index = await vtep(netlink, "flannel.1", 1, "10.244.1.0/32");

  const entry = { ifindex: index, mac: "02:42:0a:f4:02:00", dst: "192.168.50.2" };
  await netlink.call("replaceFdb", entry);
  await netlink.call("replaceFdb", entry);
  assert.deepEqual(await bridgeFdb(ns, "flannel.1"), [
    "02:42:0a:f4:02:00 192.168.50.2 self permanent",
  ]);

  await netlink.call("replaceFdb", { ...entry, dst: "192.168.50.3" });
  assert.deepEqual(await bridgeFdb(ns, "flannel.1"), [
    "02:42:0a:f4:02:00 192.168.50.3 self permanent",
  ]);
  assert.deepEqual(await netlink.call("listFdb", { ifindex: index }), [
    { ifindex: index, mac: "02:42:0a:f4:02:00", dst: "192.168.50.3", flags: 0x02, state: 0x80 },
  ]);
});

Deno.test("listFdb filters by device", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const first = await vtep(netlink, "vx-a", 1, "10.244.1.0/32");
  const second = await vtep(netlink, "vx-b", 2, "fd00:245:1::/128", "fd00::1");
  await netlink.call("replaceFdb", {
    ifindex: first,
    mac: "02:00:00:00:02:00",
    dst: "192.168.50.2",
  });
  await netlink.call("replaceFdb", {
    ifindex: first,
    mac: "02:00:00:00:03:00",
    dst: "192.168.50.3",
  });
  await netlink.call("replaceFdb", { ifindex: second, mac: "02:00:00:00:04:00", dst: "fd00::4" });

  const ofFirst = await netlink.call("listFdb", { ifindex: first });
  assert.deepEqual(ofFirst.map((e) => `${e.mac} ${e.dst}`).sort(), [
    "02:00:00:00:02:00 192.168.50.2",
    "02:00:00:00:03:00 192.168.50.3",
  ]);
  const ofSecond = await netlink.call("listFdb", { ifindex: second });
  assert.deepEqual(ofSecond.map((e) => `${e.mac} ${e.dst}`), ["02:00:00:00:04:00 fd00::4"]);
  const all = await netlink.call("listFdb");
  assert.ok(all.length >= 3);
  assert.ok(all.every((e) => /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(e.mac)));
});

Deno.test("deleteFdb removes the entry; a missing MAC fails with ENOENT", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const index = await vtep(netlink, "flannel.1", 1, "10.244.1.0/32");
  await netlink.call("replaceFdb", {
    ifindex: index,
    mac: "02:00:00:00:02:00",
    dst: "192.168.50.2",
  });
  await netlink.call("replaceFdb", {
    ifindex: index,
    mac: "02:00:00:00:03:00",
    dst: "192.168.50.3",
  });

  await netlink.call("deleteFdb", {
    ifindex: index,
    mac: "02:00:00:00:02:00",
    dst: "192.168.50.2",
  });
  await netlink.call("deleteFdb", { ifindex: index, mac: "02:00:00:00:03:00" });
  assert.deepEqual(await bridgeFdb(ns, "flannel.1"), []);
  await assert.rejects(
    netlink.call("deleteFdb", { ifindex: index, mac: "02:00:00:00:02:00", dst: "192.168.50.2" }),
    (error: RemoteNetlinkError) => {
      assert.equal(error.errno, 2);
      assert.match(error.message, /delete fdb 02:00:00:00:02:00 dst 192.168.50.2 on link \d+/);
      return true;
    },
  );
});

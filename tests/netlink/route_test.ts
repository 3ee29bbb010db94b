import assert from "node:assert/strict";
import { createNetns, type Netns } from "../helpers/netns.ts";
import { type Driver, RemoteNetlinkError, startDriver } from "./harness.ts";

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  flags: string[];
}

async function ipRoutes(ns: Netns, ...selector: string[]): Promise<string[]> {
  const routes = await ns.json<IpRoute[]>(["ip", "-j", "route", "show", ...selector]);
  return routes
    .map((r) =>
      [r.dst, r.gateway && `via ${r.gateway}`, r.dev, ...r.flags].filter(Boolean).join(" ")
    )
    .sort();
}

/** A VTEP set up as flannel does (address, then up): onlink routes need the device up. */
async function vtep(netlink: Driver): Promise<number> {
  const { index } = await netlink.call("createVxlan", {
    name: "flannel.1",
    mac: "02:00:00:00:00:01",
    vni: 1,
  });
  await netlink.call("addAddress", index, "10.244.1.0/32");
  await netlink.call("setLinkUp", index);
  return index;
}

/** The node's external interface: a veth pair, both ends up, 192.168.50.1/24 on `eth9`. */
async function underlay(ns: Netns): Promise<number> {
  await ns.check(["ip", "link", "add", "eth9", "type", "veth", "peer", "name", "eth9p"]);
  await ns.check(["ip", "addr", "add", "192.168.50.1/24", "dev", "eth9"]);
  await ns.check(["ip", "link", "set", "eth9p", "up"]);
  await ns.check(["ip", "link", "set", "eth9", "up"]);
  const [link] = await ns.json<Array<{ ifindex: number }>>(["ip", "-j", "link", "show", "eth9"]);
  return link!.ifindex;
}

Deno.test("replaceRoute installs flannel's onlink route, idempotently, and replaces its gateway", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const index = await vtep(netlink);

  const route = { dst: "10.244.2.0/24", gateway: "10.244.2.0", ifindex: index, onlink: true };
  await netlink.call("replaceRoute", route);
  await netlink.call("replaceRoute", route);
  assert.deepEqual(await ipRoutes(ns, "dev", "flannel.1"), [
    "10.244.2.0/24 via 10.244.2.0 onlink",
  ]);
  const [shown] = await ns.json<IpRoute[]>(["ip", "-d", "-j", "route", "show", "10.244.2.0/24"]);
  assert.equal(shown?.protocol, "boot");

  await netlink.call("replaceRoute", { ...route, gateway: "10.244.2.1" });
  assert.deepEqual(await ipRoutes(ns, "dev", "flannel.1"), [
    "10.244.2.0/24 via 10.244.2.1 onlink",
  ]);
  assert.deepEqual(await netlink.call("listRoutes", { ifindex: index, family: 4 }), [{
    family: 4,
    dst: "10.244.2.0/24",
    gateway: "10.244.2.1",
    ifindex: index,
    onlink: true,
    flags: 4,
    protocol: 3,
    scope: 0,
    table: 254,
    type: 1,
    metric: 0,
    nexthops: [{ gateway: "10.244.2.1", ifindex: index, flags: 4 }],
  }]);
});

Deno.test("listRoutes filters by device, family and table, and finds the default route", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const eth9 = await underlay(ns);
  const index = await vtep(netlink);
  await ns.check(["ip", "route", "add", "default", "via", "192.168.50.254"]);
  await ns.check(["ip", "route", "add", "10.9.0.0/16", "via", "192.168.50.9", "table", "100"]);
  await netlink.call("replaceRoute", {
    dst: "10.244.2.0/24",
    gateway: "10.244.2.0",
    ifindex: index,
    onlink: true,
  });
  await netlink.call("addAddress", index, "fd00:244:1::/128");
  await netlink.call("replaceRoute", {
    dst: "fd00:244:2::/64",
    gateway: "fd00:244:2::",
    ifindex: index,
    onlink: true,
  });

  const main4 = await netlink.call("listRoutes", { family: 4 });
  assert.deepEqual(main4.map((r) => `${r.dst} ${r.gateway ?? "-"} ${r.ifindex}`).sort(), [
    `0.0.0.0/0 192.168.50.254 ${eth9}`,
    `10.244.2.0/24 10.244.2.0 ${index}`,
    `192.168.50.0/24 - ${eth9}`,
  ]);
  const defaultRoute = main4.find((r) => r.dst === "0.0.0.0/0");
  assert.equal(defaultRoute?.ifindex, eth9);

  const onVtep = await netlink.call("listRoutes", { ifindex: index });
  assert.deepEqual(onVtep.map((r) => r.dst).filter((d) => !d.startsWith("fe80")).sort(), [
    "10.244.2.0/24",
    "fd00:244:1::/128", // the kernel's route for the device's own IPv6 address
    "fd00:244:2::/64",
  ]);
  const v6 = await netlink.call("listRoutes", { ifindex: index, family: 6 });
  assert.ok(v6.every((r) => r.family === 6));
  assert.ok(v6.some((r) => r.dst === "fd00:244:2::/64" && r.onlink));

  const table100 = await netlink.call("listRoutes", { table: 100 });
  assert.deepEqual(table100.map((r) => `${r.dst} ${r.gateway} ${r.table}`), [
    "10.9.0.0/16 192.168.50.9 100",
  ]);
  const everyTable = await netlink.call("listRoutes", { family: 4, table: 0 });
  assert.ok(everyTable.some((r) => r.table === 100));
  assert.ok(everyTable.some((r) => r.table === 255 && r.dst === "192.168.50.1/32" && r.type === 2));
});

Deno.test("a DirectRouting route needs only a gateway; lookupRoute answers as ip route get", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const eth9 = await underlay(ns);

  // The peer is on-link: one route, no gateway, so flannel routes to it directly; the source is
  // the address `ip route get` prints as `src` (what --iface-can-reach takes).
  assert.deepEqual(await netlink.call("lookupRoute", "192.168.50.3"), {
    family: 4,
    dst: "192.168.50.3",
    ifindex: eth9,
    source: "192.168.50.1",
    table: 254,
    type: 1,
    scope: 0,
  });
  await netlink.call("replaceRoute", { dst: "10.244.3.0/24", gateway: "192.168.50.3" });
  assert.deepEqual(await ipRoutes(ns, "10.244.3.0/24"), ["10.244.3.0/24 via 192.168.50.3 eth9"]);

  const viaPeer = await netlink.call("lookupRoute", "10.244.3.9");
  assert.equal(viaPeer?.gateway, "192.168.50.3");
  assert.equal(viaPeer?.ifindex, eth9);
  assert.equal(await netlink.call("lookupRoute", "203.0.113.1"), undefined);
});

Deno.test("deleteRoute removes routes whoever added them; a missing one fails with ESRCH", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const index = await vtep(netlink);
  await netlink.call("replaceRoute", {
    dst: "10.244.2.0/24",
    gateway: "10.244.2.0",
    ifindex: index,
    onlink: true,
  });
  await ns.check([
    "ip",
    "route",
    "add",
    "10.244.3.0/24",
    "via",
    "10.244.3.0",
    "dev",
    "flannel.1",
    "onlink",
    "proto",
    "static",
  ]);
  await ns.check([
    "ip",
    "route",
    "add",
    "10.244.4.0/24",
    "via",
    "10.244.4.0",
    "dev",
    "flannel.1",
    "onlink",
  ]);

  await assert.rejects(
    netlink.call("deleteRoute", { dst: "10.244.2.0/24", gateway: "10.244.2.99" }),
    (error: RemoteNetlinkError) => error.errno === 3,
    "a gateway that does not match",
  );
  await netlink.call("deleteRoute", {
    dst: "10.244.2.0/24",
    gateway: "10.244.2.0",
    ifindex: index,
  });
  await netlink.call("deleteRoute", { dst: "10.244.3.0/24" });
  await netlink.call("deleteRoute", { dst: "10.244.4.0/24", ifindex: index });
  assert.deepEqual(await ipRoutes(ns, "dev", "flannel.1"), []);

  await assert.rejects(
    netlink.call("deleteRoute", { dst: "10.244.2.0/24" }),
    (error: RemoteNetlinkError) => {
      assert.equal(error.errno, 3);
      assert.equal(error.operation, "delete route 10.244.2.0/24");
      return true;
    },
  );
});

Deno.test("a blackhole route is added (never replacing another route for its prefix), listed with its type, and deleted", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  await netlink.call("replaceRoute", { dst: "10.244.1.0/24", type: "blackhole", exclusive: true });
  const [route] = await ns.json<Array<{ type?: string; dst: string }>>([
    "ip",
    "-j",
    "route",
    "show",
    "10.244.1.0/24",
  ]);
  assert.deepEqual(route, { type: "blackhole", dst: "10.244.1.0/24", flags: [] });
  const listed = (await netlink.call("listRoutes", { family: 4 })).find((r) =>
    r.dst === "10.244.1.0/24"
  );
  assert.equal(listed?.type, 6, "RTN_BLACKHOLE");
  // Where the bridge already routes the pod CIDR, an exclusive add changes nothing (EEXIST).
  await ns.check(["ip", "link", "add", "cni0", "type", "bridge"]);
  await ns.check(["ip", "addr", "add", "10.244.2.1/24", "dev", "cni0"]);
  await ns.check(["ip", "link", "set", "cni0", "up"]);
  await assert.rejects(
    netlink.call("replaceRoute", { dst: "10.244.2.0/24", type: "blackhole", exclusive: true }),
    (error: RemoteNetlinkError) => error.errno === 17,
  );
  assert.deepEqual(await ipRoutes(ns, "10.244.2.0/24"), ["10.244.2.0/24 cni0"]);
  await netlink.call("deleteRoute", { dst: "10.244.1.0/24" });
  assert.deepEqual(await ipRoutes(ns, "10.244.1.0/24"), []);
  await assert.rejects(
    netlink.call("replaceRoute", { dst: "10.244.3.0/24", type: "blackhole", ifindex: 1 }),
    /takes no gateway or device/,
  );
});

Deno.test("route failures carry the kernel's errno; bad input is refused before sending", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const index = await vtep(netlink);

  // Without onlink the gateway must be reachable: libnl says "Unspecific failure", the kernel ENETUNREACH.
  await assert.rejects(
    netlink.call("replaceRoute", { dst: "10.244.2.0/24", gateway: "10.244.2.0", ifindex: index }),
    (error: RemoteNetlinkError) => error.errno === 101 && error.libnlCode === 1,
  );
  await netlink.call("setLinkDown", index);
  await assert.rejects(
    netlink.call("replaceRoute", {
      dst: "10.244.2.0/24",
      gateway: "10.244.2.0",
      ifindex: index,
      onlink: true,
    }),
    (error: RemoteNetlinkError) => error.errno === 100 && /ENETDOWN/.test(error.message),
    "an onlink route needs the device up",
  );

  const refused: Array<[Parameters<Driver["call"]>[1], string, RegExp]> = [
    [{ dst: "10.244.2.1/24", gateway: "10.244.2.0", ifindex: index }, "RangeError", /host bits/],
    [{ dst: "10.244.2.0/24", gateway: "fd00::1", ifindex: index }, "TypeError", /family/],
    [{ dst: "10.244.2.0/24", gateway: "10.244.2.0", onlink: true }, "TypeError", /onlink/],
    [{ dst: "10.244.2.0/24" }, "TypeError", /gateway, an ifindex/],
    [{ dst: "10.244.2.0", ifindex: index }, "TypeError", /route dst/],
  ];
  for (const [spec, errorName, message] of refused) {
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      netlink.call("replaceRoute", spec as any),
      (error: RemoteNetlinkError) => error.errorName === errorName && message.test(error.message),
      JSON.stringify(spec),
    );
  }
  assert.deepEqual(await ipRoutes(ns, "dev", "flannel.1"), []);
});

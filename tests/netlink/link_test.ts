import assert from "node:assert/strict";
import { createNetns, type Netns } from "../helpers/netns.ts";
import { RemoteNetlinkError, startDriver } from "./harness.ts";

interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  address: string;
  operstate: string;
  linkinfo?: { info_kind: string; info_data?: Record<string, unknown> };
}

async function ipLink(ns: Netns, name: string): Promise<IpLink> {
  const [link] = await ns.json<IpLink[]>(["ip", "-d", "-j", "link", "show", "dev", name]);
  assert.ok(link, `ip link show ${name} printed nothing`);
  return link;
}

async function linkNames(ns: Netns): Promise<string[]> {
  return (await ns.json<IpLink[]>(["ip", "-j", "link"])).map((link) => link.ifname);
}

/** A veth pair inside `ns`, standing in for the node's external interface. */
async function addUnderlay(ns: Netns, name: string): Promise<number> {
  await ns.check(["ip", "link", "add", name, "type", "veth", "peer", "name", `${name}p`]);
  return (await ipLink(ns, name)).ifindex;
}

Deno.test("createVxlan sends every attribute in one request and reads them back", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const underlay = await addUnderlay(ns, "eth9");

  const link = await netlink.call("createVxlan", {
    name: "flannel.1",
    mac: "02:42:0A:F4:01:00",
    mtu: 1400,
    vni: 1,
    port: 4789,
    local: "10.99.0.1",
    underlay,
    learning: false,
  });

  assert.equal(link.name, "flannel.1");
  assert.equal(link.kind, "vxlan");
  assert.equal(link.mac, "02:42:0a:f4:01:00");
  assert.equal(link.mtu, 1400);
  assert.equal(link.up, false);
  assert.deepEqual(link.vxlan, {
    vni: 1,
    port: 4789,
    local: "10.99.0.1",
    underlay,
    learning: false,
    gbp: false,
  });

  const shown = await ipLink(ns, "flannel.1");
  assert.equal(shown.ifindex, link.index);
  assert.equal(shown.address, "02:42:0a:f4:01:00");
  assert.equal(shown.mtu, 1400);
  assert.equal(shown.linkinfo?.info_kind, "vxlan");
  const data = shown.linkinfo?.info_data ?? {};
  assert.equal(data.id, 1);
  assert.equal(data.port, 4789);
  assert.equal(data.local, "10.99.0.1");
  assert.equal(data.link, "eth9");
  assert.equal(data.learning, false);
  assert.equal(data.gbp, undefined);
  // The MAC came with RTM_NEWLINK, so the kernel marks it NET_ADDR_SET (3) and udev keeps it.
  const assignType = await ns.check(["cat", "/sys/class/net/flannel.1/addr_assign_type"]);
  assert.equal(assignType.trim(), "3");
});

Deno.test("createVxlan leaves the port to the kernel when none is given, and sets learning and GBP on request", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);

  const plain = await netlink.call("createVxlan", {
    name: "vx-plain",
    mac: "02:00:00:00:00:01",
    vni: 4096,
    port: 0,
  });
  assert.equal(plain.vxlan?.port, 8472, "the kernel default port");
  assert.equal(plain.vxlan?.local, undefined);
  assert.equal(plain.vxlan?.underlay, undefined);

  const gbp = await netlink.call("createVxlan", {
    name: "vx-gbp",
    mac: "02:00:00:00:00:02",
    vni: 16777215,
    learning: true,
    gbp: true,
    local: "fd00::1",
  });
  assert.deepEqual(gbp.vxlan, {
    vni: 16777215,
    port: 8472,
    local: "fd00::1",
    learning: true,
    gbp: true,
  });
  const data = (await ipLink(ns, "vx-gbp")).linkinfo?.info_data ?? {};
  assert.equal(data.gbp, true);
  assert.equal(data.learning, true);
  assert.equal(data.local6, "fd00::1");
});

Deno.test("createVxlan on a taken name fails with EEXIST and leaves the device alone", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  await netlink.call("createVxlan", { name: "flannel.1", mac: "02:00:00:00:00:01", vni: 1 });

  await assert.rejects(
    netlink.call("createVxlan", { name: "flannel.1", mac: "02:00:00:00:00:99", vni: 2 }),
    (error: RemoteNetlinkError) => {
      assert.equal(error.errorName, "NetlinkError");
      assert.equal(error.errno, 17);
      assert.equal(error.fromKernel, true);
      assert.equal(error.libnlCode, 6);
      assert.equal(error.operation, 'create vxlan "flannel.1"');
      assert.match(error.message, /EEXIST/);
      return true;
    },
  );
  const shown = await ipLink(ns, "flannel.1");
  assert.equal(shown.address, "02:00:00:00:00:01");
  assert.equal(shown.linkinfo?.info_data?.id, 1);
});

Deno.test("createVxlan rejects bad input before sending anything", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const before = await linkNames(ns);

  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ name: "vx0", mac: "02:00:00:00:00", vni: 1 }, "TypeError", /vxlan mac/],
    [{ name: "vx0", mac: "02:00:00:00:00:01", vni: 1 << 24 }, "RangeError", /vxlan vni/],
    [{ name: "vx0", mac: "02:00:00:00:00:01", vni: 1, port: 70000 }, "RangeError", /port/],
    [{ name: "vx0", mac: "02:00:00:00:00:01", vni: 1, mtu: 10 }, "RangeError", /mtu/],
    [{ name: "vx0", mac: "02:00:00:00:00:01", vni: 1, local: "10.1" }, "TypeError", /local/],
    [{ name: "a-name-too-long-x", mac: "02:00:00:00:00:01", vni: 1 }, "TypeError", /name/],
    [{ name: "bad/name", mac: "02:00:00:00:00:01", vni: 1 }, "TypeError", /name/],
  ];
  for (const [spec, errorName, message] of cases) {
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      netlink.call("createVxlan", spec as any),
      (error: RemoteNetlinkError) => error.errorName === errorName && message.test(error.message),
      JSON.stringify(spec),
    );
  }
  assert.deepEqual(await linkNames(ns), before);
});

Deno.test("setLinkMac, setLinkMtu, setLinkUp and setLinkDown change the device", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const { index } = await netlink.call("createVxlan", {
    name: "flannel.1",
    mac: "02:00:00:00:00:01",
    vni: 1,
  });

  await netlink.call("setLinkMac", index, "0e:2a:00:00:00:07");
  await netlink.call("setLinkMtu", index, 1350);
  await netlink.call("setLinkUp", index);
  let shown = await ipLink(ns, "flannel.1");
  assert.equal(shown.address, "0e:2a:00:00:00:07");
  assert.equal(shown.mtu, 1350);
  assert.ok(shown.flags.includes("UP"), `flags ${shown.flags}`);
  const read = await netlink.call("getLink", index);
  assert.equal(read?.mac, "0e:2a:00:00:00:07");
  assert.equal(read?.mtu, 1350);
  assert.equal(read?.up, true);

  await netlink.call("setLinkDown", index);
  shown = await ipLink(ns, "flannel.1");
  assert.ok(!shown.flags.includes("UP"), `flags ${shown.flags}`);
  assert.equal((await netlink.call("getLink", "flannel.1"))?.up, false);

  await assert.rejects(
    netlink.call("setLinkMtu", 999, 1400),
    (error: RemoteNetlinkError) => error.errno === 19,
  );
  await assert.rejects(
    netlink.call("setLinkMac", index, "not-a-mac"),
    (error: RemoteNetlinkError) => error.errorName === "TypeError",
  );
});

Deno.test("listLinks and getLink report what ip link shows", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const underlay = await addUnderlay(ns, "eth9");
  await ns.check(["ip", "link", "set", "eth9", "mtu", "9000", "up"]);
  await ns.check(["ip", "link", "set", "eth9p", "up"]);

  const links = await netlink.call("listLinks");
  const shown = await ns.json<IpLink[]>(["ip", "-j", "link"]);
  assert.deepEqual(
    links.map((link) => [link.index, link.name, link.mtu, link.mac]).sort(),
    shown.map((link) => [link.ifindex, link.ifname, link.mtu, link.address]).sort(),
  );
  const eth9 = links.find((link) => link.name === "eth9");
  assert.equal(eth9?.index, underlay);
  assert.equal(eth9?.kind, "veth");
  assert.equal(eth9?.up, true);
  assert.equal(eth9?.operState, "UP");
  assert.equal(eth9?.vxlan, undefined);
  const lo = links.find((link) => link.name === "lo");
  assert.equal(lo?.kind, undefined);
  assert.equal(lo?.master, undefined);

  await ns.check(["ip", "link", "add", "br9", "type", "bridge"]);
  await ns.check(["ip", "link", "set", "eth9p", "master", "br9"]);
  const bridge = await netlink.call("getLink", "br9");
  assert.equal(bridge?.kind, "bridge");
  assert.equal((await netlink.call("getLink", "eth9p"))?.master, bridge?.index);

  assert.deepEqual(await netlink.call("getLink", "eth9"), eth9);
  assert.deepEqual(await netlink.call("getLink", underlay), eth9);
  assert.equal(await netlink.call("getLink", "nothere0"), undefined);
  assert.equal(await netlink.call("getLink", 4242), undefined);
});

Deno.test("deleteLink removes the device; a second delete fails with ENODEV", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const { index } = await netlink.call("createVxlan", {
    name: "flannel.1",
    mac: "02:00:00:00:00:01",
    vni: 1,
  });

  await netlink.call("deleteLink", index);
  assert.ok(!(await linkNames(ns)).includes("flannel.1"));
  await assert.rejects(netlink.call("deleteLink", index), (error: RemoteNetlinkError) => {
    assert.equal(error.errno, 19);
    assert.match(error.message, /delete link \d+: .*ENODEV/);
    return true;
  });
});

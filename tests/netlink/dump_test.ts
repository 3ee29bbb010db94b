import assert from "node:assert/strict";
import { createNetns } from "../helpers/netns.ts";
import { startDriver } from "./harness.ts";

const PEERS = 1500;

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

Deno.test("dumps spanning many netlink messages return every entry", async () => {
  await using ns = await createNetns("kn-nl-");
  await using netlink = startDriver(ns);
  const { index } = await netlink.call("createVxlan", {
    name: "flannel.1",
    mac: "02:00:00:00:00:01",
    vni: 1,
  });
  await netlink.call("addAddress", index, "10.244.0.0/32");
  await netlink.call("setLinkUp", index);

  // Filled by iproute2, so the binding only reads: each dump needs dozens of messages.
  const neighbours: string[] = [];
  const routes: string[] = [];
  const fdb: string[] = [];
  for (let i = 1; i <= PEERS; i++) {
    const [high, low] = [i >> 8, i & 255];
    const gateway = `10.${10 + high}.${low}.0`;
    const mac = `02:00:00:00:${hex(high)}:${hex(low)}`;
    neighbours.push(`neigh replace ${gateway} lladdr ${mac} dev flannel.1 nud permanent`);
    routes.push(`route replace ${gateway}/24 via ${gateway} dev flannel.1 onlink`);
    fdb.push(`fdb replace ${mac} dev flannel.1 dst 192.168.${high}.${low} self permanent`);
  }
  await ns.check(["ip", "-batch", "-"], { stdin: [...neighbours, ...routes].join("\n") });
  await ns.check(["bridge", "-batch", "-"], { stdin: fdb.join("\n") });

  const listedRoutes = await netlink.call("listRoutes", { ifindex: index, family: 4 });
  assert.equal(listedRoutes.length, PEERS);
  assert.ok(
    listedRoutes.every((route) => route.onlink && route.gateway === route.dst.slice(0, -3)),
  );
  const listedNeighbours = await netlink.call("listNeighbours", { ifindex: index, family: 4 });
  assert.equal(listedNeighbours.length, PEERS);
  const listedFdb = await netlink.call("listFdb", { ifindex: index });
  assert.equal(listedFdb.length, PEERS);
  assert.equal(new Set(listedFdb.map((entry) => entry.mac)).size, PEERS);
  const last = listedFdb.find((entry) =>
    entry.mac === `02:00:00:00:${hex(PEERS >> 8)}:${hex(PEERS & 255)}`
  );
  assert.equal(last?.dst, `192.168.${PEERS >> 8}.${PEERS & 255}`);
});

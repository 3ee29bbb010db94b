import assert from "node:assert/strict";
import type { Peer } from "../../src/kube/peer.ts";
import { type DataPlane, desiredDataPlane } from "../../src/vtepd/desired.ts";
import { isEmptyPlan, planReconcile } from "../../src/vtepd/plan.ts";

const peer = (n: number, mac = `0e:00:00:00:00:0${n}`): Peer => ({
  name: `node-${n}`,
  podCIDR: `10.244.${n}.0/24`,
  publicIP: `192.168.1.${n}`,
  mac,
});
const empty = (): DataPlane => ({ neighbours: [], fdb: [], routes: [] });

Deno.test("desired: neighbour, FDB and onlink route per peer, as flannel programs them", () => {
  assert.deepEqual(desiredDataPlane([peer(2)], { directRouting: false }), {
    neighbours: [{ ip: "10.244.2.0", mac: "0e:00:00:00:00:02" }],
    fdb: [{ mac: "0e:00:00:00:00:02", dst: "192.168.1.2" }],
    routes: [{ dst: "10.244.2.0/24", gateway: "10.244.2.0", onlink: true }],
  });
});

Deno.test("desired: DirectRouting to an on-link peer is one route via its public IP", () => {
  const plane = desiredDataPlane([peer(2), peer(3)], {
    directRouting: true,
    isOnLink: (ip) => ip === "192.168.1.2",
  });
  assert.deepEqual(plane.routes[0], {
    dst: "10.244.2.0/24",
    gateway: "192.168.1.2",
    onlink: false,
  });
  assert.equal(plane.neighbours.length, 1, "the off-link peer still goes through VXLAN");
});

Deno.test("plan: an empty kernel gets everything; a converged kernel gets nothing", () => {
  const desired = desiredDataPlane([peer(2), peer(3)], { directRouting: false });
  const plan = planReconcile(desired, empty(), { removeUnknown: true });
  assert.equal(plan.neighbours.replace.length, 2);
  assert.equal(plan.fdb.replace.length, 2);
  assert.equal(plan.routes.replace.length, 2);
  assert.ok(isEmptyPlan(planReconcile(desired, desired, { removeUnknown: true })));
});

Deno.test("plan: unknown entries are removed only with an authoritative peer table", () => {
  const desired = desiredDataPlane([peer(2)], { directRouting: false });
  const observed = desiredDataPlane([peer(2), peer(9)], { directRouting: false });
  assert.ok(isEmptyPlan(planReconcile(desired, observed, { removeUnknown: false })));
  const plan = planReconcile(desired, observed, { removeUnknown: true });
  assert.deepEqual(plan.neighbours.remove, [{ ip: "10.244.9.0", mac: "0e:00:00:00:00:09" }]);
  assert.deepEqual(plan.fdb.remove, [{ mac: "0e:00:00:00:00:09", dst: "192.168.1.9" }]);
  assert.deepEqual(plan.routes.remove, [{
    dst: "10.244.9.0/24",
    gateway: "10.244.9.0",
    onlink: true,
  }]);
});

Deno.test("plan: a peer's MAC change replaces its neighbour and removes the old FDB entry", () => {
  const before = desiredDataPlane([peer(2)], { directRouting: false });
  const after = desiredDataPlane([peer(2, "0e:00:00:00:00:aa")], { directRouting: false });
  const plan = planReconcile(after, before, { removeUnknown: false, stale: before });
  assert.deepEqual(plan.neighbours.replace, [{ ip: "10.244.2.0", mac: "0e:00:00:00:00:aa" }]);
  assert.deepEqual(plan.fdb.replace, [{ mac: "0e:00:00:00:00:aa", dst: "192.168.1.2" }]);
  assert.deepEqual(plan.fdb.remove, [{ mac: "0e:00:00:00:00:02", dst: "192.168.1.2" }]);
  assert.deepEqual(plan.routes.replace, []);
});

Deno.test("plan: a changed public IP rewrites the FDB remote in place", () => {
  const before = desiredDataPlane([peer(2)], { directRouting: false });
  const moved = { ...peer(2), publicIP: "192.168.7.7" };
  const plan = planReconcile(desiredDataPlane([moved], { directRouting: false }), before, {
    removeUnknown: true,
  });
  assert.deepEqual(plan.fdb.replace, [{ mac: "0e:00:00:00:00:02", dst: "192.168.7.7" }]);
  assert.deepEqual(plan.fdb.remove, [], "REPLACE rewrites the remote; nothing else to delete");
});

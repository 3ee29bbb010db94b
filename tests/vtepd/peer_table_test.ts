/**
 * The peer table's rules: anything may add or update a peer, only an authoritative list or a
 * live DELETED event removes one, and a list is authoritative only when it contains this node
 * and is not older than what was already seen.
 */
import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import type { Peer } from "../../src/kube/peer.ts";
import { type NodeListView, PeerTable } from "../../src/vtepd/peer_table.ts";
import { recordingLogger } from "../kube/helpers.ts";

const SELF = "edge-1";

function peer(n: number, resourceVersion?: string, mac = `0e:00:00:00:00:0${n}`): Peer {
  const result: Peer = {
    name: `edge-${n}`,
    v4: { podCIDR: `10.244.${n}.0/24`, publicIP: `192.168.1.${n}`, mac },
  };
  if (resourceVersion !== undefined) result.resourceVersion = resourceVersion;
  return result;
}

/** A node list holding `peers`, this node unless `withoutSelf`, at `resourceVersion`. */
function list(
  resourceVersion: string,
  peers: Peer[],
  options: { withoutSelf?: boolean; alsoListed?: string[] } = {},
): NodeListView {
  const names = new Set(peers.map((entry) => entry.name));
  if (!options.withoutSelf) names.add(SELF);
  for (const name of options.alsoListed ?? []) names.add(name);
  return { peers, names, resourceVersion };
}

function table(): PeerTable {
  return new PeerTable({ selfName: SELF, log: recordingLogger() });
}

const names = (t: PeerTable) => [...t.peers.keys()].sort();

Deno.test("peer table: a current list containing this node adds, updates and removes", () => {
  const t = table();
  t.sync(list("100", [peer(2, "90"), peer(3, "91")]));
  const outcome = t.sync(list("120", [peer(2, "110", "0e:00:00:00:00:22"), peer(4, "115")]));
  assert.equal(outcome.authoritative, true);
  assert.deepEqual(names(t), ["edge-2", "edge-4"]);
  assert.deepEqual(
    outcome.changes.map((change) => `${change.kind} ${change.peer.name}`),
    ["upsert edge-2", "upsert edge-4", "remove edge-3"],
  );
  assert.equal(t.peers.get("edge-2")!.v4!.mac, "0e:00:00:00:00:22");
  assert.equal(t.resourceVersion, "120");
});

Deno.test("peer table: a list without this node adds and updates but removes nothing", () => {
  const t = table();
  t.sync(list("100", [peer(2), peer(3)]));
  const outcome = t.sync(list("130", [peer(4)], { withoutSelf: true }));
  assert.equal(outcome.authoritative, false);
  assert.equal(outcome.reason, "the node list lacks this node");
  assert.deepEqual(names(t), ["edge-2", "edge-3", "edge-4"]);
});

Deno.test("peer table: an empty list removes nothing", () => {
  const t = table();
  t.sync(list("100", [peer(2)]));
  const outcome = t.sync({ peers: [], names: new Set(), resourceVersion: "" });
  assert.equal(outcome.authoritative, false);
  assert.equal(outcome.reason, "the node list is empty");
  assert.deepEqual(names(t), ["edge-2"]);
  assert.equal(t.resourceVersion, "100", "an empty version changes nothing");
});

Deno.test("peer table: a list older than what was seen (a stale cache) removes nothing and regresses nothing", () => {
  const t = table();
  t.sync(list("200", [peer(2, "150", "0e:00:00:00:00:22"), peer(3, "190")]));
  // The cache was written before edge-3 joined and before edge-2 changed its MAC; it knows edge-5.
  const stale = list("120", [peer(2, "110", "0e:00:00:00:00:02"), peer(5, "105")]);
  const outcome = t.sync(stale);
  assert.equal(outcome.authoritative, false);
  assert.match(
    outcome.reason!,
    /resourceVersion 120\) is older than what was already seen \(200\)/,
  );
  assert.deepEqual(names(t), ["edge-2", "edge-3", "edge-5"]);
  assert.equal(
    t.peers.get("edge-2")!.v4!.mac,
    "0e:00:00:00:00:22",
    "the newer view of edge-2 stays",
  );
  assert.equal(t.resourceVersion, "200", "the newest version seen is never lowered");
});

Deno.test("peer table: authority belongs to one list, not to the table", () => {
  const t = table();
  assert.equal(t.sync(list("100", [peer(2), peer(3)])).authoritative, true);
  assert.equal(t.sync(list("110", [peer(2)], { withoutSelf: true })).authoritative, false);
  assert.deepEqual(names(t), ["edge-2", "edge-3"]);
  assert.equal(t.sync(list("90", [peer(2)])).authoritative, false);
  assert.deepEqual(names(t), ["edge-2", "edge-3"]);
  assert.equal(t.sync(list("140", [peer(2)])).authoritative, true);
  assert.deepEqual(names(t), ["edge-2"]);
});

Deno.test("peer table: resourceVersions compare as unsigned integers, not as text", () => {
  const t = table();
  t.sync(list("99", [peer(2), peer(3)]));
  const outcome = t.sync(list("100", [peer(2)]));
  assert.equal(outcome.authoritative, true, '"100" is newer than "99"');
  assert.deepEqual(names(t), ["edge-2"]);
});

Deno.test("peer table: versions that are not integers fall back to the other rules, with one warning", () => {
  const log = recordingLogger();
  const t = new PeerTable({ selfName: SELF, log });
  t.sync(list("abc", [peer(2), peer(3)]));
  assert.equal(t.sync(list("abb", [peer(2)])).authoritative, true);
  assert.equal(t.sync(list("xyz", [peer(4)], { withoutSelf: true })).authoritative, false);
  t.sync(list("zzz", [peer(4)]));
  assert.deepEqual(names(t), ["edge-4"]);
  assert.equal(log.lines.filter((line) => /not unsigned integers/.test(line)).length, 1);
});

Deno.test("peer table: a listed node that is no usable peer keeps its entry; an unlisted one goes", () => {
  const t = table();
  t.sync(list("100", [peer(2), peer(3)]));
  // edge-2's annotations went bad: it is listed but not a usable peer.
  const outcome = t.sync(list("110", [], { alsoListed: ["edge-2"] }));
  assert.equal(outcome.authoritative, true);
  assert.deepEqual(names(t), ["edge-2"]);
});

Deno.test("peer table: watch events add, update and delete; an older view of a peer is ignored", () => {
  const t = table();
  t.sync(list("100", [peer(2, "100")]));
  assert.equal(t.upsert(peer(3, "101"))?.kind, "upsert");
  assert.equal(t.upsert(peer(2, "102", "0e:00:00:00:00:22"))?.kind, "upsert");
  assert.equal(t.upsert(peer(2, "99", "0e:00:00:00:00:99")), undefined, "older view");
  assert.equal(t.upsert(peer(2, "103", "0e:00:00:00:00:22")), undefined, "nothing changed");
  assert.equal(t.peers.get("edge-2")!.resourceVersion, "103");
  assert.deepEqual(t.remove("edge-3", "104"), { kind: "remove", peer: peer(3, "101") });
  assert.equal(t.remove("edge-3", "105"), undefined);
  assert.deepEqual(names(t), ["edge-2"]);
  assert.equal(t.resourceVersion, "105");
  assert.equal(t.upsert({ ...peer(1), name: SELF }), undefined, "the own node is never a peer");
});

Deno.test("peer table: restored from the state file, a cache older than the saved version removes nothing", () => {
  const t = table();
  t.restore({ peers: [peer(2, "180"), peer(3, "190")], resourceVersion: "200" });
  assert.deepEqual(names(t), ["edge-2", "edge-3"]);
  assert.equal(t.sync(list("150", [peer(2, "140")])).authoritative, false);
  assert.deepEqual(names(t), ["edge-2", "edge-3"]);
  t.observe("210");
  assert.equal(t.resourceVersion, "210", "bookmarks raise the version");
  t.observe("205");
  assert.equal(t.resourceVersion, "210");
  assert.deepEqual(t.snapshot(), {
    peers: [peer(2, "180"), peer(3, "190")],
    resourceVersion: "210",
  });
});

Deno.test("peer table: VTEP MACs are owned per family; a taken one leaves out only that family", () => {
  const t = table();
  const dual = (n: number, mac: string, mac6: string): Peer => ({
    name: `edge-${n}`,
    v4: { podCIDR: `10.244.${n}.0/24`, publicIP: `192.168.1.${n}`, mac },
    v6: { podCIDR: `fd00:10:244:${n}::/64`, publicIP: `fd00:50::${n}`, mac: mac6 },
  });
  t.setOwnMAC(6, "0e:00:00:00:06:01");
  t.sync(list("100", [
    dual(2, "0e:00:00:00:00:02", "0e:00:00:00:06:02"),
    // edge-3 reuses edge-2's IPv4 MAC (a cloned disk) and this node's IPv6 MAC.
    dual(3, "0e:00:00:00:00:02", "0e:00:00:00:06:01"),
    // The same MAC in different families is no conflict: they are different devices.
    dual(4, "0e:00:00:00:06:02", "0e:00:00:00:00:04"),
  ]));
  assert.deepEqual([...t.conflicts.keys()].sort(), ["edge-3/4", "edge-3/6"]);
  const programmable = t.programmable();
  assert.equal(programmable.has("edge-3"), false, "nothing left of edge-3");
  assert.ok(programmable.get("edge-4")?.v4 && programmable.get("edge-4")?.v6);
  // edge-3 gets its own IPv6 MAC: its IPv6 VTEP is programmed, its IPv4 one still not.
  t.upsert(dual(3, "0e:00:00:00:00:02", "0e:00:00:00:06:03"));
  assert.deepEqual([...t.conflicts.keys()], ["edge-3/4"]);
  assert.deepEqual(t.programmable().get("edge-3"), {
    name: "edge-3",
    v6: { podCIDR: "fd00:10:244:3::/64", publicIP: "fd00:50::3", mac: "0e:00:00:00:06:03" },
  });
});

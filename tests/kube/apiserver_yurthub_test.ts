/**
 * The test API server playing yurthub with the cloud away, mode by mode, as openyurt's local
 * proxy answers (pkg/yurthub/proxy/local/local.go; see ./apiserver/yurthub.ts).
 */
import assert from "node:assert/strict";
import {
  FLANNEL_RULES,
  type NodeObject,
  type TestApiServer,
  type YurthubSetting,
} from "./apiserver.ts";
import { localWatchSeconds } from "./apiserver/yurthub.ts";
import { flannelNode } from "./fixtures.ts";
import { openRawWatch, type RawWatch } from "./helpers.ts";
import { call, STRATEGIC, withServer } from "./raw_call.ts";

const names = (list: { items: NodeObject[] | null }) =>
  (list.items ?? []).map((item) => item.metadata.name);

const NOT_CACHED_LIST = {
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message: 'nodes "" not found',
  reason: "NotFound",
  details: { kind: "nodes" },
  code: 404,
};

function openWatch(server: TestApiServer, query = "timeoutSeconds=60"): Promise<RawWatch> {
  return openRawWatch(`${server.url}/api/v1/nodes?watch=true&${query}`);
}

/** Asserts that `watch` sends nothing for `ms`, while it is still open. */
async function assertSilent(watch: RawWatch, ms = 200): Promise<void> {
  await assert.rejects(watch.next(ms), /no watch event in time/, "a local watch sends nothing");
}

Deno.test("yurthub cached: reads come from the cloud as it was when it went down", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    server.createNode(flannelNode("n2", 2));
    const n2Version = server.node("n2")!.metadata.resourceVersion;
    server.advanceResourceVersion(5); // other kinds change: the cloud's version moves on
    const downAt = server.resourceVersion;
    server.setYurthubMode({ mode: "cached" });
    assert.equal(server.yurthubMode, "cached");
    assert.ok(server.cloudDown);
    server.createNode(flannelNode("n3", 3));
    server.updateNode("n1", (node) => {
      node.metadata.labels.cloud = "changed";
    });

    const list = await call(server, "GET", "/api/v1/nodes?limit=1");
    assert.equal(list.status, 200);
    assert.equal(list.json.kind, "NodeList");
    assert.deepEqual(names(list.json), ["n1", "n2"], "every cached node, in one page");
    assert.equal(list.json.metadata.continue, undefined);
    assert.equal(
      list.json.metadata.resourceVersion,
      n2Version,
      "the newest cached node's version, not the cloud's",
    );
    assert.ok(Number(n2Version) < Number(downAt));
    assert.equal(list.json.items[0].metadata.labels.cloud, undefined, "n1 as cached");

    const one = await call(server, "GET", "/api/v1/nodes/n1");
    assert.equal(one.status, 200);
    assert.equal(one.json.metadata.labels.cloud, undefined);
    const joinedLater = await call(server, "GET", "/api/v1/nodes/n3");
    assert.equal(joinedLater.status, 404);
    assert.equal(joinedLater.json.message, 'nodes "n3" not found');
  });
});

Deno.test("yurthub, every cloud-down mode: no authentication, and only cache agents are served", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    assert.equal((await call(server, "GET", "/api/v1/nodes/n1")).status, 401, "online");
    const old = server.snapshot();
    for (
      const setting of [
        { mode: "cached" },
        { mode: "snapshot", snapshot: old },
        { mode: "uncached" },
      ] as const
    ) {
      server.setYurthubMode(setting);
      const agent = await call(server, "GET", "/api/v1/nodes/n1");
      assert.equal(agent.status, setting.mode === "uncached" ? 404 : 200, setting.mode);
      const other = await call(server, "GET", "/api/v1/nodes?limit=5", {
        userAgent: "kubernetes-client-javascript/2.0.1",
      });
      assert.equal(other.status, 400, setting.mode);
      assert.equal(other.json.reason, "BadRequest");
      assert.equal(
        other.json.message,
        "can not cache for kubernetes-client-javascript/2.0.1 list nodes: /api/v1/nodes?limit=5",
      );
    }
    assert.ok(server.requests.filter((request) => request.status !== 401).every((r) => r.offline));
  }, { accounts: { token: { user: "flannel", rules: FLANNEL_RULES } } });
});

Deno.test("yurthub, every cloud-down mode: a PATCH is answered 200 with the cached node and dropped; 404 when not cached", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    const old = server.snapshot();
    server.createNode(flannelNode("n2", 2));
    const patch = (name: string) =>
      call(server, "PATCH", `/api/v1/nodes/${name}/status`, {
        contentType: STRATEGIC,
        body: { metadata: { annotations: { offline: "write" } } },
      });
    for (
      const setting of [
        { mode: "cached" },
        { mode: "snapshot", snapshot: old },
        { mode: "uncached" },
      ] as const
    ) {
      server.setYurthubMode(setting);
      const cachedPatch = await patch("n1");
      if (setting.mode === "uncached") {
        assert.equal(cachedPatch.status, 404);
        assert.equal(cachedPatch.json.message, 'nodes "n1" not found');
      } else {
        assert.equal(cachedPatch.status, 200, setting.mode);
        assert.deepEqual(cachedPatch.json, old.nodes[0], "the cached node, unchanged");
      }
      const uncachedPatch = await patch(setting.mode === "cached" ? "ghost" : "n2");
      assert.equal(uncachedPatch.status, 404, setting.mode);
    }
    server.setYurthubMode({ mode: "online" });
    assert.equal(server.node("n1")!.metadata.annotations.offline, undefined, "nothing applied");
    assert.equal(server.node("n2")!.metadata.annotations.offline, undefined);
  });
});

Deno.test("yurthub snapshot: an older cache, without the nodes that joined after it was written, lists with its old resourceVersion", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    const early = server.snapshot();
    const n1Early = early.nodes[0]!;
    server.createNode(flannelNode("n2", 2));
    server.updateNode("n1", (node) => {
      node.metadata.labels.seen = "by the node";
    });
    const late = server.snapshot();
    assert.equal(early.resourceVersion, n1Early.metadata.resourceVersion);
    assert.deepEqual(late.nodes.map((node) => node.metadata.name), ["n1", "n2"]);

    server.serveSnapshot(early);
    assert.equal(server.yurthubMode, "snapshot");
    const earlyList = await call(server, "GET", "/api/v1/nodes");
    assert.deepEqual(names(earlyList.json), ["n1"]);
    assert.equal(earlyList.json.metadata.resourceVersion, early.resourceVersion);
    assert.ok(
      Number(earlyList.json.metadata.resourceVersion) <
        Number(server.node("n1")!.metadata.resourceVersion),
      "older than the version the node already saw",
    );
    assert.deepEqual(earlyList.json.items[0], n1Early);
    assert.equal((await call(server, "GET", "/api/v1/nodes/n2")).status, 404);

    server.serveSnapshot(late, ["n2"]);
    const lateList = await call(server, "GET", "/api/v1/nodes");
    assert.deepEqual(names(lateList.json), ["n1"], "n2 is left out");
    assert.equal(
      lateList.json.metadata.resourceVersion,
      late.nodes[0]!.metadata.resourceVersion,
      "the newest remaining node's version",
    );
    assert.equal(
      (await call(server, "GET", "/api/v1/nodes/n1")).json.metadata.labels.seen,
      "by the node",
    );
    const missing = await call(server, "GET", "/api/v1/nodes/n2");
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json.details, { name: "n2", kind: "nodes" });
  });
});

Deno.test("yurthub snapshot: a cache that holds an empty list answers items null and no resourceVersion", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    server.serveSnapshot(server.snapshot(), ["n1"]);
    const list = await call(server, "GET", "/api/v1/nodes");
    assert.equal(list.status, 200);
    assert.deepEqual(list.json, { kind: "NodeList", apiVersion: "v1", metadata: {}, items: null });
  });
});

Deno.test("yurthub snapshot: bad snapshots and omissions are refused and change nothing", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    const snapshot = server.snapshot();
    assert.throws(() => server.serveSnapshot(snapshot, ["n9"]), /the snapshot has no node n9/);
    assert.throws(
      () => server.serveSnapshot({ resourceVersion: "x", nodes: [] }),
      /resourceVersion must be a decimal string/,
    );
    assert.throws(
      () => server.serveSnapshot({ resourceVersion: "1", nodes: [{ metadata: {} }] }),
      /needs metadata.name/,
    );
    assert.equal(server.yurthubMode, "online");
    const list = await call(server, "GET", "/api/v1/nodes");
    assert.equal(list.json.metadata.resourceVersion, server.resourceVersion, "still the cloud");
    snapshot.nodes[0]!.metadata.labels.mutated = "by the test";
    assert.equal(server.node("n1")!.metadata.labels.mutated, undefined, "a snapshot is a copy");
  });
});

Deno.test("yurthub uncached: GET, LIST and PATCH are 404 NotFound; LIST names nothing", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    server.setYurthubMode({ mode: "uncached" });
    const list = await call(server, "GET", "/api/v1/nodes");
    assert.equal(list.status, 404);
    assert.deepEqual(list.json, NOT_CACHED_LIST);
    const one = await call(server, "GET", "/api/v1/nodes/n1");
    assert.equal(one.status, 404);
    assert.deepEqual(one.json.details, { name: "n1", kind: "nodes" });
    const watch = await openWatch(server);
    try {
      assert.equal(watch.status, 200, "a watch still opens");
      await assertSilent(watch);
    } finally {
      await watch.close();
    }
  });
});

Deno.test("yurthub: local watches stay silent in every cloud-down mode, and every switch of mode ends every watch", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    const old = server.snapshot();
    const sequence: YurthubSetting[] = [
      { mode: "cached" },
      { mode: "snapshot", snapshot: old, omit: ["n1"] },
      { mode: "uncached" },
      { mode: "online" },
      { mode: "uncached" },
      { mode: "snapshot", snapshot: old },
      { mode: "cached" },
      { mode: "online" },
    ];
    let index = 2;
    for (const setting of sequence) {
      const from = server.yurthubMode;
      const watch = await openWatch(server, "timeoutSeconds=60&resourceVersion=not-a-number");
      try {
        if (from === "online") {
          assert.equal(watch.status, 400, "the cloud checks the resourceVersion");
        } else {
          assert.equal(watch.status, 200, `${from}: yurthub ignores the resourceVersion`);
          server.createNode(flannelNode(`n${index}`, index));
          index += 1;
          await assertSilent(watch);
          assert.equal(server.activeWatches, 1);
          server.setYurthubMode(setting);
          assert.equal(await watch.next(), undefined, `${from} -> ${setting.mode} ends it`);
          assert.equal(server.activeWatches, 0);
        }
      } finally {
        await watch.close();
      }
      if (from === "online") {
        const live = await openWatch(server, `resourceVersion=${server.resourceVersion}`);
        try {
          server.createNode(flannelNode(`n${index}`, index));
          index += 1;
          assert.equal((await live.next())!.type, "ADDED", "the cloud's watch is live");
          server.setYurthubMode(setting);
          assert.equal(await live.next(), undefined, `online -> ${setting.mode} ends it`);
        } finally {
          await live.close();
        }
      }
      assert.equal(server.yurthubMode, setting.mode);
    }
  });
});

Deno.test("yurthub: online while online changes nothing; setCloudDown(true) twice keeps the first cache", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    const watch = await openWatch(server, `resourceVersion=${server.resourceVersion}`);
    try {
      server.setYurthubMode({ mode: "online" });
      server.setCloudDown(false);
      server.createNode(flannelNode("n2", 2));
      assert.equal((await watch.next())!.type, "ADDED", "the watch survived");
    } finally {
      await watch.close();
    }
    server.setCloudDown(true);
    server.createNode(flannelNode("n3", 3));
    server.setCloudDown(true);
    assert.deepEqual(names((await call(server, "GET", "/api/v1/nodes")).json), ["n1", "n2"]);
    server.setCloudDown(false);
    assert.equal(server.yurthubMode, "online");
    assert.deepEqual(names((await call(server, "GET", "/api/v1/nodes")).json), ["n1", "n2", "n3"]);
  });
});

Deno.test("yurthub: a local watch lasts its timeoutSeconds, or without one the min request timeout times [1, 2)", async () => {
  await withServer(async (server) => {
    server.setYurthubMode({ mode: "cached" });
    const started = Date.now();
    const timed = await openWatch(server, "timeoutSeconds=1");
    const untimed = await openWatch(server, "");
    const zero = await openWatch(server, "timeoutSeconds=0");
    try {
      const ended = async (watch: RawWatch) => {
        assert.equal(await watch.next(4000), undefined);
        return Date.now() - started;
      };
      const [timedMs, untimedMs, zeroMs] = await Promise.all([
        ended(timed),
        ended(untimed),
        ended(zero),
      ]);
      assert.ok(timedMs >= 950 && timedMs < 1800, `timeoutSeconds=1 lasted ${timedMs} ms`);
      for (const ms of [untimedMs, zeroMs]) {
        assert.ok(ms >= 950 && ms < 2800, `an untimed local watch lasted ${ms} ms`);
      }
    } finally {
      await Promise.all([timed.close(), untimed.close(), zero.close()]);
    }
  }, { minRequestTimeoutSeconds: 1 });
});

Deno.test("local watch lifetime: yurthub's rule, with the default --min-request-timeout of 1800 s", () => {
  assert.equal(localWatchSeconds(30, 1800, () => 0.9), 30);
  assert.equal(localWatchSeconds(undefined, 1800, () => 0), 1800);
  assert.equal(localWatchSeconds(undefined, 1800, () => 0.5), 2700);
  assert.equal(localWatchSeconds(0, 1800, () => 0.25), 2250);
});

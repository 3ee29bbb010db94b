/**
 * The test API server, read as the API semantics it promises. Spoken to with Deno's own fetch,
 * so these tests do not depend on the client under test.
 */
import assert from "node:assert/strict";
import { FLANNEL_RULES, type NodeObject } from "./apiserver.ts";
import { bareNode, flannelNode } from "./fixtures.ts";
import { openRawWatch } from "./helpers.ts";
import { call, MERGE, STRATEGIC, withServer } from "./raw_call.ts";

Deno.test("LIST answers a NodeList with the current resourceVersion; GET answers one node", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("b", 2));
    server.createNode(flannelNode("a", 1));
    const list = await call(server, "GET", "/api/v1/nodes");
    assert.equal(list.status, 200);
    assert.equal(list.json.kind, "NodeList");
    assert.equal(list.json.apiVersion, "v1");
    assert.equal(list.json.metadata.resourceVersion, server.resourceVersion);
    assert.deepEqual(list.json.items.map((item: NodeObject) => item.metadata), [
      server.node("a")!.metadata,
      server.node("b")!.metadata,
    ]);
    const one = await call(server, "GET", "/api/v1/nodes/a");
    assert.equal(one.status, 200);
    assert.equal(one.json.kind, "Node");
    assert.equal(one.json.metadata.name, "a");
    assert.match(one.json.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.equal(one.json.spec.podCIDR, "10.244.1.0/24");
  });
});

Deno.test("errors are Status objects: 404 for a missing node or path, 405 for other methods", async () => {
  await withServer(async (server) => {
    const missing = await call(server, "GET", "/api/v1/nodes/ghost");
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'nodes "ghost" not found',
      reason: "NotFound",
      details: { name: "ghost", kind: "nodes" },
      code: 404,
    });
    const path = await call(server, "GET", "/api/v1/pods");
    assert.equal(path.status, 404);
    assert.equal(path.json.reason, "NotFound");
    const method = await call(server, "DELETE", "/api/v1/nodes/ghost");
    assert.equal(method.status, 405);
    assert.equal(method.json.reason, "MethodNotAllowed");
  });
});

Deno.test("LIST pages with limit and continue over one consistent snapshot", async () => {
  await withServer(async (server) => {
    for (let i = 1; i <= 5; i++) server.createNode(flannelNode(`n${i}`, i));
    const first = await call(server, "GET", "/api/v1/nodes?limit=2");
    assert.deepEqual(first.json.items.map((item: NodeObject) => item.metadata.name), ["n1", "n2"]);
    assert.equal(first.json.metadata.remainingItemCount, 3);
    const snapshotVersion = first.json.metadata.resourceVersion;
    server.deleteNode("n4");
    server.createNode(flannelNode("n6", 6));
    const token = encodeURIComponent(first.json.metadata.continue);
    const second = await call(server, "GET", `/api/v1/nodes?limit=2&continue=${token}`);
    assert.deepEqual(second.json.items.map((item: NodeObject) => item.metadata.name), ["n3", "n4"]);
    assert.equal(second.json.metadata.resourceVersion, snapshotVersion);
    const third = await call(
      server,
      "GET",
      `/api/v1/nodes?limit=2&continue=${encodeURIComponent(second.json.metadata.continue)}`,
    );
    assert.deepEqual(third.json.items.map((item: NodeObject) => item.metadata.name), ["n5"]);
    assert.equal(third.json.metadata.continue, undefined, "the last page has no continue");
  });
});

Deno.test("a continue token from before compaction gets 410 Expired", async () => {
  await withServer(async (server) => {
    for (let i = 1; i <= 3; i++) server.createNode(flannelNode(`n${i}`, i));
    const first = await call(server, "GET", "/api/v1/nodes?limit=1");
    server.compact();
    const next = await call(
      server,
      "GET",
      `/api/v1/nodes?limit=1&continue=${encodeURIComponent(first.json.metadata.continue)}`,
    );
    assert.equal(next.status, 410);
    assert.equal(next.json.reason, "Expired");
  });
});

Deno.test("WATCH from a list's resourceVersion streams later changes as they happen", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    const list = await call(server, "GET", "/api/v1/nodes");
    const watch = await openRawWatch(
      `${server.url}/api/v1/nodes?watch=true&resourceVersion=${list.json.metadata.resourceVersion}`,
    );
    try {
      assert.equal(watch.status, 200);
      server.createNode(flannelNode("n2", 2));
      server.updateNode("n1", (node) => {
        node.metadata.labels = { changed: "yes" };
      });
      server.deleteNode("n2");
      const events = [await watch.next(), await watch.next(), await watch.next()];
      assert.deepEqual(
        events.map((event) => [event!.type, (event!.object as NodeObject).metadata.name]),
        [["ADDED", "n2"], ["MODIFIED", "n1"], ["DELETED", "n2"]],
      );
      const versions = events.map((event) =>
        Number((event!.object as NodeObject).metadata.resourceVersion)
      );
      assert.deepEqual(versions, [...versions].sort((a, b) => a - b), "versions increase");
      assert.equal(String(versions[2]), server.resourceVersion);
    } finally {
      await watch.close();
    }
  });
});

Deno.test("WATCH replays the events after the requested resourceVersion; without one it starts with ADDED for all", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    const from = server.resourceVersion;
    server.createNode(flannelNode("n2", 2));
    server.deleteNode("n1");
    const replay = await openRawWatch(`${server.url}/api/v1/nodes?watch=1&resourceVersion=${from}`);
    try {
      const first = await replay.next();
      const second = await replay.next();
      assert.deepEqual([first!.type, second!.type], ["ADDED", "DELETED"]);
      assert.equal((first!.object as NodeObject).metadata.name, "n2");
      assert.equal((second!.object as NodeObject).metadata.name, "n1");
    } finally {
      await replay.close();
    }
    const fresh = await openRawWatch(`${server.url}/api/v1/nodes?watch=true`);
    try {
      const added = await fresh.next();
      assert.equal(added!.type, "ADDED");
      assert.equal((added!.object as NodeObject).metadata.name, "n2");
    } finally {
      await fresh.close();
    }
  });
});

Deno.test("WATCH from a version older than the history gets an ERROR event with 410 Expired", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    const old = server.resourceVersion;
    server.updateNode("n1", (node) => {
      node.metadata.labels = { a: "1" };
    });
    server.compact();
    const watch = await openRawWatch(
      `${server.url}/api/v1/nodes?watch=true&resourceVersion=${old}`,
    );
    try {
      assert.equal(watch.status, 200, "the real server answers 200 and reports in the stream");
      const event = await watch.next();
      assert.equal(event!.type, "ERROR");
      const status = event!.object as Record<string, unknown>;
      assert.equal(status.kind, "Status");
      assert.equal(status.code, 410);
      assert.equal(status.reason, "Expired");
      assert.match(String(status.message), /too old resource version/);
      assert.equal(await watch.next(), undefined, "the stream ends after the error");
    } finally {
      await watch.close();
    }
  });
  // The same when events fall out of a bounded history.
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    const old = server.resourceVersion;
    for (let i = 0; i < 3; i++) {
      server.updateNode("n1", (node) => {
        node.metadata.labels = { i: String(i) };
      });
    }
    const watch = await openRawWatch(
      `${server.url}/api/v1/nodes?watch=true&resourceVersion=${old}`,
    );
    try {
      assert.equal((await watch.next())!.type, "ERROR");
    } finally {
      await watch.close();
    }
  }, { historyLimit: 2 });
});

Deno.test("WATCH sends BOOKMARK events only when allowed, carrying just the resourceVersion", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    const rv = server.resourceVersion;
    const plain = await openRawWatch(`${server.url}/api/v1/nodes?watch=true&resourceVersion=${rv}`);
    const withBookmarks = await openRawWatch(
      `${server.url}/api/v1/nodes?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`,
    );
    try {
      const periodic = await withBookmarks.next();
      assert.deepEqual(periodic, {
        type: "BOOKMARK",
        object: { kind: "Node", apiVersion: "v1", metadata: { resourceVersion: rv } },
      });
      await assert.rejects(plain.next(300), /no watch event/);
      server.sendBookmarks();
      assert.equal((await withBookmarks.next())!.type, "BOOKMARK");
    } finally {
      await plain.close();
      await withBookmarks.close();
    }
  }, { bookmarkIntervalMs: 100 });
});

Deno.test("WATCH ends after timeoutSeconds; closeWatches() ends every watch", async () => {
  await withServer(async (server) => {
    const started = Date.now();
    const short = await openRawWatch(`${server.url}/api/v1/nodes?watch=true&timeoutSeconds=1`);
    try {
      assert.equal(await short.next(3000), undefined);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 900 && elapsed < 2500, `ended after ${elapsed} ms`);
    } finally {
      await short.close();
    }
    const long = await openRawWatch(`${server.url}/api/v1/nodes?watch=true`);
    try {
      assert.equal(server.activeWatches, 1);
      server.closeWatches();
      assert.equal(await long.next(), undefined);
      assert.equal(server.activeWatches, 0);
    } finally {
      await long.close();
    }
  });
});

Deno.test("PATCH nodes/status: strategic merge merges conditions by type, merge patch replaces the list", async () => {
  await withServer(async (server) => {
    server.createNode(bareNode("n1", "10.244.1.0/24"));
    const condition = { type: "NetworkUnavailable", status: "False", reason: "FlannelIsUp" };
    const strategic = await call(server, "PATCH", "/api/v1/nodes/n1/status", {
      contentType: STRATEGIC,
      body: { status: { conditions: [condition] } },
    });
    assert.equal(strategic.status, 200);
    assert.deepEqual(
      strategic.json.status.conditions.map((entry: { type: string }) => entry.type),
      ["Ready", "NetworkUnavailable"],
    );
    const merge = await call(server, "PATCH", "/api/v1/nodes/n1/status", {
      contentType: MERGE,
      body: { status: { conditions: [{ ...condition, reason: "Other" }] } },
    });
    assert.deepEqual(merge.json.status.conditions, [{ ...condition, reason: "Other" }]);
    assert.deepEqual(server.node("n1")!.status, merge.json.status, "the answer is what is stored");
  });
});

Deno.test("PATCH accepts JSON patch; other content types get 415, bad bodies 400 and 422", async () => {
  await withServer(async (server) => {
    server.createNode(bareNode("n1", "10.244.1.0/24"));
    const jsonPatch = await call(server, "PATCH", "/api/v1/nodes/n1", {
      contentType: "application/json-patch+json",
      body: [{ op: "add", path: "/metadata/labels/role", value: "edge" }],
    });
    assert.equal(jsonPatch.status, 200);
    assert.equal(jsonPatch.json.metadata.labels.role, "edge");
    const unsupported = await call(server, "PATCH", "/api/v1/nodes/n1", {
      contentType: "application/json",
      body: { metadata: { labels: { x: "y" } } },
    });
    assert.equal(unsupported.status, 415);
    assert.equal(unsupported.json.reason, "UnsupportedMediaType");
    const notJson = await fetch(`${server.url}/api/v1/nodes/n1`, {
      method: "PATCH",
      headers: { "content-type": MERGE },
      body: "{oops",
    });
    assert.equal(notJson.status, 400);
    assert.equal((await notJson.json()).reason, "BadRequest");
    const failedTest = await call(server, "PATCH", "/api/v1/nodes/n1", {
      contentType: "application/json-patch+json",
      body: [{ op: "test", path: "/metadata/labels/role", value: "cloud" }],
    });
    assert.equal(failedTest.status, 422);
    assert.equal(failedTest.json.reason, "Invalid");
    const missing = await call(server, "PATCH", "/api/v1/nodes/ghost/status", {
      contentType: MERGE,
      body: {},
    });
    assert.equal(missing.status, 404);
  });
});

Deno.test("the status subresource changes only status and metadata; the main resource ignores status", async () => {
  await withServer(async (server) => {
    server.createNode(bareNode("n1", "10.244.1.0/24"));
    const viaStatus = await call(server, "PATCH", "/api/v1/nodes/n1/status", {
      contentType: MERGE,
      body: {
        metadata: { annotations: { a: "1" }, labels: { l: "1" } },
        spec: { podCIDR: "10.99.0.0/24" },
        status: { capacity: { pods: "110" } },
      },
    });
    assert.equal(viaStatus.json.metadata.annotations.a, "1");
    assert.equal(viaStatus.json.metadata.labels.l, "1");
    assert.equal(viaStatus.json.spec.podCIDR, "10.244.1.0/24", "spec is not changed via status");
    assert.deepEqual(viaStatus.json.status.capacity, { pods: "110" });
    const viaMain = await call(server, "PATCH", "/api/v1/nodes/n1", {
      contentType: MERGE,
      body: { spec: { unschedulable: true }, status: { capacity: { pods: "1" } } },
    });
    assert.equal(viaMain.json.spec.unschedulable, true);
    assert.deepEqual(
      viaMain.json.status.capacity,
      { pods: "110" },
      "status is not changed via main",
    );
  });
});

Deno.test("every change bumps the resourceVersion; a PATCH that changes nothing does not", async () => {
  await withServer(async (server) => {
    server.createNode(bareNode("n1", "10.244.1.0/24"));
    const body = { metadata: { annotations: { a: "1" } } };
    const first = await call(server, "PATCH", "/api/v1/nodes/n1/status", {
      contentType: STRATEGIC,
      body,
    });
    const version = first.json.metadata.resourceVersion;
    assert.equal(version, server.resourceVersion);
    const watch = await openRawWatch(
      `${server.url}/api/v1/nodes?watch=true&resourceVersion=${version}`,
    );
    try {
      const again = await call(server, "PATCH", "/api/v1/nodes/n1/status", {
        contentType: STRATEGIC,
        body,
      });
      assert.equal(again.status, 200);
      assert.equal(again.json.metadata.resourceVersion, version);
      assert.equal(server.resourceVersion, version);
      await assert.rejects(watch.next(300), /no watch event/, "no event for a no-op");
    } finally {
      await watch.close();
    }
  });
});

Deno.test("a resourceVersion in a patch is a precondition: 409 Conflict when outdated", async () => {
  await withServer(async (server) => {
    const created = server.createNode(bareNode("n1", "10.244.1.0/24"));
    const version = created.metadata.resourceVersion;
    const ok = await call(server, "PATCH", "/api/v1/nodes/n1", {
      contentType: MERGE,
      body: { metadata: { resourceVersion: version, labels: { a: "1" } } },
    });
    assert.equal(ok.status, 200);
    const stale = await call(server, "PATCH", "/api/v1/nodes/n1", {
      contentType: MERGE,
      body: { metadata: { resourceVersion: version, labels: { a: "2" } } },
    });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.reason, "Conflict");
  });
});

Deno.test("bearer tokens: 401 without a known token, RBAC 403 with the real wording", async () => {
  await withServer(async (server) => {
    server.createNode(bareNode("n1", "10.244.1.0/24"));
    const anonymous = await call(server, "GET", "/api/v1/nodes/n1");
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.json.reason, "Unauthorized");
    assert.equal((await call(server, "GET", "/api/v1/nodes", { token: "wrong" })).status, 401);

    const token = "flannel-token";
    assert.equal((await call(server, "GET", "/api/v1/nodes/n1", { token })).status, 200);
    assert.equal((await call(server, "GET", "/api/v1/nodes", { token })).status, 200);
    const mainPatch = await call(server, "PATCH", "/api/v1/nodes/n1", {
      token,
      contentType: MERGE,
      body: { metadata: { labels: { a: "1" } } },
    });
    assert.equal(mainPatch.status, 403);
    assert.deepEqual(mainPatch.json, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message:
        'nodes "n1" is forbidden: User "system:serviceaccount:kube-flannel:flannel" cannot patch resource "nodes" in API group "" at the cluster scope',
      reason: "Forbidden",
      details: { name: "n1", kind: "nodes" },
      code: 403,
    });
    const statusPatch = await call(server, "PATCH", "/api/v1/nodes/n1/status", {
      token,
      contentType: MERGE,
      body: { metadata: { labels: { a: "1" } } },
    });
    assert.equal(statusPatch.status, 200);

    server.setAccount(token, { user: "reader", rules: [{ verbs: ["get"], resources: ["nodes"] }] });
    const list = await call(server, "GET", "/api/v1/nodes", { token });
    assert.equal(list.status, 403);
    assert.equal(
      list.json.message,
      'nodes is forbidden: User "reader" cannot list resource "nodes" in API group "" at the cluster scope',
    );
    const watch = await call(server, "GET", "/api/v1/nodes?watch=true", { token });
    assert.equal(watch.status, 403);
  }, {
    accounts: {
      "flannel-token": { user: "system:serviceaccount:kube-flannel:flannel", rules: FLANNEL_RULES },
    },
  });
});

Deno.test("yurthub mode: reads come from the cache, PATCHes are answered but dropped", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    server.setCloudDown(true);
    server.createNode(flannelNode("n2", 2));
    server.updateNode("n1", (node) => {
      node.metadata.labels = { cloud: "changed" };
    });

    const list = await call(server, "GET", "/api/v1/nodes");
    assert.deepEqual(list.json.items.map((item: NodeObject) => item.metadata.name), ["n1"]);
    const cached = await call(server, "GET", "/api/v1/nodes/n1");
    assert.equal(cached.json.metadata.labels.cloud, undefined, "the cache predates the change");

    const patch = await call(server, "PATCH", "/api/v1/nodes/n1/status", {
      contentType: STRATEGIC,
      body: { metadata: { annotations: { offline: "write" } } },
    });
    assert.equal(patch.status, 200, "accepted");
    assert.equal(patch.json.metadata.annotations.offline, undefined, "answered with the cache");
    assert.equal(
      server.node("n1")!.metadata.annotations.offline,
      undefined,
      "and not applied in the cloud",
    );

    const other = await call(server, "GET", "/api/v1/nodes/n1", {
      userAgent: "kubernetes-client-javascript/2.0.1",
    });
    assert.equal(other.status, 400, "only cached agents are served");
    assert.match(other.json.message, /can not cache for kubernetes-client-javascript/);
    assert.equal((await call(server, "GET", "/api/v1/nodes/n2")).status, 404);

    const watch = await openRawWatch(`${server.url}/api/v1/nodes?watch=true&timeoutSeconds=30`);
    try {
      server.createNode(flannelNode("n3", 3));
      await assert.rejects(watch.next(300), /no watch event/, "offline watches are silent");
      server.setCloudDown(false);
      assert.equal(await watch.next(), undefined, "and end when the cloud is back");
    } finally {
      await watch.close();
    }
    const back = await call(server, "GET", "/api/v1/nodes");
    assert.deepEqual(back.json.items.map((item: NodeObject) => item.metadata.name), [
      "n1",
      "n2",
      "n3",
    ]);
    assert.ok(server.requests.some((request) => request.offline && request.method === "PATCH"));
  });
});

Deno.test("stop() makes the API unreachable; start() serves the same state on the same port", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    const port = server.port;
    await server.stop();
    await assert.rejects(fetch(`${server.url}/api/v1/nodes`));
    await server.start();
    assert.equal(server.port, port);
    const list = await call(server, "GET", "/api/v1/nodes");
    assert.equal(list.json.items.length, 1);
  });
});

Deno.test("the request log records what clients sent", async () => {
  await withServer(async (server) => {
    server.createNode(bareNode("n1", "10.244.1.0/24"));
    await call(server, "PATCH", "/api/v1/nodes/n1/status", {
      contentType: STRATEGIC,
      userAgent: "flanneld/v0.28.9 (keepnet-vtepd)",
      body: { metadata: { annotations: { a: "1" } } },
    });
    await call(server, "GET", "/api/v1/nodes?limit=5");
    const [patch, list] = server.requests;
    assert.deepEqual(patch, {
      method: "PATCH",
      path: "/api/v1/nodes/n1/status",
      query: {},
      contentType: STRATEGIC,
      userAgent: "flanneld/v0.28.9 (keepnet-vtepd)",
      authorization: null,
      body: { metadata: { annotations: { a: "1" } } },
      status: 200,
      offline: false,
    });
    assert.deepEqual(list!.query, { limit: "5" });
    server.clearRequests();
    assert.equal(server.requests.length, 0);
  });
});

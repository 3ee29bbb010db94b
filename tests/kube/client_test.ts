/**
 * The client-node based NodeApi against the test API server over real HTTP.
 */
import assert from "node:assert/strict";
import { ApiError, ApiUnreachableError, hasStatus, type WatchEvent } from "../../src/kube/api.ts";
import { TestApiServer } from "./apiserver.ts";
import { bareNode, flannelNode } from "./fixtures.ts";
import { clientFor, recordingLogger, USER_AGENT, waitFor } from "./helpers.ts";

async function withServer(
  fn: (server: TestApiServer) => Promise<void>,
  options: Parameters<typeof TestApiServer.start>[0] = {},
): Promise<void> {
  const server = await TestApiServer.start(options);
  try {
    await fn(server);
  } finally {
    await server.stop();
  }
}

Deno.test("client: GET, LIST and PATCH carry the configured User-Agent", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    const api = clientFor(server.url);
    const node = await api.getNode("n1");
    assert.equal(node.name, "n1");
    assert.equal(node.podCIDRs[0], "10.244.1.0/24");
    const list = await api.listNodes();
    assert.deepEqual(list.nodes.map((entry) => entry.name), ["n1"]);
    assert.equal(list.resourceVersion, server.resourceVersion);
    await api.patchNodeStatus("n1", { metadata: { annotations: { a: "1" } } }, "strategic");
    assert.equal(server.requests.length, 3);
    for (const request of server.requests) {
      assert.equal(request.userAgent, USER_AGENT, `${request.method} ${request.path}`);
      assert.equal(request.authorization, null, "a bare URL sends no credentials");
    }
  });
});

Deno.test("client: LIST pages through limit and continue and returns the snapshot's version", async () => {
  await withServer(async (server) => {
    for (let i = 1; i <= 5; i++) server.createNode(flannelNode(`n${i}`, i));
    const version = server.resourceVersion;
    const list = await clientFor(server.url, { pageSize: 2 }).listNodes();
    assert.deepEqual(list.nodes.map((node) => node.name), ["n1", "n2", "n3", "n4", "n5"]);
    assert.equal(list.resourceVersion, version);
    const pages = server.requests.filter((request) => request.path === "/api/v1/nodes");
    assert.equal(pages.length, 3);
    assert.deepEqual(pages.map((request) => request.query.limit), ["2", "2", "2"]);
    assert.equal(pages[0]!.query.continue, undefined);
    assert.ok(pages[1]!.query.continue && pages[2]!.query.continue);
  });
});

Deno.test("client: a yurthub's empty cached list (items: null) is an empty list, not an error", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    const snapshot = server.snapshot();
    server.serveSnapshot(snapshot, ["n1"]);
    const list = await clientFor(server.url).listNodes();
    assert.deepEqual(list, { nodes: [], resourceVersion: "" });
  });
});

Deno.test("client: status PATCH is sent as strategic or merge patch, as asked", async () => {
  await withServer(async (server) => {
    server.createNode(bareNode("n1", "10.244.1.0/24"));
    const api = clientFor(server.url);
    const condition = { type: "NetworkUnavailable", status: "False", reason: "FlannelIsUp" };
    const strategic = await api.patchNodeStatus(
      "n1",
      { status: { conditions: [condition] } },
      "strategic",
    );
    assert.deepEqual(strategic.networkUnavailable, condition);
    const stored = server.node("n1")!.status.conditions as { type: string }[];
    assert.deepEqual(stored.map((entry) => entry.type), ["Ready", "NetworkUnavailable"]);
    const merged = await api.patchNodeStatus(
      "n1",
      { metadata: { annotations: { m: "1" } } },
      "merge",
    );
    assert.equal(merged.annotations.m, "1");
    const [first, second] = server.requests;
    assert.equal(first!.method, "PATCH");
    assert.equal(first!.path, "/api/v1/nodes/n1/status");
    assert.equal(first!.contentType, "application/strategic-merge-patch+json");
    assert.deepEqual(first!.body, { status: { conditions: [condition] } });
    assert.equal(second!.contentType, "application/merge-patch+json");
  });
});

Deno.test("client: failures are typed errors carrying the HTTP status", async () => {
  await withServer(async (server) => {
    const api = clientFor(server.url);
    const notFound = await api.getNode("ghost").catch((error) => error);
    assert.ok(notFound instanceof ApiError);
    assert.equal(notFound.status, 404);
    assert.equal(notFound.reason, "NotFound");
    assert.match(notFound.message, /nodes "ghost" not found/);
    assert.ok(hasStatus(notFound, 404, 410));
    assert.ok(!hasStatus(notFound, 403));

    server.setAccount("t", { user: "nobody", rules: [] });
    const unauthorized = await api.listNodes().catch((error) => error);
    assert.ok(hasStatus(unauthorized, 401));

    await server.stop();
    const unreachable = await api.getNode("n1").catch((error) => error);
    assert.ok(unreachable instanceof ApiUnreachableError, String(unreachable));
    assert.match(unreachable.message, /GET \/api\/v1\/nodes\/n1/);
  });
});

Deno.test("client: a WATCH streams events and bookmarks, with the User-Agent", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    const api = clientFor(server.url);
    const list = await api.listNodes();
    const events: WatchEvent[] = [];
    const controller = new AbortController();
    let opened = false;
    const watching = api.watchNodes({
      resourceVersion: list.resourceVersion,
      timeoutSeconds: 30,
      signal: controller.signal,
      onOpen: () => opened = true,
      onEvent: (event) => events.push(event),
    });
    await waitFor("the watch to open", () => opened);
    server.createNode(flannelNode("n2", 2));
    server.deleteNode("n1");
    server.sendBookmarks();
    await waitFor("three events", () => events.length === 3);
    controller.abort();
    assert.equal(await watching, "aborted");
    assert.deepEqual(
      events.map((event) => event.type === "BOOKMARK" ? event.resourceVersion : event.type),
      ["ADDED", "DELETED", server.resourceVersion],
    );
    assert.equal((events[1] as { node: { name: string } }).node.name, "n1");
    const watch = server.requests.find((request) => request.query.watch === "true")!;
    assert.equal(watch.userAgent, USER_AGENT);
    assert.deepEqual(watch.query, {
      allowWatchBookmarks: "true",
      resourceVersion: list.resourceVersion,
      timeoutSeconds: "30",
      watch: "true",
    });
    await waitFor("the server to see the watch end", () => server.activeWatches === 0);
  });
});

Deno.test("client: an expired version arrives as an ERROR event; the watch then ends closed", async () => {
  await withServer(async (server) => {
    server.createNode(flannelNode("n1", 1));
    const old = server.resourceVersion;
    server.deleteNode("n1");
    server.compact();
    const events: WatchEvent[] = [];
    const end = await clientFor(server.url).watchNodes({
      resourceVersion: old,
      onEvent: (event) => events.push(event),
    });
    assert.equal(end, "closed");
    assert.equal(events.length, 1);
    const [event] = events;
    assert.ok(event?.type === "ERROR");
    assert.equal(event.error.status, 410);
    assert.equal(event.error.reason, "Expired");
  });
});

Deno.test("client: a WATCH ends closed when the server times it out, and rejects on 401", async () => {
  await withServer(async (server) => {
    const api = clientFor(server.url);
    const end = await api.watchNodes({
      resourceVersion: server.resourceVersion,
      timeoutSeconds: 1,
      onEvent: () => {},
    });
    assert.equal(end, "closed");
    server.setAccount("t", { user: "u", rules: [] });
    const denied = await api.watchNodes({ resourceVersion: "1", onEvent: () => {} }).catch((e) =>
      e
    );
    assert.ok(hasStatus(denied, 401));
  });
});

Deno.test("client: a watch that goes silent past its timeout is dropped as unreachable", async () => {
  // A server that accepts the watch and then never sends or closes: a dead connection.
  const hung = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response(
        new ReadableStream({
          start(controller) {
            hung.signal.addEventListener("abort", () => controller.close());
          },
        }),
      ),
  );
  try {
    const api = clientFor(`http://127.0.0.1:${server.addr.port}`, { watchStallGraceMs: 200 });
    const started = Date.now();
    const error = await api.watchNodes({
      resourceVersion: "1",
      timeoutSeconds: 1,
      onEvent: () => {},
    }).catch((e) => e);
    assert.ok(error instanceof ApiUnreachableError, String(error));
    assert.match(error.message, /no data for 1.2 s/);
    assert.ok(Date.now() - started >= 1100);
  } finally {
    hung.abort();
    await server.shutdown();
  }
});

Deno.test("client: malformed watch lines and objects are logged and skipped", async () => {
  const lines = [
    "not json",
    JSON.stringify({ type: "ADDED", object: { metadata: {} } }),
    JSON.stringify({ type: "SURPRISE", object: {} }),
    JSON.stringify({ type: "ADDED", object: { metadata: { name: "ok", resourceVersion: "9" } } }),
  ];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(lines.join("\n") + "\n"),
  );
  try {
    const logger = recordingLogger();
    const events: WatchEvent[] = [];
    const api = clientFor(`http://127.0.0.1:${server.addr.port}`, { logger });
    const end = await api.watchNodes({ resourceVersion: "1", onEvent: (e) => events.push(e) });
    assert.equal(end, "closed");
    assert.deepEqual(events.map((event) => event.type), ["ADDED"]);
    assert.equal(logger.lines.length, 3);
    assert.match(logger.lines[0]!, /^WARN skipping a watch line that is not JSON/);
    assert.match(logger.lines[1]!, /malformed node .*no metadata.name/);
    assert.match(logger.lines[2]!, /unknown type type=SURPRISE/);
  } finally {
    await server.shutdown();
  }
});

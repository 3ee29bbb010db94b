/**
 * The node informer against the test API server: it lists, watches, follows bookmarks,
 * re-lists only when it must, reconnects, and reports deletions only from real DELETED events
 * or fresh complete lists.
 */
import assert from "node:assert/strict";
import type { NodeView } from "../../src/kube/node.ts";
import {
  NodeInformer,
  type NodeInformerOptions,
  type SyncInfo,
} from "../../src/kube/node_informer.ts";
import { type ApiServerOptions, TestApiServer } from "./apiserver.ts";
import { flannelNode } from "./fixtures.ts";
import { clientFor, recordingLogger, waitFor } from "./helpers.ts";

interface Recorded {
  syncs: { names: string[]; info: SyncInfo }[];
  upserts: string[];
  deletes: string[];
  connection: boolean[];
}

interface Running {
  informer: NodeInformer;
  seen: Recorded;
}

async function withInformer(
  setup: (server: TestApiServer) => void,
  fn: (server: TestApiServer, running: Running) => Promise<void>,
  options: { server?: ApiServerOptions } = {},
): Promise<void> {
  const server = await TestApiServer.start(options.server);
  const seen: Recorded = { syncs: [], upserts: [], deletes: [], connection: [] };
  const informer = new NodeInformer(clientFor(server.url, { requestTimeoutMs: 1000 }), {
    onSync: (nodes: ReadonlyMap<string, NodeView>, info: SyncInfo) =>
      seen.syncs.push({ names: [...nodes.keys()].sort(), info }),
    onUpsert: (node) => seen.upserts.push(node.name),
    onDelete: (node) => seen.deletes.push(node.name),
    onConnectionChange: (connected) => seen.connection.push(connected),
  }, {
    logger: recordingLogger(),
    backoff: { initialMs: 20, maxMs: 200 },
    unreachableBackoff: { initialMs: 20, maxMs: 200 },
    watchTimeoutSeconds: 30,
  });
  try {
    setup(server);
    informer.start();
    await fn(server, { informer, seen });
  } finally {
    await informer.stop();
    await server.stop();
  }
}

const lists = (server: TestApiServer) =>
  server.requests.filter((request) => request.path === "/api/v1/nodes" && !request.query.watch);
const watches = (server: TestApiServer) =>
  server.requests.filter((request) => request.query.watch === "true");

Deno.test("informer: the first LIST is a sync with its resourceVersion, then watch events arrive", async () => {
  await withInformer((server) => {
    server.createNode(flannelNode("n1", 1));
    server.createNode(flannelNode("n2", 2));
  }, async (server, { informer, seen }) => {
    await waitFor("the initial sync", () => seen.syncs.length === 1);
    assert.deepEqual(seen.syncs[0], {
      names: ["n1", "n2"],
      info: { resourceVersion: server.resourceVersion },
    });
    assert.ok(informer.synced && informer.connected);
    await waitFor("the watch", () => server.activeWatches === 1);
    assert.equal(watches(server)[0]!.query.resourceVersion, seen.syncs[0]!.info.resourceVersion);
    assert.equal(watches(server)[0]!.query.allowWatchBookmarks, "true");

    server.createNode(flannelNode("n3", 3));
    server.updateNode("n1", (node) => {
      node.metadata.labels = { changed: "yes" };
    });
    server.deleteNode("n2");
    await waitFor("three events", () => seen.upserts.length + seen.deletes.length === 3);
    assert.deepEqual(seen.upserts, ["n3", "n1"]);
    assert.deepEqual(seen.deletes, ["n2"]);
    assert.deepEqual([...informer.nodes.keys()].sort(), ["n1", "n3"]);
    assert.equal(
      informer.nodes.get("n1")!.resourceVersion,
      server.node("n1")!.metadata.resourceVersion,
    );
    assert.equal(informer.resourceVersion, server.resourceVersion);
    assert.equal(seen.syncs.length, 1, "no re-list");
  });
});

Deno.test("informer: bookmarks move the resume version, so a compacted history costs no re-list", async () => {
  await withInformer((server) => {
    server.createNode(flannelNode("n1", 1));
  }, async (server, { informer, seen }) => {
    await waitFor("the watch", () => server.activeWatches === 1);
    server.advanceResourceVersion(5);
    server.sendBookmarks();
    await waitFor("the bookmark", () => informer.resourceVersion === server.resourceVersion);
    server.compact();
    server.closeWatches();
    await waitFor(
      "the second watch",
      () => watches(server).length === 2 && server.activeWatches === 1,
    );
    assert.equal(watches(server)[1]!.query.resourceVersion, server.resourceVersion);
    assert.equal(lists(server).length, 1, "no re-list");
    server.createNode(flannelNode("n2", 2));
    await waitFor("the event on the new watch", () => seen.upserts.includes("n2"));
  });
});

Deno.test("informer: 410 Expired means a re-list; a node deleted meanwhile goes only through that list", async () => {
  await withInformer((server) => {
    server.createNode(flannelNode("n1", 1));
    server.createNode(flannelNode("n2", 2));
  }, async (server, { informer, seen }) => {
    await waitFor("the watch", () => server.activeWatches === 1);
    await server.stop();
    await waitFor("the informer to notice", () => !informer.connected);
    // While the API is away: the cloud deletes n2 and forgets its history.
    server.deleteNode("n2");
    server.compact();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(seen.syncs.length, 1, "nothing is reported while the API is unreachable");
    assert.deepEqual(seen.deletes, []);
    assert.deepEqual([...informer.nodes.keys()].sort(), ["n1", "n2"], "the last state is kept");

    await server.start();
    await waitFor("the re-list", () => seen.syncs.length === 2);
    assert.deepEqual(seen.syncs[1]!.names, ["n1"]);
    assert.equal(seen.syncs[1]!.info.resourceVersion, server.resourceVersion);
    assert.deepEqual(seen.deletes, [], "no DELETED event was invented");
    assert.deepEqual([...informer.nodes.keys()], ["n1"]);
    assert.ok(informer.connected);
    assert.deepEqual(seen.connection, [true, false, true]);
  });
});

Deno.test("informer: after the server restarts with its history, the watch resumes without a re-list", async () => {
  await withInformer((server) => {
    server.createNode(flannelNode("n1", 1));
  }, async (server, { informer, seen }) => {
    await waitFor("the watch", () => server.activeWatches === 1);
    await server.stop();
    server.createNode(flannelNode("n2", 2));
    server.deleteNode("n1");
    await waitFor("the informer to notice", () => !informer.connected);
    await server.start();
    await waitFor("the missed events", () => seen.deletes.length === 1);
    assert.deepEqual(seen.upserts, ["n2"]);
    assert.deepEqual(seen.deletes, ["n1"]);
    assert.equal(lists(server).length, 1);
    assert.ok(informer.connected);
  });
});

Deno.test("informer: through a yurthub with the cloud away nothing is removed", async () => {
  await withInformer((server) => {
    server.createNode(flannelNode("self", 1));
    server.createNode(flannelNode("peer", 2));
  }, async (server, { informer, seen }) => {
    await waitFor("the watch", () => server.activeWatches === 1);
    server.setCloudDown(true);
    server.deleteNode("peer");
    await waitFor("the local watch", () => watches(server).some((request) => request.offline));
    assert.ok(informer.connected, "yurthub answers, so the informer is connected");
    assert.deepEqual(seen.deletes, []);
    assert.deepEqual([...informer.nodes.keys()].sort(), ["peer", "self"]);
    server.setCloudDown(false);
    await waitFor("the real deletion", () => seen.deletes.length === 1);
    assert.deepEqual(seen.deletes, ["peer"]);
    assert.equal(seen.syncs.length, 1);
  });
});

/**
 * An informer against a server that is down (one node waiting in it), with the given backoffs:
 * `fn` gets the server, the informer, the syncs and the "listing nodes failed" lines so far.
 */
async function withServerDown(
  backoffs: Pick<NodeInformerOptions, "backoff" | "unreachableBackoff">,
  fn: (
    server: TestApiServer,
    informer: NodeInformer,
    syncs: string[][],
    failures: () => string[],
  ) => Promise<void>,
): Promise<void> {
  const server = await TestApiServer.start();
  server.createNode(flannelNode("n1", 1));
  await server.stop();
  const logger = recordingLogger();
  const syncs: string[][] = [];
  const informer = new NodeInformer(clientFor(server.url), {
    onSync: (nodes) => syncs.push([...nodes.keys()]),
    onUpsert: () => {},
    onDelete: () => {},
  }, { logger, watchTimeoutSeconds: 30, ...backoffs });
  try {
    informer.start();
    await fn(
      server,
      informer,
      syncs,
      () => logger.lines.filter((line) => line.includes("listing nodes failed")),
    );
  } finally {
    await informer.stop();
    await server.stop();
  }
}

Deno.test("informer: a failing LIST is retried with backoff until it works", async () => {
  await withServerDown({
    backoff: { initialMs: 20, maxMs: 100 },
    unreachableBackoff: { initialMs: 20, maxMs: 100 },
  }, async (server, informer, syncs, failures) => {
    await waitFor("three failed attempts", () => failures().length >= 3);
    assert.match(failures()[0]!, /^WARN .*ECONNREFUSED|refused/i);
    assert.deepEqual(syncs, []);
    assert.ok(!informer.synced && !informer.connected);
    await server.start();
    await waitFor("the sync", () => syncs.length === 1);
    assert.deepEqual(syncs, [["n1"]]);
  });
});

Deno.test("informer: an API that does not answer is retried every few seconds at most, so it is back at once", async () => {
  // The backoff for servers that answer with errors is long; an unreachable one is not.
  await withServerDown({
    backoff: { initialMs: 60_000, maxMs: 60_000 },
    unreachableBackoff: { initialMs: 50, maxMs: 200 },
  }, async (server, _informer, syncs, failures) => {
    await waitFor("ten failed attempts", () => failures().length >= 10, 5000);
    await server.start();
    const back = Date.now();
    await waitFor("the sync", () => syncs.length === 1, 5000);
    assert.ok(Date.now() - back < 1000, `listed ${Date.now() - back} ms after the API returned`);
  });
});

Deno.test("informer: bookmarks are reported with their resourceVersion", async () => {
  const bookmarks: string[] = [];
  const server = await TestApiServer.start();
  server.createNode(flannelNode("n1", 1));
  const informer = new NodeInformer(clientFor(server.url), {
    onSync: () => {},
    onUpsert: () => {},
    onDelete: () => {},
    onBookmark: (resourceVersion) => bookmarks.push(resourceVersion),
  }, { logger: recordingLogger(), watchTimeoutSeconds: 30 });
  try {
    informer.start();
    await waitFor("the watch", () => server.activeWatches === 1);
    server.advanceResourceVersion(3);
    server.sendBookmarks();
    await waitFor("the bookmark", () => bookmarks.length === 1);
    assert.deepEqual(bookmarks, [server.resourceVersion]);
  } finally {
    await informer.stop();
    await server.stop();
  }
});

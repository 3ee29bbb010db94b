/**
 * The node publisher against the test API server: it patches only what differs, sets the
 * NetworkUnavailable condition, keeps retrying through 403s, outages and a yurthub that drops
 * writes, and puts the annotations back when the Node object loses them.
 */
import assert from "node:assert/strict";
import {
  type FlannelAnnotationKeys,
  flannelAnnotationKeys,
  flannelAnnotations,
} from "../../src/kube/annotations.ts";
import type { NodeApi } from "../../src/kube/api.ts";
import { NodeInformer } from "../../src/kube/node_informer.ts";
import { NodePublisher, type NodePublisherOptions } from "../../src/kube/publisher.ts";
import { TestApiServer } from "./apiserver.ts";
import { bareNode, flannelNode, PREFIX } from "./fixtures.ts";
import { clientFor, clientWithToken, recordingLogger, waitFor } from "./helpers.ts";

const keysResult = flannelAnnotationKeys();
assert.ok("ok" in keysResult);
const keys: FlannelAnnotationKeys = keysResult.ok;
const LEASE = { vni: 1, mac: "0a:00:00:00:00:07", publicIP: "192.168.0.7" };
const WANTED = flannelAnnotations(keys, LEASE);
const NOW = new Date("2026-03-04T05:06:07.890Z");

function publisherFor(
  api: NodeApi,
  options: Partial<NodePublisherOptions> = {},
): NodePublisher {
  return new NodePublisher({
    api,
    nodeName: "self",
    logger: recordingLogger(),
    annotations: (node) => flannelAnnotations(keys, LEASE, node.annotations),
    backoff: { initialMs: 20, maxMs: 100 },
    now: () => NOW,
    ...options,
  });
}

const patches = (server: TestApiServer) =>
  server.requests.filter((request) => request.method === "PATCH");

function conditionTypes(server: TestApiServer): string[] {
  return server.node("self")!.status.conditions.map((entry: { type: string }) => entry.type);
}

Deno.test("publisher: a node that already says everything gets no PATCH", async () => {
  const server = await TestApiServer.start();
  const publisher = publisherFor(clientFor(server.url), { networkAvailable: true });
  try {
    server.createNode(flannelNode("self", 7, {
      conditions: [{ type: "NetworkUnavailable", status: "False", reason: "RouteCreated" }],
    }));
    publisher.start();
    await waitFor("the check", () => publisher.status.inSync);
    assert.deepEqual(patches(server), []);
    assert.deepEqual(server.requests.map((request) => request.method), ["GET"]);
  } finally {
    await publisher.stop();
    await server.stop();
  }
});

Deno.test("publisher: only the annotations that differ are patched, on nodes/status, strategic", async () => {
  const server = await TestApiServer.start();
  const publisher = publisherFor(clientFor(server.url));
  try {
    server.createNode(flannelNode("self", 7, {
      mac: "0a:00:00:00:00:99",
      annotations: { [`${PREFIX}public-ip`]: undefined, "other/annotation": "kept" },
    }));
    publisher.start();
    await waitFor("the patch", () => publisher.status.inSync);
    const [patch] = patches(server);
    assert.equal(patches(server).length, 1);
    assert.equal(patch!.path, "/api/v1/nodes/self/status");
    assert.equal(patch!.contentType, "application/strategic-merge-patch+json");
    assert.deepEqual(patch!.body, {
      metadata: {
        annotations: {
          [keys.backendData]: '{"VNI":1,"VtepMAC":"0a:00:00:00:00:07"}',
          [keys.publicIP]: "192.168.0.7",
        },
      },
    });
    assert.deepEqual(server.node("self")!.metadata.annotations, {
      ...WANTED,
      "other/annotation": "kept",
    });
    assert.equal(publisher.status.patches, 1);
  } finally {
    await publisher.stop();
    await server.stop();
  }
});

Deno.test("publisher: NetworkUnavailable=False is set as flanneld sets it, next to kubelet's conditions", async () => {
  const server = await TestApiServer.start();
  const publisher = publisherFor(clientFor(server.url));
  try {
    server.createNode(flannelNode("self", 7));
    publisher.start();
    await waitFor("the first check", () => publisher.status.inSync);
    assert.deepEqual(conditionTypes(server), ["Ready"], "not before the network is up");
    publisher.setNetworkAvailable();
    await waitFor("the condition", () => conditionTypes(server).length === 2);
    assert.deepEqual(server.node("self")!.status.conditions[1], {
      type: "NetworkUnavailable",
      status: "False",
      reason: "FlannelIsUp",
      message: "Flannel is running on this node",
      lastHeartbeatTime: "2026-03-04T05:06:07Z",
      lastTransitionTime: "2026-03-04T05:06:07Z",
    });
    assert.equal(patches(server).length, 1);
    assert.equal(patches(server)[0]!.contentType, "application/strategic-merge-patch+json");
  } finally {
    await publisher.stop();
    await server.stop();
  }
});

Deno.test("publisher: retries with backoff while RBAC forbids the patch, until it is allowed", async () => {
  const server = await TestApiServer.start({
    accounts: { t: { user: "flannel", rules: [{ verbs: ["get"], resources: ["nodes"] }] } },
  });
  const publisher = publisherFor(clientWithToken(server.url, "t"));
  try {
    server.createNode(bareNode("self", "10.244.7.0/24"));
    publisher.start();
    await waitFor("a few denied attempts", () => patches(server).length >= 3);
    assert.ok(patches(server).every((request) => request.status === 403));
    assert.match(publisher.status.lastError!, /forbidden.*nodes\/status/);
    assert.equal(publisher.status.inSync, false);
    server.setAccount("t", {
      user: "flannel",
      rules: [{ verbs: ["get"], resources: ["nodes"] }, {
        verbs: ["patch"],
        resources: ["nodes/status"],
      }],
    });
    await waitFor("success", () => publisher.status.inSync);
    assert.deepEqual(server.node("self")!.metadata.annotations, WANTED);
    assert.equal(publisher.status.lastError, undefined);
  } finally {
    await publisher.stop();
    await server.stop();
  }
});

Deno.test("publisher: retries while the API is unreachable, and publishes once it is back", async () => {
  const server = await TestApiServer.start();
  server.createNode(bareNode("self", "10.244.7.0/24"));
  await server.stop();
  const logger = recordingLogger();
  const publisher = publisherFor(clientFor(server.url), { logger, networkAvailable: true });
  try {
    publisher.start();
    await waitFor(
      "failed attempts",
      () => logger.lines.filter((line) => line.includes("will retry")).length >= 3,
    );
    await server.start();
    await waitFor("success", () => publisher.status.inSync);
    assert.deepEqual(server.node("self")!.metadata.annotations, WANTED);
    assert.deepEqual(conditionTypes(server), ["Ready", "NetworkUnavailable"]);
  } finally {
    await publisher.stop();
    await server.stop();
  }
});

Deno.test("publisher: re-asserts the annotations when the Node object is re-created", async () => {
  const server = await TestApiServer.start();
  const api = clientFor(server.url);
  const publisher = publisherFor(api);
  const informer = new NodeInformer(api, {
    onSync: (nodes) => {
      const self = nodes.get("self");
      if (self) publisher.observe(self);
    },
    onUpsert: (node) => publisher.observe(node),
    onDelete: () => {},
  }, { logger: recordingLogger(), backoff: { initialMs: 20, maxMs: 100 } });
  try {
    server.createNode(flannelNode("self", 7));
    informer.start();
    publisher.start();
    await waitFor("the first check", () => publisher.status.inSync && informer.synced);
    assert.equal(patches(server).length, 0);

    // kubelet re-registers the node: a new object without flannel's annotations.
    server.deleteNode("self");
    server.createNode(bareNode("self", "10.244.7.0/24"));
    await waitFor(
      "the annotations to be back",
      () => server.node("self")!.metadata.annotations?.[keys.backendData] !== undefined,
    );
    assert.deepEqual(server.node("self")!.metadata.annotations, WANTED);

    // Someone else changes one of them.
    server.updateNode("self", (node) => {
      node.metadata.annotations[keys.publicIP] = "10.9.9.9";
    });
    await waitFor(
      "the public IP to be put back",
      () => server.node("self")!.metadata.annotations[keys.publicIP] === "192.168.0.7",
    );
  } finally {
    await informer.stop();
    await publisher.stop();
    await server.stop();
  }
});

Deno.test("publisher: a yurthub that accepts and drops the PATCH is retried until the cloud applies it", async () => {
  const server = await TestApiServer.start();
  const logger = recordingLogger();
  const publisher = publisherFor(clientFor(server.url), { logger });
  try {
    server.createNode(bareNode("self", "10.244.7.0/24"));
    server.setCloudDown(true);
    publisher.start();
    await waitFor("dropped patches", () => patches(server).length >= 2);
    assert.ok(patches(server).every((request) => request.status === 200 && request.offline));
    assert.ok(
      logger.lines.some((line) => line.includes("accepted the node patch but did not apply")),
    );
    assert.equal(publisher.status.inSync, false);
    assert.equal(server.node("self")!.metadata.annotations, undefined, "nothing reached the cloud");
    server.setCloudDown(false);
    await waitFor("success", () => publisher.status.inSync);
    assert.deepEqual(server.node("self")!.metadata.annotations, WANTED);
  } finally {
    await publisher.stop();
    await server.stop();
  }
});

Deno.test("publisher: stop() returns at once, even in the middle of a long backoff", async () => {
  const server = await TestApiServer.start();
  await server.stop();
  const publisher = publisherFor(clientFor(server.url), {
    backoff: { initialMs: 60_000, maxMs: 60_000 },
  });
  publisher.start();
  await waitFor("the first failure", () => publisher.status.lastError !== undefined);
  const started = Date.now();
  await publisher.stop();
  assert.ok(Date.now() - started < 500);
});

Deno.test("publisher: retryNow() ends a long backoff at once (the API is back after an outage)", async () => {
  const server = await TestApiServer.start();
  server.createNode(bareNode("self"));
  await server.stop();
  const publisher = publisherFor(clientFor(server.url, { requestTimeoutMs: 500 }), {
    backoff: { initialMs: 60_000, maxMs: 60_000 },
  });
  try {
    publisher.start();
    await waitFor("the first failure", () => publisher.status.lastError !== undefined);
    await server.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(patches(server).length, 0, "still in its 60 s backoff");
    publisher.retryNow();
    await waitFor("the node patched", () => publisher.status.inSync, 2000);
    assert.equal(
      server.node("self")!.metadata.annotations[keys.backendData],
      WANTED[keys.backendData],
    );
  } finally {
    await publisher.stop();
    await server.stop();
  }
});

/**
 * The node informer on a link that dies silently (packets vanish, nothing is refused, the open
 * watch just goes quiet), against the in-memory API: the probe notices, the watch is dropped,
 * and it resumes from where it was as soon as the API answers again.
 */
import assert from "node:assert/strict";
import { ApiError } from "../../src/kube/api.ts";
import { NodeInformer, type NodeInformerOptions } from "../../src/kube/node_informer.ts";
import { FakeNodeApi } from "../helpers/fake_node_api.ts";
import { flannelNode } from "./fixtures.ts";
import { recordingLogger, waitFor } from "./helpers.ts";

interface Seen {
  syncs: number;
  upserts: string[];
  connection: boolean[];
}

async function withProbedInformer(
  api: FakeNodeApi,
  options: Partial<NodeInformerOptions>,
  fn: (seen: Seen, logger: ReturnType<typeof recordingLogger>) => Promise<void>,
): Promise<void> {
  const seen: Seen = { syncs: 0, upserts: [], connection: [] };
  const logger = recordingLogger();
  const informer = new NodeInformer(api, {
    onSync: () => seen.syncs++,
    onUpsert: (node) => seen.upserts.push(node.name),
    onDelete: () => {},
    onConnectionChange: (connected) => seen.connection.push(connected),
  }, {
    logger,
    probe: (signal) => api.getNode("n1", signal),
    probeAfterMs: 100,
    probeTimeoutMs: 100,
    unreachableBackoff: { initialMs: 20, maxMs: 50 },
    watchTimeoutSeconds: 300,
    ...options,
  });
  informer.start();
  try {
    await fn(seen, logger);
  } finally {
    await informer.stop();
  }
}

const count = (api: FakeNodeApi, request: string) =>
  api.requests.filter((sent) => sent === request).length;

Deno.test("informer: a silently dead link is noticed by the probe; the watch resumes from where it was once the API answers", async () => {
  const api = new FakeNodeApi();
  api.put(flannelNode("n1", 1));
  await withProbedInformer(api, {}, async (seen, logger) => {
    await waitFor("the watch", () => api.activeWatches === 1);
    const resumeFrom = api.resourceVersion;

    api.reads = { kind: "silent" };
    await waitFor("the loss noticed", () => seen.connection.includes(false), 2000);
    assert.equal(api.activeWatches, 0, "the quiet watch on the dead link was dropped");
    assert.ok(logger.lines.some((line) => /WARN the API stopped answering/.test(line)));
    // A node joins while the link is down; the old watch would never have delivered it.
    api.put(flannelNode("n2", 2));
    const requestsWhileDown = api.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sentWhileDown = api.requests.slice(requestsWhileDown);
    assert.ok(sentWhileDown.length > 0, "the API is still probed while it is down");
    assert.ok(
      sentWhileDown.every((sent) => sent === "get n1"),
      "nothing but probes on a dead link",
    );

    api.reads = { kind: "live" };
    const back = Date.now();
    await waitFor("the joined node", () => seen.upserts.includes("n2"), 2000);
    assert.ok(Date.now() - back < 500, `n2 arrived ${Date.now() - back} ms after the API returned`);
    assert.equal(seen.syncs, 1, "resumed without a new LIST");
    assert.equal(count(api, `watch ${resumeFrom}`), 2, "the watch resumed from its version");
    assert.deepEqual(seen.connection, [true, false, true]);
  });
});

Deno.test("informer: a quiet watch on a working link is probed but never dropped, and any answer counts", async () => {
  const api = new FakeNodeApi();
  api.put(flannelNode("n1", 1));
  const refused = new ApiError(403, "Forbidden", 'nodes "n1" is forbidden');
  let probes = 0;
  await withProbedInformer(api, {
    probe: () => {
      probes++;
      return probes % 2 ? Promise.reject(refused) : Promise.resolve();
    },
    probeAfterMs: 50,
  }, async (seen) => {
    await waitFor("the watch", () => api.activeWatches === 1);
    await waitFor("several probes", () => probes >= 4, 2000);
    assert.equal(count(api, "list"), 1);
    assert.equal(api.requests.filter((sent) => sent.startsWith("watch")).length, 1);
    assert.deepEqual(seen.connection, [true]);
    // Events keep a busy watch from being probed at all.
    const before = probes;
    for (let i = 0; i < 10; i++) {
      api.merge("n1", { metadata: { labels: { tick: String(i) } } });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(probes - before <= 1, `${probes - before} probes while events flowed`);
  });
});

/**
 * What the daemon's Kubernetes side holds in memory, run on its own so its RSS can be measured:
 * the client-node based client, a node informer (LIST, then WATCH) and the peer table built
 * from it. Prints one JSON line with the memory use once it has seen `expectedEvents` watch
 * events after the initial sync, then waits for stdin to close.
 *
 *   deno run --allow-net --allow-env --allow-read probe.js <api-url> <nodes> <expected-events>
 *
 * PROBE_PAGE_SIZE overrides the client's page size. PROBE_TRANSPORT ("deno" or "client-node")
 * reaches the server through a kubeconfig, with that transport, instead of as a bare URL.
 *
 * @module
 */
import { flannelAnnotationKeys } from "../../../src/kube/annotations.ts";
import { createNodeApi } from "../../../src/kube/client.ts";
import { type ApiEndpoint, bareUrlEndpoint } from "../../../src/kube/endpoint.ts";
import { NodeInformer } from "../../../src/kube/node_informer.ts";
import { nodeToPeer, type Peer } from "../../../src/kube/peer.ts";
import { createLogger } from "../../../src/log/log.ts";
import type { NodeView } from "../../../src/kube/node.ts";
import type { TransportChoice } from "../../../src/kube/transport.ts";

const [url, nodesText, eventsText] = Deno.args;
const expectedNodes = Number(nodesText);
const expectedEvents = Number(eventsText);
const keys = flannelAnnotationKeys();
if (!url || "error" in keys) throw new Error("usage: probe.ts <api-url> <nodes> <events>");

async function probeEndpoint(url: string): Promise<ApiEndpoint> {
  const transport = Deno.env.get("PROBE_TRANSPORT") as TransportChoice | undefined;
  if (!transport) return bareUrlEndpoint(url);
  const { KubeConfig, kubeConfigEndpoint } = await import("../../../src/kube/kubeconfig.ts");
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: "probe", server: url, skipTLSVerify: true }],
    users: [{ name: "probe" }],
    contexts: [{ name: "probe", cluster: "probe", user: "probe" }],
    currentContext: "probe",
  });
  return kubeConfigEndpoint(config, transport);
}

const peers = new Map<string, Peer>();
let events = 0;
const update = (node: NodeView) => {
  const decision = nodeToPeer(node, keys.ok, "self");
  if ("ok" in decision) peers.set(node.name, decision.ok);
  else peers.delete(node.name);
};
const informer = new NodeInformer(
  createNodeApi(await probeEndpoint(url), {
    userAgent: "flanneld/probe",
    pageSize: Deno.env.get("PROBE_PAGE_SIZE") ? Number(Deno.env.get("PROBE_PAGE_SIZE")) : undefined,
  }),
  {
    onSync: (nodes) => nodes.forEach(update),
    onUpsert: (node) => {
      events += 1;
      update(node);
    },
    onDelete: (node) => {
      events += 1;
      peers.delete(node.name);
    },
  },
  {
    logger: createLogger({ level: (Deno.env.get("PROBE_LOG") ?? "warn") as "warn" }),
    watchTimeoutSeconds: 300,
  },
);
const started = performance.now();
informer.start();
const deadline = Date.now() + 60_000;
while (peers.size < expectedNodes - 1 || events < expectedEvents) {
  if (Date.now() > deadline) {
    throw new Error(`only ${peers.size} peers and ${events} events after 60 s`);
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const syncedMs = Math.round(performance.now() - started);
const gc = (globalThis as { gc?: () => void }).gc;
for (let i = 0; i < 5; i++) {
  gc?.();
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const memory = Deno.memoryUsage();
console.log(
  JSON.stringify({ peers: peers.size, events, syncedMs, gc: gc !== undefined, ...memory }),
);
// Stay up (watch open) until the runner is done with us.
for await (const _ of Deno.stdin.readable) { /* until EOF */ }
await informer.stop();

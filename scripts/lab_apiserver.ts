/**
 * The Kubernetes-API test server (tests/kube/apiserver.ts) as a process of its own, so it can
 * run inside the lab's LAN namespace where the nodes reach it, while the test or demo that owns
 * the lab (in the host's namespace) drives "the cloud" over a Unix socket:
 *
 *   ip netns exec <lan> deno run -A scripts/lab_apiserver.ts \
 *     --hostname 192.168.50.254 --port 6443 --control /tmp/lab/api.sock
 *
 * Control requests are `POST /control` with a JSON body `{ "op": ..., ...arguments }`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  type CacheSnapshot,
  type NodeObject,
  TestApiServer,
  type YurthubSetting,
} from "../tests/kube/apiserver.ts";
import { applyMergePatch, type Json } from "../tests/kube/apiserver/patch.ts";

export type ControlRequest =
  | { op: "createNode"; node: NodeObject }
  | { op: "createNodes"; nodes: NodeObject[] }
  /** A change made by "the cloud" (another controller), applied as a JSON merge patch. */
  | { op: "mergeNode"; name: string; patch: Json }
  | { op: "deleteNode"; name: string }
  /** A Pod (the daemon's own, for the POD_NAME/POD_NAMESPACE node-name lookup). */
  | { op: "createPod"; pod: NodeObject }
  | { op: "node"; name: string }
  | { op: "setCloudDown"; down: boolean }
  /** The cloud now (nodes and resourceVersion), to hand back to `serveSnapshot` later. */
  | { op: "snapshot" }
  /** Cloud down, reads answered from `snapshot` without the nodes named in `omit`. */
  | { op: "serveSnapshot"; snapshot: CacheSnapshot; omit?: string[] }
  /** online, cached, snapshot (with snapshot and omit) or uncached; see TestApiServer. */
  | { op: "setYurthubMode"; setting: YurthubSetting }
  /** The current yurthub mode's name. */
  | { op: "yurthubMode" }
  | { op: "compact" }
  | { op: "closeWatches" }
  | { op: "requests" }
  | { op: "clearRequests" };

function control(server: TestApiServer, request: ControlRequest): unknown {
  switch (request.op) {
    case "createNode":
      return server.createNode(request.node);
    case "createNodes":
      for (const node of request.nodes) server.createNode(node);
      return null;
    case "mergeNode":
      return server.updateNode(
        request.name,
        (node) => applyMergePatch(node, request.patch) as NodeObject,
      );
    case "deleteNode":
      server.deleteNode(request.name);
      return null;
    case "createPod":
      return server.createPod(request.pod);
    case "node":
      return server.node(request.name) ?? null;
    case "setCloudDown":
      server.setCloudDown(request.down);
      return null;
    case "snapshot":
      return server.snapshot();
    case "serveSnapshot":
      server.serveSnapshot(request.snapshot, request.omit);
      return null;
    case "setYurthubMode":
      server.setYurthubMode(request.setting);
      return null;
    case "yurthubMode":
      return server.yurthubMode;
    case "compact":
      server.compact();
      return null;
    case "closeWatches":
      server.closeWatches();
      return null;
    case "requests":
      return server.requests;
    case "clearRequests":
      server.clearRequests();
      return null;
    default:
      throw new Error(`unknown op ${JSON.stringify((request as { op?: unknown }).op)}`);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      hostname: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "6443" },
      control: { type: "string" },
    },
  });
  if (!values.control) throw new Error("--control <unix socket path> is required");
  const server = await TestApiServer.start({
    hostname: values.hostname,
    port: Number(values.port),
    bookmarkIntervalMs: 5_000,
  });
  await Deno.remove(values.control).catch(() => {});
  const controlServer = Deno.serve({ path: values.control, onListen: () => {} }, async (req) => {
    try {
      const result = control(server, await req.json() as ControlRequest);
      return Response.json({ ok: true, result });
    } catch (error) {
      return Response.json({ ok: false, error: String(error) }, { status: 400 });
    }
  });
  console.log(JSON.stringify({ url: server.url }));
  const stop = async () => {
    await controlServer.shutdown();
    await server.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
}

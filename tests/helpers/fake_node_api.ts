/**
 * An in-memory `NodeApi` for unit tests of the daemon: a cluster of Node objects (and the
 * node names of pods, for the POD_NAME lookup) in the wire
 * format with a global resourceVersion, live watches, and switches for what an edge node meets
 * behind a yurthub — lists from a stale snapshot, 404s for what was never cached, lists that
 * fail, watches that break, and PATCHes answered but dropped. The HTTP behaviour itself is
 * tested against the Kubernetes-API test server (tests/kube/apiserver.ts).
 *
 * @module
 */
import {
  ApiError,
  ApiUnreachableError,
  type NodeApi,
  type NodeList,
  type PatchKind,
  type WatchEnd,
  type WatchEvent,
  type WatchRequest,
} from "../../src/kube/api.ts";
import { type NodeView, parseNode } from "../../src/kube/node.ts";
import {
  applyMergePatch,
  applyStrategicMergePatch,
  cloneJson,
  type Json,
} from "../kube/apiserver/patch.ts";
import type { NodeObject } from "../kube/apiserver.ts";

/** How list and get requests are answered. */
export type ReadMode =
  /** From the cluster as it is. */
  | { kind: "live" }
  /** From a snapshot taken earlier (a cache that stopped updating). */
  | { kind: "stale"; snapshot: Snapshot }
  /** 404 NotFound for everything (a cache that never saw these objects). */
  | { kind: "not-cached" }
  /** No answer at all (the API is unreachable: connections are refused). */
  | { kind: "unreachable" }
  /**
   * A link that died silently: requests hang until their caller gives up, and open watches stay
   * open and deliver nothing.
   */
  | { kind: "silent" };

export interface Snapshot {
  resourceVersion: string;
  nodes: NodeObject[];
}

interface Watcher {
  request: WatchRequest;
  end: (how: WatchEnd) => void;
}

function view(node: NodeObject): NodeView {
  const parsed = parseNode(node);
  if ("error" in parsed) throw new Error(parsed.error);
  return parsed.ok;
}

export class FakeNodeApi implements NodeApi {
  readonly #nodes = new Map<string, NodeObject>();
  #resourceVersion = 100;
  #watchers = new Set<Watcher>();
  /** Every event, so that a watch from a resourceVersion gets what happened since. */
  readonly #history: { resourceVersion: number; event: WatchEvent }[] = [];
  /** Watches from a version below this get 410 Expired: the events after it were compacted away. */
  #compactedThrough = 0;
  /** How reads are answered. */
  reads: ReadMode = { kind: "live" };
  /** PATCHes are answered with the node as it was and not applied (yurthub offline). */
  dropPatches = false;
  /** Every request, e.g. `list`, `get edge-1`, `watch 105`, `patch edge-1`, `get pod ns/p`. */
  readonly requests: string[] = [];
  /** `spec.nodeName` of each pod by `<namespace>/<name>` ("" for a pod not bound yet). */
  readonly #podNodes = new Map<string, string>();

  get resourceVersion(): string {
    return String(this.#resourceVersion);
  }

  get activeWatches(): number {
    return this.#watchers.size;
  }

  /** The node as the cluster has it. */
  node(name: string): NodeObject | undefined {
    const node = this.#nodes.get(name);
    return node ? cloneJson(node) : undefined;
  }

  /** The cluster as it is now, for serving later as a stale cache. */
  snapshot(options: { omit?: string[] } = {}): Snapshot {
    return {
      resourceVersion: this.resourceVersion,
      nodes: [...this.#nodes.values()].filter((node) => !options.omit?.includes(node.metadata.name))
        .map((node) => cloneJson(node)),
    };
  }

  /** Creates or replaces a node; live watches see ADDED or MODIFIED. */
  put(object: NodeObject): NodeObject {
    const node = cloneJson(object);
    const name: string = node.metadata.name;
    const type = this.#nodes.has(name) ? "MODIFIED" : "ADDED";
    node.metadata.resourceVersion = String(++this.#resourceVersion);
    this.#nodes.set(name, node);
    this.#emit({ type, node: view(node) });
    return cloneJson(node);
  }

  /** Changes a node with a JSON merge patch, as another controller would. */
  merge(name: string, patch: Json): NodeObject {
    return this.put(applyMergePatch(cloneJson(this.#nodes.get(name)!), patch) as NodeObject);
  }

  delete(name: string): void {
    const node = this.#nodes.get(name);
    if (!node) throw new Error(`no node ${name}`);
    this.#nodes.delete(name);
    node.metadata.resourceVersion = String(++this.#resourceVersion);
    this.#emit({ type: "DELETED", node: view(node) });
  }

  /** Creates or replaces a pod bound to `nodeName` ("" for not bound yet). */
  putPod(namespace: string, name: string, nodeName: string): void {
    this.#podNodes.set(`${namespace}/${name}`, nodeName);
  }

  deletePod(namespace: string, name: string): void {
    if (!this.#podNodes.delete(`${namespace}/${name}`)) {
      throw new Error(`no pod ${namespace}/${name}`);
    }
  }

  /** Ends every watch, as a broken connection or a restarting server does. */
  breakWatches(): void {
    for (const watcher of [...this.#watchers]) watcher.end("closed");
  }

  /** Ends every watch with 410 Expired, so the client lists again. */
  expireWatches(): void {
    for (const watcher of [...this.#watchers]) {
      watcher.request.onEvent({
        type: "ERROR",
        error: new ApiError(410, "Expired", "too old resource version"),
      });
      watcher.end("closed");
    }
  }

  /** Forgets the event history, as etcd's compaction does: older watches must list again. */
  compact(): void {
    this.#history.length = 0;
    this.#compactedThrough = this.#resourceVersion;
  }

  #emit(event: WatchEvent & { type: "ADDED" | "MODIFIED" | "DELETED" }): void {
    this.#history.push({ resourceVersion: this.#resourceVersion, event });
    if (this.reads.kind !== "live") return;
    for (const watcher of this.#watchers) watcher.request.onEvent(event);
  }

  #read(): { nodes: NodeObject[]; resourceVersion: string } {
    switch (this.reads.kind) {
      case "live":
        return { nodes: [...this.#nodes.values()], resourceVersion: this.resourceVersion };
      case "stale":
        return this.reads.snapshot;
      case "not-cached":
        throw new ApiError(404, "NotFound", "the server could not find the requested resource");
      case "unreachable":
        throw new ApiUnreachableError("connect ECONNREFUSED");
      case "silent":
        throw new Error("silent reads hang; see #hang");
    }
  }

  /** A request on a dead link: no answer until the caller aborts it. */
  #hang<T>(signal: AbortSignal | undefined): Promise<T> {
    return new Promise((_resolve, reject) => {
      const timedOut = () => reject(new ApiUnreachableError("no answer (the link is dead)"));
      if (signal?.aborted) timedOut();
      else signal?.addEventListener("abort", timedOut, { once: true });
    });
  }

  getNode(name: string, signal?: AbortSignal): Promise<NodeView> {
    this.requests.push(`get ${name}`);
    if (this.reads.kind === "silent") return this.#hang(signal);
    try {
      const node = this.#read().nodes.find((candidate) => candidate.metadata.name === name);
      if (!node) throw new ApiError(404, "NotFound", `nodes "${name}" not found`);
      return Promise.resolve(view(cloneJson(node)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  listNodes(signal?: AbortSignal): Promise<NodeList> {
    this.requests.push("list");
    if (this.reads.kind === "silent") return this.#hang(signal);
    try {
      const { nodes, resourceVersion } = this.#read();
      return Promise.resolve({
        nodes: nodes.map((node) => view(cloneJson(node))),
        resourceVersion,
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  watchNodes(request: WatchRequest): Promise<WatchEnd> {
    this.requests.push(`watch ${request.resourceVersion}`);
    if (this.reads.kind === "unreachable") {
      return Promise.reject(new ApiUnreachableError("connect ECONNREFUSED"));
    }
    if (this.reads.kind === "not-cached") {
      return Promise.reject(new ApiError(404, "NotFound", "not cached"));
    }
    if (this.reads.kind === "silent") {
      return this.#hang<WatchEnd>(request.signal).catch(() => "aborted");
    }
    return new Promise((resolve) => {
      const watcher: Watcher = {
        request,
        end: (how) => {
          this.#watchers.delete(watcher);
          request.signal?.removeEventListener("abort", onAbort);
          resolve(how);
        },
      };
      const onAbort = () => watcher.end("aborted");
      request.signal?.addEventListener("abort", onAbort, { once: true });
      this.#watchers.add(watcher);
      request.onOpen?.();
      // As the API server does: what happened after the version asked for, then live events.
      const from = Number(request.resourceVersion);
      if (request.resourceVersion && from > 0 && from < this.#compactedThrough) {
        request.onEvent({
          type: "ERROR",
          error: new ApiError(410, "Expired", `too old resource version: ${from}`),
        });
        watcher.end("closed");
      } else if (request.resourceVersion && from > 0) {
        for (const past of this.#history) {
          if (past.resourceVersion > from) request.onEvent(past.event);
        }
      }
    });
  }

  /**
   * Pods are read live in "live" and "stale" modes (a cache holds a pod as long as it exists);
   * "not-cached" answers 404 and "unreachable" no answer, as for nodes.
   */
  getPodNodeName(namespace: string, name: string, signal?: AbortSignal): Promise<string> {
    this.requests.push(`get pod ${namespace}/${name}`);
    if (this.reads.kind === "silent") return this.#hang(signal);
    if (this.reads.kind === "unreachable") {
      return Promise.reject(new ApiUnreachableError("connect ECONNREFUSED"));
    }
    const nodeName = this.reads.kind === "not-cached"
      ? undefined
      : this.#podNodes.get(`${namespace}/${name}`);
    if (nodeName === undefined) {
      return Promise.reject(new ApiError(404, "NotFound", `pods "${name}" not found`));
    }
    return Promise.resolve(nodeName);
  }

  patchNodeStatus(
    name: string,
    patch: object,
    kind: PatchKind,
    signal?: AbortSignal,
  ): Promise<NodeView> {
    this.requests.push(`patch ${name}`);
    if (this.reads.kind === "silent") return this.#hang(signal);
    try {
      const current = this.#read().nodes.find((candidate) => candidate.metadata.name === name);
      if (!current) throw new ApiError(404, "NotFound", `nodes "${name}" not found`);
      if (this.dropPatches || this.reads.kind !== "live") {
        return Promise.resolve(view(cloneJson(current)));
      }
      const apply = kind === "merge" ? applyMergePatch : applyStrategicMergePatch;
      const patched = apply(cloneJson(current), patch as Json) as NodeObject;
      return Promise.resolve(view(this.put(patched)));
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

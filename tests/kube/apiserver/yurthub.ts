/**
 * What yurthub answers for Nodes while the cloud is unhealthy, for the test API server. The facts
 * come from openyurt (read at commit fbefb6ba, 2026-08):
 *
 * - `pkg/yurthub/proxy/local/local.go`, `LocalProxy.ServeHTTP`: watch goes to `localWatch`;
 *   get, list, patch and update go to `localReqCache`.
 * - `localReqCache`: a component that may not be cached (`CacheManager.CanCacheFor`) gets
 *   400 `can not cache for <user agent> <verb> <resource>: <url>`; otherwise the object from
 *   `CacheManager.QueryCache`, 200. A storage miss (`storage.ErrStorageNotFound`) becomes
 *   `apierrors.NewNotFound(resource, name)`: 404, for LIST with the empty name.
 * - `pkg/yurthub/cachemanager/cache_manager.go`, `QueryCache`: get, patch and update all read the
 *   one cached object (`queryOneObject`); a PATCH is never applied and its body never read.
 * - `queryListObject`: nothing ever cached for the resource (no directory in the disk storage,
 *   `pkg/yurthub/storage/disk/storage.go` `List`) is `ErrStorageNotFound`, hence 404; a list that
 *   was cached empty (`ReplaceComponentList` keeps the directory) answers an empty list object.
 *   `limit`/`continue` are not honoured: the whole cache comes back in one page.
 * - `completeListObjWithObjs`: the list's `metadata.resourceVersion` is the highest
 *   resourceVersion among the cached items, not the cloud's version when the cache was written.
 *   With no items it is never called: the list has no resourceVersion and its Go `Items` slice
 *   is nil, which encoding/json writes as `"items": null`.
 * - `localWatch`: 200 and no events, ever. It ends after `timeoutSeconds`, or, when that is
 *   absent or 0, after `--min-request-timeout` (default 1800 s, cmd/yurthub/app/options) times a
 *   random factor in [1, 2); and when the cloud is healthy again (polled every 2 s). It does not
 *   ask `CanCacheFor`: every component gets its silent watch.
 *
 * Yurthub keeps one cache per component (the User-Agent before its first `/`); this model keeps
 * one cache shared by the cache agents.
 *
 * @module
 */
import type { NodeObject } from "../apiserver.ts";
import { cloneJson, isObject } from "./patch.ts";
import { failure, notFound, type StatusObject } from "./status.ts";

/** "The cloud" at one moment: its nodes and its global resourceVersion then. */
export interface CacheSnapshot {
  resourceVersion: string;
  nodes: NodeObject[];
  /** Pods yurthub cached (a flanneld-style agent's GET of its own pod); absent: none ever. */
  pods?: NodeObject[];
}

/**
 * Where reads go. `online`: to the cloud. The others have the cloud down and answer as yurthub:
 * `cached` from a snapshot taken as the cloud went down; `snapshot` from an older snapshot a test
 * took, less the `omit`ted nodes (they joined after the cache was written); `uncached` from a
 * cache that holds nothing for nodes at all.
 */
export type YurthubSetting =
  | { mode: "online" }
  | { mode: "cached" }
  | { mode: "snapshot"; snapshot: CacheSnapshot; omit?: string[] }
  | { mode: "uncached" };

export type YurthubMode = YurthubSetting["mode"];

/** An answer from the cache: an HTTP status and its JSON body. */
export interface CacheAnswer {
  status: number;
  body: unknown;
}

/** Yurthub's component name: the User-Agent up to its first `/`, lower-case. */
export function agentComponent(userAgent: string | null): string {
  return (userAgent ?? "").split("/")[0]!.trim().toLowerCase();
}

/** The 400 a component that yurthub does not cache for gets (local.go, `localReqCache`). */
export function cannotCache(
  userAgent: string | null,
  verb: string,
  url: string,
  resource = "nodes",
): StatusObject {
  const component = (userAgent ?? "").toLowerCase();
  return failure(400, "BadRequest", `can not cache for ${component} ${verb} ${resource}: ${url}`);
}

/** Checks a snapshot that came from outside (a lab control request) and copies it. */
export function checkedSnapshot(value: unknown): CacheSnapshot {
  if (!isObject(value)) throw new Error("a snapshot is an object { resourceVersion, nodes }");
  const { resourceVersion, nodes } = value;
  if (typeof resourceVersion !== "string" || !/^[0-9]+$/.test(resourceVersion)) {
    throw new Error(`snapshot.resourceVersion must be a decimal string, not ${resourceVersion}`);
  }
  if (!Array.isArray(nodes)) throw new Error("snapshot.nodes must be a list of nodes");
  for (const node of nodes) {
    const name = isObject(node) && isObject(node.metadata) ? node.metadata.name : undefined;
    if (typeof name !== "string" || name === "") {
      throw new Error("every node of a snapshot needs metadata.name");
    }
  }
  const pods = value.pods;
  if (pods === undefined) return cloneJson({ resourceVersion, nodes }) as unknown as CacheSnapshot;
  if (!Array.isArray(pods)) throw new Error("snapshot.pods must be a list of pods");
  for (const pod of pods) {
    const metadata = isObject(pod) && isObject(pod.metadata) ? pod.metadata : {};
    if (typeof metadata.name !== "string" || typeof metadata.namespace !== "string") {
      throw new Error("every pod of a snapshot needs metadata.name and metadata.namespace");
    }
  }
  return cloneJson({ resourceVersion, nodes, pods }) as unknown as CacheSnapshot;
}

/** Checks a list of node names that came from outside (`omit`). */
export function checkedNames(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((name) => typeof name === "string")) {
    throw new Error(`omit must be a list of node names, not ${JSON.stringify(value)}`);
  }
  return value;
}

function nodeName(node: NodeObject): string {
  return node.metadata.name as string;
}

/** What yurthub's cache holds for nodes; `undefined` nodes: never cached at all. */
export class NodeCache {
  #nodes: Map<string, NodeObject> | undefined;

  private constructor(nodes: Map<string, NodeObject> | undefined) {
    this.#nodes = nodes;
  }

  /** A cache written from `snapshot`, without the nodes named in `omit` (each must be in it). */
  static of(snapshot: CacheSnapshot, omit: string[] = []): NodeCache {
    const nodes = new Map(snapshot.nodes.map((node) => [nodeName(node), cloneJson(node)]));
    for (const name of omit) {
      if (!nodes.delete(name)) throw new Error(`the snapshot has no node ${name} to omit`);
    }
    return new NodeCache(nodes);
  }

  /** A cache that never held nodes: every read is a storage miss. */
  static nothing(): NodeCache {
    return new NodeCache(undefined);
  }

  /** GET, and PATCH (answered with the cached object, the patch dropped). */
  get(name: string): CacheAnswer {
    const node = this.#nodes?.get(name);
    return node ? { status: 200, body: cloneJson(node) } : status(notFound(name));
  }

  list(): CacheAnswer {
    if (!this.#nodes) return status(notFound(""));
    const items = [...this.#nodes.values()]
      .sort((a, b) => nodeName(a) < nodeName(b) ? -1 : nodeName(a) > nodeName(b) ? 1 : 0)
      .map((node) => cloneJson(node));
    if (items.length === 0) {
      return {
        status: 200,
        body: { kind: "NodeList", apiVersion: "v1", metadata: {}, items: null },
      };
    }
    const newest = Math.max(...items.map((node) => Number(node.metadata.resourceVersion) || 0));
    return {
      status: 200,
      body: {
        kind: "NodeList",
        apiVersion: "v1",
        metadata: { resourceVersion: String(newest) },
        items,
      },
    };
  }
}

function status(object: StatusObject): CacheAnswer {
  return { status: object.code, body: object };
}

/**
 * How long a local watch stays open: `timeoutSeconds` when the client gave a positive one, else
 * the minimum request timeout times a random factor in [1, 2) (local.go, `localWatch`).
 */
export function localWatchSeconds(
  timeoutSeconds: number | undefined,
  minRequestTimeoutSeconds: number,
  random: () => number = Math.random,
): number {
  if (timeoutSeconds !== undefined && timeoutSeconds > 0) return timeoutSeconds;
  return minRequestTimeoutSeconds * (1 + random());
}

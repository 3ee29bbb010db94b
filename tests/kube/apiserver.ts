/**
 * A Kubernetes API server for tests: real HTTP (on 127.0.0.1 unless told otherwise), the Node
 * resource and a minimal Pod one, faithful to the API semantics keepnet relies on.
 *
 * - `GET /api/v1/nodes/{name}` (and `/status`), `GET /api/v1/nodes` (NodeList with
 *   `metadata.resourceVersion`; `limit`/`continue` paging over a consistent snapshot).
 * - WATCH (`?watch=true`): newline-delimited JSON events ADDED, MODIFIED, DELETED; BOOKMARK
 *   events when `allowWatchBookmarks=true`; `timeoutSeconds`; events after the requested
 *   `resourceVersion` replayed from a bounded history, and an ERROR event with a 410 `Expired`
 *   Status when that version is older than the history (see `compact()`).
 * - `PATCH /api/v1/nodes/{name}` and `/status` with JSON merge, strategic merge and JSON patch
 *   (415 for other types). The status subresource changes only `status` and the metadata
 *   annotations and labels; the main resource ignores changes to `status`. A patch that changes
 *   nothing changes no resourceVersion and sends no event.
 * - `GET /api/v1/namespaces/{ns}/pods/{name}` only, for flanneld's POD_NAME lookup of its node:
 *   the pod as created (`createPod`), or 404 `pods "<name>" not found`; other methods 405. A pod
 *   change moves the global resourceVersion but is in no node watch.
 * - Bearer tokens (401) and RBAC-style rules per token (403 with the real wording; for pods the
 *   namespaced wording, resource `pods`).
 * - Yurthub, as its local proxy answers while the cloud is unhealthy (openyurt
 *   `pkg/yurthub/proxy/local/local.go`; the details and citations are in ./apiserver/yurthub.ts).
 *   `setYurthubMode` picks where reads go:
 *   - `online` (the default): to "the cloud", as above.
 *   - `cached` (also `setCloudDown(true)`): the cloud is down; the cache is what the cloud held
 *     at that moment.
 *   - `snapshot` (also `serveSnapshot`): the cloud is down; the cache is an older `snapshot()`,
 *     optionally without some nodes (they joined after yurthub wrote its cache).
 *   - `uncached`: the cloud is down and nothing was ever cached for nodes.
 *   In every cloud-down mode: no authentication; GET, LIST and PATCH only for cached agents (the
 *   User-Agent before its first `/`; others get 400 `can not cache for ...`); GET answers the
 *   cached node or 404 NotFound; LIST answers every cached node in one page with the highest
 *   resourceVersion among them (an empty cache: `items: null` and no resourceVersion), or 404
 *   `nodes "" not found` when nothing was cached; PATCH answers 200 with the cached node and
 *   applies nothing (404 when the node is not cached); WATCH answers 200 and stays silent until
 *   its timeoutSeconds (none or 0: `minRequestTimeoutSeconds` × [1, 2)) or until the mode
 *   changes. Every change of mode ends every open watch, as a lost upstream does. Changes the
 *   test makes meanwhile happen in "the cloud" and show once it is back.
 *   Pods are answered the same way from the pods cached with the nodes (`cached`: the cloud's
 *   pods then; `snapshot`: the snapshot's `pods`, none ever cached when it has none; `uncached`:
 *   none), GET only.
 *
 * Plain HTTP by default, HTTPS with the `tls` option. Tests drive it in-process:
 * createNode/updateNode/deleteNode, createPod/deletePod, closeWatches, compact, sendBookmarks, snapshot,
 * setYurthubMode, a request log, stop() and start() again on the same port.
 *
 * @module
 */
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  cloneJson,
  isObject,
  type Json,
  jsonEqual,
  PatchError,
} from "./apiserver/patch.ts";
import {
  badRequest,
  conflict,
  expired,
  failure,
  forbidden,
  invalid,
  methodNotAllowed,
  notFound,
  pathNotFound,
  type StatusObject,
  unauthorized,
  unsupportedMediaType,
} from "./apiserver/status.ts";
import {
  agentComponent,
  type CacheAnswer,
  type CacheSnapshot,
  cannotCache,
  checkedNames,
  checkedSnapshot,
  localWatchSeconds,
  NodeCache,
  type YurthubMode,
  type YurthubSetting,
} from "./apiserver/yurthub.ts";

export { agentComponent };
export type { CacheSnapshot, YurthubMode, YurthubSetting };

/** A Node in the wire format. Loosely typed: tests read and write its fields freely. */
// deno-lint-ignore no-explicit-any
export type NodeObject = Record<string, any>;

export type Verb = "get" | "list" | "watch" | "patch";

/** One RBAC-like rule: these verbs on these resources (`nodes`, `nodes/status`, `pods`, `*`). */
export interface AccessRule {
  verbs: (Verb | "*")[];
  resources: string[];
}

export interface Account {
  user: string;
  rules: AccessRule[];
}

/** What flannel's stock ClusterRole grants on nodes. */
export const FLANNEL_RULES: AccessRule[] = [
  { verbs: ["get", "list", "watch"], resources: ["nodes"] },
  { verbs: ["patch"], resources: ["nodes/status"] },
];

export interface ApiServerOptions {
  /** Address to listen on. Default 127.0.0.1. */
  hostname?: string;
  /** Port to listen on; 0 (default) picks a free one, kept across stop()/start(). */
  port?: number;
  /** Bearer token → account. When unset, requests need no authentication and may do anything. */
  accounts?: Record<string, Account>;
  /** Watch events kept for replay. Default 1000. */
  historyLimit?: number;
  /** How often a watch that allows bookmarks gets one. Default 60 s. */
  bookmarkIntervalMs?: number;
  /** Watch length when the client gives no timeoutSeconds. Default 1800 s. */
  defaultWatchTimeoutSeconds?: number;
  /** Yurthub's cache agents (User-Agent up to the first `/`, lower-case). */
  cacheAgents?: string[];
  /**
   * Yurthub's `--min-request-timeout`: a local watch without timeoutSeconds (or with 0) lasts
   * this long times a random factor in [1, 2). Default 1800 s, as yurthub's.
   */
  minRequestTimeoutSeconds?: number;
  /** Serve HTTPS with this certificate chain and key (PEM) instead of plain HTTP. */
  tls?: { cert: string; key: string };
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | null;
  userAgent: string | null;
  authorization: string | null;
  /** Parsed JSON when it is JSON, else the text; undefined without a body. */
  body: unknown;
  /** Status of the answer (200 for a watch, whatever its events). */
  status: number;
  /** Answered by yurthub while the cloud was down (any mode but `online`). */
  offline: boolean;
}

interface WatchEventRecord {
  resourceVersion: number;
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: NodeObject;
}

interface Watcher {
  offline: boolean;
  bookmarks: boolean;
  send(line: unknown): void;
  close(): void;
}

interface Continuation {
  resourceVersion: number;
  items: NodeObject[];
  offset: number;
}

const DEFAULT_CACHE_AGENTS = ["kubelet", "kube-proxy", "flanneld", "coredns", "yurthub"];
const PATCH_TYPES = {
  "application/merge-patch+json": applyMergePatch,
  "application/strategic-merge-patch+json": applyStrategicMergePatch,
  "application/json-patch+json": applyJsonPatch,
} as const;

const encoder = new TextEncoder();

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function statusResponse(status: StatusObject): Response {
  return jsonResponse(status.code, status);
}

function metadataOf(node: NodeObject): { [key: string]: Json } {
  if (!isObject(node.metadata)) node.metadata = {};
  return node.metadata as { [key: string]: Json };
}

function nameOf(node: NodeObject): string {
  const name = metadataOf(node).name;
  if (typeof name !== "string" || name === "") throw new Error("node needs metadata.name");
  return name;
}

function byName(a: NodeObject, b: NodeObject): number {
  const left = nameOf(a);
  const right = nameOf(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

export class TestApiServer {
  readonly requests: LoggedRequest[] = [];

  #options: Required<Omit<ApiServerOptions, "accounts" | "hostname" | "port" | "tls">>;
  #hostname: string;
  #tls: { cert: string; key: string } | undefined;
  #accounts: Map<string, Account> | undefined;
  #port: number;
  #server: Deno.HttpServer | undefined;

  #nodes = new Map<string, NodeObject>();
  #resourceVersion = 1;
  #history: WatchEventRecord[] = [];
  /** Every event after this version is in #history. */
  #horizon = 1;
  #watchers = new Set<Watcher>();
  #continuations = new Map<string, Continuation>();

  /** Pods by `<namespace>/<name>`. */
  #pods = new Map<string, NodeObject>();

  #yurthubMode: YurthubMode = "online";
  #cache = NodeCache.nothing();
  /** The pods yurthub answers from while the cloud is down; undefined: none ever cached. */
  #podCache: Map<string, NodeObject> | undefined;

  private constructor(options: ApiServerOptions) {
    this.#options = {
      historyLimit: options.historyLimit ?? 1000,
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
      defaultWatchTimeoutSeconds: options.defaultWatchTimeoutSeconds ?? 1800,
      cacheAgents: options.cacheAgents ?? DEFAULT_CACHE_AGENTS,
      minRequestTimeoutSeconds: options.minRequestTimeoutSeconds ?? 1800,
    };
    this.#accounts = options.accounts ? new Map(Object.entries(options.accounts)) : undefined;
    this.#hostname = options.hostname ?? "127.0.0.1";
    this.#port = options.port ?? 0;
    this.#tls = options.tls;
  }

  /** Creates a server and starts listening. */
  static async start(options: ApiServerOptions = {}): Promise<TestApiServer> {
    const server = new TestApiServer(options);
    await server.start();
    return server;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    const host = this.#hostname.includes(":") ? `[${this.#hostname}]` : this.#hostname;
    return `${this.#tls ? "https" : "http"}://${host}:${this.#port}`;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  /** The current global resourceVersion of "the cloud". */
  get resourceVersion(): string {
    return String(this.#resourceVersion);
  }

  get activeWatches(): number {
    return this.#watchers.size;
  }

  /** True in every yurthub mode but `online`. */
  get cloudDown(): boolean {
    return this.#yurthubMode !== "online";
  }

  get yurthubMode(): YurthubMode {
    return this.#yurthubMode;
  }

  /** Starts listening (again, on the same port, after stop()). */
  start(): Promise<void> {
    if (this.#server) return Promise.resolve();
    return new Promise((resolve, reject) => {
      try {
        this.#server = Deno.serve({
          hostname: this.#hostname,
          port: this.#port,
          ...(this.#tls ?? {}),
          onListen: (address) => {
            this.#port = address.port;
            resolve();
          },
          onError: (error) => statusResponse(failure(500, "InternalError", String(error))),
        }, (request) => this.#handle(request));
      } catch (error) {
        reject(error);
      }
    });
  }

  /** Stops listening and ends every watch; the state is kept for start(). */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    this.closeWatches();
    await server.shutdown();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  // ---- controls for tests: "the cloud" ----

  /** The node as stored in the cloud (a copy), whatever the yurthub mode. */
  node(name: string): NodeObject | undefined {
    const node = this.#nodes.get(name);
    return node ? cloneJson(node) : undefined;
  }

  nodeNames(): string[] {
    return [...this.#nodes.keys()].sort();
  }

  createNode(object: NodeObject): NodeObject {
    const node = cloneJson(object);
    node.apiVersion = "v1";
    node.kind = "Node";
    const name = nameOf(node);
    if (this.#nodes.has(name)) throw new Error(`node ${name} already exists`);
    const metadata = metadataOf(node);
    metadata.uid ??= crypto.randomUUID();
    metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, "Z");
    node.spec ??= {};
    node.status ??= {};
    this.#commit("ADDED", node);
    return cloneJson(node);
  }

  /** Changes a node: `change` edits the copy it gets, or returns a replacement. */
  updateNode(name: string, change: (node: NodeObject) => NodeObject | void): NodeObject {
    const current = this.#nodes.get(name);
    if (!current) throw new Error(`node ${name} does not exist`);
    const draft = cloneJson(current);
    const next = change(draft) ?? draft;
    if (nameOf(next) !== name) throw new Error("updateNode cannot rename a node");
    if (!this.#differs(current, next)) return cloneJson(current);
    this.#commit("MODIFIED", next);
    return cloneJson(next);
  }

  deleteNode(name: string): void {
    const current = this.#nodes.get(name);
    if (!current) throw new Error(`node ${name} does not exist`);
    this.#commit("DELETED", cloneJson(current));
  }

  /** The pod as stored in the cloud (a copy). */
  pod(namespace: string, name: string): NodeObject | undefined {
    const pod = this.#pods.get(`${namespace}/${name}`);
    return pod ? cloneJson(pod) : undefined;
  }

  /**
   * Creates a pod (`metadata.name` and `metadata.namespace` required; `spec.nodeName` is what
   * the POD_NAME lookup reads). It moves the global resourceVersion, as any object does.
   */
  createPod(object: NodeObject): NodeObject {
    const pod = cloneJson(object);
    pod.apiVersion = "v1";
    pod.kind = "Pod";
    const metadata = metadataOf(pod);
    const { name, namespace } = metadata;
    if (typeof name !== "string" || name === "" || typeof namespace !== "string") {
      throw new Error("a pod needs metadata.name and metadata.namespace");
    }
    const key = `${namespace}/${name}`;
    if (this.#pods.has(key)) throw new Error(`pod ${key} already exists`);
    metadata.uid ??= crypto.randomUUID();
    metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, "Z");
    pod.spec ??= {};
    pod.status ??= {};
    this.#resourceVersion += 1;
    metadata.resourceVersion = String(this.#resourceVersion);
    this.#pods.set(key, pod);
    return cloneJson(pod);
  }

  deletePod(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    if (!this.#pods.delete(key)) throw new Error(`pod ${key} does not exist`);
    this.#resourceVersion += 1;
  }

  /**
   * Advances the global resourceVersion without touching any node, as changes to other kinds
   * of objects do in a real cluster. Only bookmarks tell a node watch about the new version.
   */
  advanceResourceVersion(by = 1): void {
    this.#resourceVersion += by;
  }

  /** Adds, replaces (with an account) or removes (undefined) the account of a token. */
  setAccount(token: string, account: Account | undefined): void {
    this.#accounts ??= new Map();
    if (account) this.#accounts.set(token, account);
    else this.#accounts.delete(token);
  }

  // ---- controls for tests: the connection ----

  /** Ends every open watch stream, as a restarting API server or a broken proxy would. */
  closeWatches(): void {
    for (const watcher of [...this.#watchers]) watcher.close();
  }

  /** Forgets the event history: a watch from any version before now gets 410 Expired. */
  compact(): void {
    this.#history = [];
    this.#horizon = this.#resourceVersion;
    this.#continuations.clear();
  }

  /** Sends a BOOKMARK now to every online watch that allows them. */
  sendBookmarks(): void {
    for (const watcher of this.#watchers) {
      if (watcher.bookmarks && !watcher.offline) watcher.send(this.#bookmark());
    }
  }

  // ---- controls for tests: yurthub ----

  /** The cloud now (copies), for `serveSnapshot` later: an older cache than the nodes saw. */
  snapshot(): CacheSnapshot {
    return {
      resourceVersion: this.resourceVersion,
      nodes: [...this.#nodes.values()].sort(byName).map((node) => cloneJson(node)),
      pods: [...this.#pods.keys()].sort().map((key) => cloneJson(this.#pods.get(key)!)),
    };
  }

  /**
   * Switches where reads go (see the module comment). Every switch ends every open watch: going
   * down loses the proxied upstream, coming back ends the local watches (yurthub polls the
   * cloud's health every 2 s; here they end at once), and between two cloud-down modes the
   * cache changes under them. Setting `online` while online changes nothing.
   */
  setYurthubMode(setting: YurthubSetting): void {
    if (typeof setting !== "object" || setting === null) {
      throw new Error("a yurthub setting is an object { mode, ... }");
    }
    if (setting.mode === "online" && this.#yurthubMode === "online") return;
    const podCache = (pods: NodeObject[] | undefined) =>
      pods && new Map(pods.map((pod) => [`${pod.metadata.namespace}/${pod.metadata.name}`, pod]));
    switch (setting.mode) {
      case "online":
        this.#cache = NodeCache.nothing();
        this.#podCache = undefined;
        break;
      case "cached": {
        const snapshot = this.snapshot();
        this.#cache = NodeCache.of(snapshot);
        this.#podCache = podCache(snapshot.pods);
        break;
      }
      case "snapshot": {
        const snapshot = checkedSnapshot(setting.snapshot);
        this.#cache = NodeCache.of(snapshot, checkedNames(setting.omit));
        this.#podCache = podCache(snapshot.pods);
        break;
      }
      case "uncached":
        this.#cache = NodeCache.nothing();
        this.#podCache = undefined;
        break;
      default:
        throw new Error(`unknown yurthub mode ${JSON.stringify(setting)}`);
    }
    this.#yurthubMode = setting.mode;
    this.closeWatches();
  }

  /** Cloud down, reads answered from `snapshot` without the nodes named in `omit`. */
  serveSnapshot(snapshot: CacheSnapshot, omit: string[] = []): void {
    this.setYurthubMode({ mode: "snapshot", snapshot, omit });
  }

  /**
   * The simple yurthub switch: down caches the cloud's current state (mode `cached`), up goes
   * back `online`. Going down while already down keeps the cache as it is.
   */
  setCloudDown(down: boolean): void {
    if (down === this.cloudDown) return;
    this.setYurthubMode({ mode: down ? "cached" : "online" });
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  // ---- the store ----

  #differs(current: NodeObject, next: NodeObject): boolean {
    const strip = (node: NodeObject) => {
      const copy = cloneJson(node);
      delete metadataOf(copy).resourceVersion;
      return copy;
    };
    return !jsonEqual(strip(current), strip(next));
  }

  #commit(type: WatchEventRecord["type"], node: NodeObject): void {
    const name = nameOf(node);
    this.#resourceVersion += 1;
    metadataOf(node).resourceVersion = String(this.#resourceVersion);
    if (type === "DELETED") this.#nodes.delete(name);
    else this.#nodes.set(name, node);
    const record = { resourceVersion: this.#resourceVersion, type, object: cloneJson(node) };
    this.#history.push(record);
    while (this.#history.length > this.#options.historyLimit) {
      this.#horizon = this.#history.shift()!.resourceVersion;
    }
    for (const watcher of this.#watchers) {
      if (!watcher.offline) watcher.send({ type, object: record.object });
    }
  }

  #bookmark(): unknown {
    return {
      type: "BOOKMARK",
      object: {
        kind: "Node",
        apiVersion: "v1",
        metadata: { resourceVersion: String(this.#resourceVersion) },
      },
    };
  }

  // ---- HTTP ----

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const bodyText = request.body ? await request.text() : "";
    let body: unknown = undefined;
    if (bodyText) {
      try {
        body = JSON.parse(bodyText);
      } catch {
        body = bodyText;
      }
    }
    const entry: LoggedRequest = {
      method: request.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: request.headers.get("content-type"),
      userAgent: request.headers.get("user-agent"),
      authorization: request.headers.get("authorization"),
      body,
      status: 0,
      offline: this.cloudDown,
    };
    this.requests.push(entry);
    const response = this.#route(request, url, bodyText, entry);
    entry.status = response.status;
    return response;
  }

  #route(request: Request, url: URL, bodyText: string, entry: LoggedRequest): Response {
    const pod = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/?$/);
    if (pod) {
      return this.#routePod(
        request,
        decodeURIComponent(pod[1]!),
        decodeURIComponent(pod[2]!),
        entry,
      );
    }
    const match = url.pathname.match(/^\/api\/v1\/nodes(?:\/([^/]+)(\/status)?)?\/?$/);
    if (!match) return statusResponse(pathNotFound());
    const name = match[1] === undefined ? undefined : decodeURIComponent(match[1]);
    const resource = match[2] ? "nodes/status" : "nodes";
    const query = url.searchParams;
    let verb: Verb;
    if (request.method === "GET") {
      const watch = query.get("watch");
      if (name === undefined) verb = watch === "true" || watch === "1" ? "watch" : "list";
      else verb = "get";
    } else if (request.method === "PATCH" && name !== undefined) verb = "patch";
    else return statusResponse(methodNotAllowed(request.method));

    if (this.cloudDown) return this.#serveFromCache(verb, name, url, entry);

    if (this.#accounts) {
      const token = request.headers.get("authorization")?.match(/^Bearer\s+(\S+)$/i)?.[1];
      const account = token === undefined ? undefined : this.#accounts.get(token);
      if (!account) return statusResponse(unauthorized());
      if (!this.#allowed(account, verb, resource)) {
        return statusResponse(forbidden(account.user, verb, resource, name));
      }
    }
    switch (verb) {
      case "get":
        return this.#get(name!);
      case "list":
        return this.#list(query);
      case "watch":
        return this.#watch(query, false);
      case "patch":
        return this.#patch(name!, resource, request.headers.get("content-type"), bodyText);
    }
  }

  /** GET of one pod: the cloud's, or yurthub's cached one while the cloud is down. */
  #routePod(request: Request, namespace: string, name: string, entry: LoggedRequest): Response {
    if (request.method !== "GET") return statusResponse(methodNotAllowed(request.method));
    const key = `${namespace}/${name}`;
    if (this.cloudDown) {
      if (!this.#options.cacheAgents.includes(agentComponent(entry.userAgent))) {
        return statusResponse(
          cannotCache(entry.userAgent, "get", new URL(request.url).pathname, "pods"),
        );
      }
      const cached = this.#podCache?.get(key);
      return cached ? jsonResponse(200, cloneJson(cached)) : statusResponse(notFound(name, "pods"));
    }
    if (this.#accounts) {
      const token = request.headers.get("authorization")?.match(/^Bearer\s+(\S+)$/i)?.[1];
      const account = token === undefined ? undefined : this.#accounts.get(token);
      if (!account) return statusResponse(unauthorized());
      if (!this.#allowed(account, "get", "pods")) {
        return statusResponse(forbidden(account.user, "get", "pods", name, namespace));
      }
    }
    const pod = this.#pods.get(key);
    return pod ? jsonResponse(200, pod) : statusResponse(notFound(name, "pods"));
  }

  #allowed(account: Account, verb: Verb, resource: string): boolean {
    return account.rules.some((rule) =>
      (rule.verbs.includes("*") || rule.verbs.includes(verb)) &&
      (rule.resources.includes("*") || rule.resources.includes(resource))
    );
  }

  #get(name: string): Response {
    const node = this.#nodes.get(name);
    return node ? jsonResponse(200, node) : statusResponse(notFound(name));
  }

  #listBody(items: NodeObject[], resourceVersion: number, more?: string, remaining?: number) {
    const metadata: Record<string, Json> = { resourceVersion: String(resourceVersion) };
    if (more) {
      metadata.continue = more;
      metadata.remainingItemCount = remaining ?? 0;
    }
    return { kind: "NodeList", apiVersion: "v1", metadata, items };
  }

  #list(query: URLSearchParams): Response {
    const limitText = query.get("limit");
    const limit = limitText ? Number(limitText) : 0;
    if (!Number.isInteger(limit) || limit < 0) {
      return statusResponse(badRequest(`invalid limit ${limitText}`));
    }
    const token = query.get("continue");
    let continuation: Continuation;
    if (token) {
      const found = this.#continuations.get(token);
      if (!found) {
        return statusResponse(
          expired(
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
          ),
        );
      }
      this.#continuations.delete(token);
      continuation = found;
    } else {
      const items = [...this.#nodes.values()].sort(byName).map((node) => cloneJson(node));
      continuation = { resourceVersion: this.#resourceVersion, items, offset: 0 };
    }
    const { items, offset, resourceVersion } = continuation;
    if (limit === 0 || offset + limit >= items.length) {
      return jsonResponse(200, this.#listBody(items.slice(offset), resourceVersion));
    }
    const next = crypto.randomUUID();
    this.#continuations.set(next, { resourceVersion, items, offset: offset + limit });
    const page = items.slice(offset, offset + limit);
    return jsonResponse(
      200,
      this.#listBody(page, resourceVersion, next, items.length - offset - limit),
    );
  }

  /** A watch of the cloud, or (`offline`) yurthub's local watch, which never sends an event. */
  #watch(query: URLSearchParams, offline: boolean): Response {
    const timeoutText = query.get("timeoutSeconds");
    const requested = timeoutText === null ? undefined : Number(timeoutText);
    if (requested !== undefined && (!Number.isInteger(requested) || requested < 0)) {
      return statusResponse(badRequest(`invalid timeoutSeconds ${timeoutText}`));
    }
    const timeoutSeconds = offline
      ? localWatchSeconds(requested, this.#options.minRequestTimeoutSeconds)
      : requested ?? this.#options.defaultWatchTimeoutSeconds;
    const versionText = query.get("resourceVersion") ?? "";
    // Yurthub's local watch ignores the resourceVersion, so only the cloud checks it.
    if (!offline && versionText !== "" && !/^[0-9]+$/.test(versionText)) {
      return statusResponse(badRequest(`invalid resourceVersion ${JSON.stringify(versionText)}`));
    }
    const bookmarks = query.get("allowWatchBookmarks") === "true";
    const initial: unknown[] = [];
    let expiredStatus: StatusObject | undefined;
    if (!offline) {
      const from = versionText === "" ? 0 : Number(versionText);
      if (from === 0) {
        // "" and "0": the current state as ADDED events, then changes.
        for (const node of [...this.#nodes.values()].sort(byName)) {
          initial.push({ type: "ADDED", object: node });
        }
      } else if (from < this.#horizon) {
        expiredStatus = expired(`too old resource version: ${from} (${this.#horizon + 1})`);
      } else {
        for (const record of this.#history) {
          if (record.resourceVersion > from) {
            initial.push({ type: record.type, object: record.object });
          }
        }
      }
    }
    const watchers = this.#watchers;
    const intervalMs = this.#options.bookmarkIntervalMs;
    const bookmark = () => this.#bookmark();
    let watcher: Watcher;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        let closed = false;
        const timers: ReturnType<typeof setTimeout>[] = [];
        watcher = {
          offline,
          bookmarks,
          send(line) {
            if (!closed) controller.enqueue(encoder.encode(`${JSON.stringify(line)}\n`));
          },
          close() {
            if (closed) return;
            closed = true;
            // clearInterval clears timeouts as well: both share one id space.
            for (const timer of timers) clearInterval(timer);
            watchers.delete(watcher);
            try {
              controller.close();
            } catch {
              // Already cancelled by the client.
            }
          },
        };
        if (expiredStatus) {
          watcher.send({ type: "ERROR", object: expiredStatus });
          watcher.close();
          return;
        }
        for (const line of initial) watcher.send(line);
        watchers.add(watcher);
        timers.push(setTimeout(() => watcher.close(), timeoutSeconds * 1000));
        if (bookmarks && !offline) {
          timers.push(setInterval(() => watcher.send(bookmark()), intervalMs));
        }
      },
      cancel() {
        watcher.close();
      },
    });
    return new Response(stream, {
      status: 200,
      headers: { "content-type": "application/json", "cache-control": "no-cache" },
    });
  }

  #patch(name: string, resource: string, contentType: string | null, bodyText: string): Response {
    const mediaType = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
    const apply = PATCH_TYPES[mediaType as keyof typeof PATCH_TYPES];
    if (!apply) return statusResponse(unsupportedMediaType(mediaType));
    let patch: Json;
    try {
      patch = JSON.parse(bodyText);
    } catch (error) {
      return statusResponse(badRequest(`error decoding patch: ${(error as Error).message}`));
    }
    const current = this.#nodes.get(name);
    if (!current) return statusResponse(notFound(name));
    let patched: Json;
    try {
      patched = apply(cloneJson(current), patch);
    } catch (error) {
      if (!(error instanceof PatchError)) throw error;
      return statusResponse(
        error.status === 400 ? badRequest(error.message) : invalid(name, error.message),
      );
    }
    if (!isObject(patched)) {
      return statusResponse(invalid(name, "the patched object is not an object"));
    }
    const patchedMetadata = metadataOf(patched);
    if (patchedMetadata.name !== name) {
      return statusResponse(invalid(name, "metadata.name: Invalid value: field is immutable"));
    }
    // A resourceVersion in the patch is a precondition (optimistic concurrency).
    if (patchedMetadata.resourceVersion !== metadataOf(current).resourceVersion) {
      return statusResponse(conflict(name));
    }
    const next = resource === "nodes/status"
      ? this.#statusUpdate(current, patched)
      : this.#mainUpdate(current, patched);
    if (!this.#differs(current, next)) return jsonResponse(200, current);
    this.#commit("MODIFIED", next);
    return jsonResponse(200, next);
  }

  /** The status subresource: status, annotations and labels change; nothing else does. */
  #statusUpdate(current: NodeObject, patched: NodeObject): NodeObject {
    const next = cloneJson(current);
    const metadata = metadataOf(next);
    const patchedMetadata = metadataOf(patched);
    next.status = patched.status ?? {};
    for (const field of ["annotations", "labels"]) {
      if (patchedMetadata[field] === undefined) delete metadata[field];
      else metadata[field] = patchedMetadata[field]!;
    }
    return next;
  }

  /** The main resource: everything but status, and the server-owned metadata, changes. */
  #mainUpdate(current: NodeObject, patched: NodeObject): NodeObject {
    const next = cloneJson(patched);
    next.status = cloneJson(current.status ?? {});
    next.apiVersion = "v1";
    next.kind = "Node";
    const metadata = metadataOf(next);
    const currentMetadata = metadataOf(current);
    for (const field of ["uid", "creationTimestamp", "resourceVersion"]) {
      if (currentMetadata[field] === undefined) delete metadata[field];
      else metadata[field] = currentMetadata[field]!;
    }
    return next;
  }

  // ---- yurthub mode ----

  #serveFromCache(verb: Verb, name: string | undefined, url: URL, entry: LoggedRequest): Response {
    if (verb === "watch") return this.#watch(url.searchParams, true);
    if (!this.#options.cacheAgents.includes(agentComponent(entry.userAgent))) {
      return statusResponse(cannotCache(entry.userAgent, verb, `${url.pathname}${url.search}`));
    }
    // get, and patch: yurthub answers a write with the cached object and drops the change.
    const answer: CacheAnswer = verb === "list" ? this.#cache.list() : this.#cache.get(name!);
    return jsonResponse(answer.status, answer.body);
  }
}

/**
 * NodeApi over HTTP: the few Node requests the daemon makes (GET, paged LIST, WATCH, PATCH),
 * each sent by the endpoint's transport (transport.ts), which adds the credentials
 * (kubeconfig.ts). The package's generated API classes are never used: they would cost the
 * daemon some 100 MB of memory.
 *
 * Every request, watches included, carries the configured User-Agent: a yurthub caches answers
 * only for agents it knows, and `flanneld/...` is one of them.
 *
 * @module
 */
import type { Logger } from "../log/log.ts";
import {
  ApiError,
  ApiUnreachableError,
  type NodeApi,
  type NodeList,
  type PatchKind,
  type WatchEnd,
  type WatchEvent,
  type WatchRequest,
} from "./api.ts";
import { type NodeView, parseNode } from "./node.ts";
import type { ApiEndpoint } from "./endpoint.ts";
import type { HttpAnswer, HttpMethod, Transport } from "./transport.ts";

export interface KubeClientOptions {
  /** Sent on every request; starts with `flanneld/` so a yurthub caches the answers. */
  userAgent: string;
  /** Limit for a request other than a watch. Default 30 s. */
  requestTimeoutMs?: number;
  /**
   * Nodes per LIST page. Default 100: smaller pages keep the start-up memory peak low (a real
   * Node object is 5–30 KB of JSON). 0 asks for everything at once.
   */
  pageSize?: number;
  /** A watch that stays silent this much longer than its timeoutSeconds is dropped. Default 30 s. */
  watchStallGraceMs?: number;
  /** Where malformed objects from the server are reported. */
  logger?: Logger;
}

const CONTENT_TYPES: Record<PatchKind, string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
};

/** Watch timeout asked of the server when the caller gives none (client-go uses 5–10 min). */
const DEFAULT_WATCH_TIMEOUT_SECONDS = 300;

type JsonObject = Record<string, unknown>;

interface Sent {
  response: HttpAnswer;
  describe: string;
}

function serverMessage(status: number, text: string): { reason: string; message: string } {
  try {
    const body = JSON.parse(text) as JsonObject;
    if (body?.kind === "Status") {
      return { reason: String(body.reason ?? ""), message: String(body.message ?? "") };
    }
  } catch {
    // Not JSON (a proxy's error page, say): report the start of the text.
  }
  return { reason: "", message: `HTTP ${status}: ${text.slice(0, 200)}` };
}

/** An ApiError from a `Status` object, as the server sends in watch ERROR events. */
export function errorFromStatus(object: unknown): ApiError {
  const status = (typeof object === "object" && object !== null ? object : {}) as JsonObject;
  const code = typeof status.code === "number" ? status.code : 500;
  return new ApiError(code, String(status.reason ?? ""), String(status.message ?? "watch error"));
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: unknown })?.cause;
  if (cause instanceof Error) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

class KubeNodeClient implements NodeApi {
  readonly #server: string;
  readonly #transport: Transport;
  readonly #userAgent: string;
  readonly #requestTimeoutMs: number;
  readonly #pageSize: number;
  readonly #stallGraceMs: number;
  readonly #logger?: Logger;

  constructor(endpoint: ApiEndpoint, options: KubeClientOptions) {
    this.#server = endpoint.server;
    this.#transport = endpoint.transport;
    this.#userAgent = options.userAgent;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#pageSize = options.pageSize ?? 100;
    this.#stallGraceMs = options.watchStallGraceMs ?? 30_000;
    this.#logger = options.logger;
  }

  /** Which HTTP stack this client uses. */
  get transport(): Transport["kind"] {
    return this.#transport.kind;
  }

  async #send(
    method: HttpMethod,
    path: string,
    signal: AbortSignal,
    body?: { text: string; contentType: string },
  ): Promise<Sent> {
    const describe = `${method} ${path}`;
    const headers: Record<string, string> = {
      "User-Agent": this.#userAgent,
      "Accept": "application/json",
    };
    if (body) headers["Content-Type"] = body.contentType;
    try {
      const response = await this.#transport.send({
        method,
        url: `${this.#server}${path}`,
        headers,
        body: body?.text,
        signal,
      });
      return { response, describe };
    } catch (error) {
      throw new ApiUnreachableError(`${describe}: ${causeOf(error)}`, { cause: error });
    }
  }

  /** A request whose whole JSON answer is read; error statuses become ApiError. */
  async #request(
    method: HttpMethod,
    path: string,
    callerSignal?: AbortSignal,
    body?: { text: string; contentType: string },
  ): Promise<unknown> {
    const timeout = AbortSignal.timeout(this.#requestTimeoutMs);
    const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
    const { response, describe } = await this.#send(method, path, signal, body);
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new ApiUnreachableError(`${describe}: reading the answer: ${causeOf(error)}`, {
        cause: error,
      });
    }
    const status = response.status;
    if (status < 200 || status > 299) {
      const { reason, message } = serverMessage(status, text);
      throw new ApiError(status, reason, `${describe}: ${message} (${status} ${reason})`.trim());
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new ApiError(status, "", `${describe}: the answer is not JSON`);
    }
  }

  #node(object: unknown, describe: string): NodeView {
    const node = parseNode(object);
    if ("error" in node) throw new ApiError(200, "", `${describe}: ${node.error}`);
    return node.ok;
  }

  async getNode(name: string, signal?: AbortSignal): Promise<NodeView> {
    const path = `/api/v1/nodes/${encodeURIComponent(name)}`;
    return this.#node(await this.#request("GET", path, signal), `GET ${path}`);
  }

  async getPodNodeName(namespace: string, name: string, signal?: AbortSignal): Promise<string> {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${
      encodeURIComponent(name)
    }`;
    const pod = await this.#request("GET", path, signal) as JsonObject | null;
    const spec = pod?.spec as JsonObject | null | undefined;
    const nodeName = spec?.nodeName;
    if (nodeName === undefined || nodeName === null) return "";
    if (typeof nodeName !== "string") {
      throw new ApiError(200, "", `GET ${path}: spec.nodeName is not a string`);
    }
    return nodeName;
  }

  async listNodes(signal?: AbortSignal): Promise<NodeList> {
    const nodes: NodeView[] = [];
    let resourceVersion = "";
    let token = "";
    do {
      const query = new URLSearchParams();
      if (this.#pageSize > 0) query.set("limit", String(this.#pageSize));
      if (token) query.set("continue", token);
      const suffix = query.size > 0 ? `?${query}` : "";
      const page = await this.#request("GET", `/api/v1/nodes${suffix}`, signal) as
        | JsonObject
        | null;
      const metadata = (page?.metadata ?? {}) as JsonObject;
      // Go writes an empty slice as null: yurthub answers an empty cached list that way.
      const items = page?.items === null ? [] : page?.items;
      if (!Array.isArray(items)) {
        throw new ApiError(200, "", "GET /api/v1/nodes: the answer has no items list");
      }
      for (const item of items) {
        const node = parseNode(item);
        if ("ok" in node) nodes.push(node.ok);
        else this.#logger?.warn("skipping a malformed node in the list", { reason: node.error });
      }
      resourceVersion = String(metadata.resourceVersion ?? "");
      token = typeof metadata.continue === "string" ? metadata.continue : "";
    } while (token);
    return { nodes, resourceVersion };
  }

  async patchNodeStatus(
    name: string,
    patch: object,
    kind: PatchKind,
    signal?: AbortSignal,
  ): Promise<NodeView> {
    const path = `/api/v1/nodes/${encodeURIComponent(name)}/status`;
    const body = { text: JSON.stringify(patch), contentType: CONTENT_TYPES[kind] };
    return this.#node(
      await this.#request("PATCH", path, signal, body),
      `PATCH ${path}`,
    );
  }

  async watchNodes(request: WatchRequest): Promise<WatchEnd> {
    const timeoutSeconds = request.timeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_SECONDS;
    const query = new URLSearchParams({
      allowWatchBookmarks: "true",
      resourceVersion: request.resourceVersion,
      timeoutSeconds: String(timeoutSeconds),
      watch: "true",
    });
    // The server ends the watch after timeoutSeconds; a stream silent for longer than that is
    // a dead connection nobody will close.
    const stall = new AbortController();
    const stallLimitMs = timeoutSeconds * 1000 + this.#stallGraceMs;
    let stallTimer = setTimeout(() => stall.abort(), stallLimitMs);
    const restartStallTimer = () => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => stall.abort(), stallLimitMs);
    };
    const signal = request.signal ? AbortSignal.any([request.signal, stall.signal]) : stall.signal;
    const ended = (error: unknown, describe: string): WatchEnd => {
      if (request.signal?.aborted) return "aborted";
      if (stall.signal.aborted) {
        throw new ApiUnreachableError(`${describe}: no data for ${stallLimitMs / 1000} s`);
      }
      throw error;
    };
    const path = `/api/v1/nodes?${query}`;
    try {
      let sent: Sent;
      try {
        sent = await this.#send("GET", path, signal);
      } catch (error) {
        return ended(error, `GET ${path}`);
      }
      const { response, describe } = sent;
      if (response.status !== 200) {
        const text = await response.text().catch(() => "");
        const { reason, message } = serverMessage(response.status, text);
        throw new ApiError(
          response.status,
          reason,
          `${describe}: ${message} (${response.status} ${reason})`.trim(),
        );
      }
      request.onOpen?.();
      const stream = response.stream();
      if (!stream) return "closed";
      try {
        await this.#readEvents(stream, signal, request.onEvent, restartStallTimer);
      } catch (error) {
        return ended(
          new ApiUnreachableError(`${describe}: ${causeOf(error)}`, { cause: error }),
          describe,
        );
      }
      return request.signal?.aborted ? "aborted" : "closed";
    } finally {
      clearTimeout(stallTimer);
    }
  }

  async #readEvents(
    stream: ReadableStream<Uint8Array>,
    signal: AbortSignal,
    onEvent: (event: WatchEvent) => void,
    onData: () => void,
  ): Promise<void> {
    const reader = stream.getReader();
    // Aborting the request does not always reach a body that is already streaming: cancel the
    // reader as well, which ends the read below.
    const cancel = () => reader.cancel(signal.reason).catch(() => {});
    signal.addEventListener("abort", cancel, { once: true });
    try {
      await this.#readLines(reader, onEvent, onData);
    } finally {
      signal.removeEventListener("abort", cancel);
      reader.releaseLock();
    }
    if (signal.aborted) throw signal.reason;
  }

  async #readLines(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    onEvent: (event: WatchEvent) => void,
    onData: () => void,
  ): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    while (true) {
      const { done, value: chunk } = await reader.read();
      if (done) break;
      onData();
      pending += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line) this.#dispatch(line, onEvent);
      }
    }
    const rest = (pending + decoder.decode()).trim();
    if (rest) this.#dispatch(rest, onEvent);
  }

  #dispatch(line: string, onEvent: (event: WatchEvent) => void): void {
    let frame: JsonObject;
    try {
      frame = JSON.parse(line);
    } catch {
      this.#logger?.warn("skipping a watch line that is not JSON", { line: line.slice(0, 200) });
      return;
    }
    const type = frame?.type;
    if (type === "ERROR") {
      onEvent({ type, error: errorFromStatus(frame.object) });
    } else if (type === "BOOKMARK") {
      const metadata = ((frame.object as JsonObject | undefined)?.metadata ?? {}) as JsonObject;
      const resourceVersion = metadata.resourceVersion;
      if (typeof resourceVersion === "string" && resourceVersion) {
        onEvent({ type, resourceVersion });
      }
    } else if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") {
      const node = parseNode(frame.object);
      if ("ok" in node) onEvent({ type, node: node.ok });
      else this.#logger?.warn("skipping a malformed node in a watch event", { reason: node.error });
    } else {
      this.#logger?.warn("skipping a watch event of unknown type", { type: String(type) });
    }
  }
}

/** A NodeApi talking to the API server (or yurthub) at `endpoint`. */
export function createNodeApi(
  endpoint: ApiEndpoint,
  options: KubeClientOptions,
): NodeApi & { readonly transport: Transport["kind"] } {
  return new KubeNodeClient(endpoint, options);
}

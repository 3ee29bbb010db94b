/**
 * The narrow view of the Kubernetes API that keepnet uses: get, list, watch and status-patch
 * Nodes, and read one Pod's node name (flanneld's POD_NAME lookup). The daemon depends on this interface only; `client.ts` implements it over
 * `@kubernetes/client-node`, and tests may run it against the test API server.
 *
 * @module
 */
import type { NodeView } from "./node.ts";

/** The server answered with an error status (a Kubernetes `Status` object, when it sent one). */
export class ApiError extends Error {
  override name = "ApiError";
  /** HTTP status code: 401, 403, 404, 410, 415, 422, 5xx… */
  readonly status: number;
  /** The Status object's `reason` (`Forbidden`, `NotFound`, `Expired`…), or "" when absent. */
  readonly reason: string;

  constructor(status: number, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

/** No answer from the server: connection refused or reset, DNS failure, timeout. */
export class ApiUnreachableError extends Error {
  override name = "ApiUnreachableError";
}

/** True when `error` is an ApiError with one of `statuses`. */
export function hasStatus(error: unknown, ...statuses: number[]): error is ApiError {
  return error instanceof ApiError && statuses.includes(error.status);
}

export interface NodeList {
  nodes: NodeView[];
  /** The list's resourceVersion, where a watch continues from. */
  resourceVersion: string;
}

/** One event of a watch stream. */
export type WatchEvent =
  | { type: "ADDED" | "MODIFIED" | "DELETED"; node: NodeView }
  /** Nothing changed up to `resourceVersion`; resume from there. */
  | { type: "BOOKMARK"; resourceVersion: string }
  /** The server ended the watch with an error, e.g. 410 Expired: the version is too old. */
  | { type: "ERROR"; error: ApiError };

export interface WatchRequest {
  /** Where to start: events after this version are delivered. */
  resourceVersion: string;
  /** Asks the server to end the watch after this long (it then ends as "closed"). */
  timeoutSeconds?: number;
  /** Aborting ends the watch as "aborted". */
  signal?: AbortSignal;
  /** Called once the server has accepted the watch (HTTP 200). */
  onOpen?: () => void;
  onEvent: (event: WatchEvent) => void;
}

/**
 * How a watch ended without an error: the server closed the stream ("closed"), or the caller
 * aborted it ("aborted"). Errors (refused connection, HTTP error status) reject instead.
 */
export type WatchEnd = "closed" | "aborted";

/** `merge`: JSON merge patch (RFC 7386). `strategic`: Kubernetes strategic merge patch. */
export type PatchKind = "merge" | "strategic";

export interface NodeApi {
  getNode(name: string, signal?: AbortSignal): Promise<NodeView>;
  /** A complete list of all nodes (paged through, if the server pages). */
  listNodes(signal?: AbortSignal): Promise<NodeList>;
  watchNodes(request: WatchRequest): Promise<WatchEnd>;
  /** PATCH `nodes/<name>/status`; returns the node as the server answered. */
  patchNodeStatus(
    name: string,
    patch: object,
    kind: PatchKind,
    signal?: AbortSignal,
  ): Promise<NodeView>;
  /**
   * GET `namespaces/<namespace>/pods/<name>`; returns its `spec.nodeName`, "" when the pod is
   * not bound to a node (yet).
   */
  getPodNodeName(namespace: string, name: string, signal?: AbortSignal): Promise<string>;
}

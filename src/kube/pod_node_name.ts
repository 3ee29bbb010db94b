/**
 * This node's name from the pod the daemon runs in (`spec.nodeName`), for a DaemonSet that sets
 * only POD_NAME and POD_NAMESPACE, as flannel's stock manifest does. flanneld asks once and exits
 * when that fails (pkg/subnet/kube/kube.go); here the GET is retried with backoff until it
 * answers or the caller stops, and each failure is logged with what is being waited for — a
 * missing RBAC rule, a pod the API (or a yurthub's cache) does not know, an API that does not
 * answer — instead of a crash loop.
 *
 * @module
 */
import type { Logger } from "../log/log.ts";
import { ApiUnreachableError, hasStatus, type NodeApi } from "./api.ts";
import { Backoff, type BackoffOptions, sleep } from "./backoff.ts";

/** The pod whose `spec.nodeName` names this node (POD_NAMESPACE / POD_NAME). */
export interface PodRef {
  namespace: string;
  name: string;
}

export interface PodNodeNameOptions {
  log: Logger;
  /** Stops the waiting; the lookup then resolves to undefined. */
  signal?: AbortSignal;
  /** Delays between attempts. Default 1 s growing to 30 s. */
  backoff?: BackoffOptions;
}

/** What an attempt's failure means for the operator: the thing being waited for. */
function waitingFor(pod: PodRef, error: unknown): string {
  const where = `${pod.namespace}/${pod.name}`;
  if (error instanceof ApiUnreachableError) return "the API server (or yurthub) to answer";
  if (hasStatus(error, 401)) return "the API server to accept our credentials";
  if (hasStatus(error, 403)) {
    return `permission to get pod ${where}: the account needs "get" on "pods" in namespace ${pod.namespace} (dist/kubernetes/rbac-pod-name.yaml)`;
  }
  if (hasStatus(error, 404)) {
    return `pod ${where} to be known to the API server (or cached by yurthub); check POD_NAME and POD_NAMESPACE`;
  }
  return `a usable answer for pod ${where}`;
}

/**
 * The pod's `spec.nodeName`, asked until it is answered. Resolves to undefined only when
 * `options.signal` aborts first.
 */
export async function lookupPodNodeName(
  api: Pick<NodeApi, "getPodNodeName">,
  pod: PodRef,
  options: PodNodeNameOptions,
): Promise<string | undefined> {
  const backoff = new Backoff(options.backoff ?? { initialMs: 1000, maxMs: 30_000 });
  const where = `${pod.namespace}/${pod.name}`;
  for (;;) {
    if (options.signal?.aborted) return undefined;
    let problem: { waitingFor: string; error?: unknown };
    try {
      const nodeName = await api.getPodNodeName(pod.namespace, pod.name, options.signal);
      if (nodeName !== "") {
        options.log.info("node name from the pod", { pod: where, node: nodeName });
        return nodeName;
      }
      problem = { waitingFor: `pod ${where} to be bound to a node (its spec.nodeName is empty)` };
    } catch (error) {
      if (options.signal?.aborted) return undefined;
      problem = { waitingFor: waitingFor(pod, error), error };
    }
    const delay = backoff.next();
    options.log.warn("no node name yet: NODE_NAME is not set, so it comes from the pod", {
      pod: where,
      waitingFor: problem.waitingFor,
      ...(problem.error === undefined ? {} : { error: problem.error }),
      retryInMs: delay,
    });
    if (!await sleep(delay, options.signal)) return undefined;
  }
}

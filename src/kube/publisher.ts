/**
 * Keeps the own Node object saying what this node advertises: flannel's annotations and the
 * `NetworkUnavailable=False` condition. Unlike flanneld, which patches once at start-up and gives
 * up after 30 s, it works in the background for the life of the daemon:
 *
 * - it compares the node as last seen with what it should say and PATCHes `nodes/<name>/status`
 *   (strategic merge, as flanneld) only when something differs, and only the keys that differ;
 * - failures (403, 404, connection refused…) are retried with capped exponential backoff,
 *   forever, and never reach the caller;
 * - a PATCH that is answered but not applied (yurthub while the cloud is away answers with its
 *   cached object) shows as a node that still differs, so it is retried later;
 * - every newer view of the node (`observe`, e.g. from the informer) is checked again, so
 *   annotations removed by someone else or lost with a re-created Node object are put back;
 * - `retryNow()` (the API is back after an outage) cuts a long backoff short.
 *
 * @module
 */
import type { Logger } from "../log/log.ts";
import type { NodeApi } from "./api.ts";
import { Backoff, type BackoffOptions, sleep } from "./backoff.ts";
import type { NodeView } from "./node.ts";

/** Annotations the node must carry, given the node as it is now. */
export type DesiredAnnotations = (node: NodeView) => Readonly<Record<string, string>>;

export interface NodePublisherOptions {
  api: NodeApi;
  nodeName: string;
  logger: Logger;
  annotations: DesiredAnnotations;
  /**
   * Whether to assert `NetworkUnavailable=False` from the start. flanneld sets it once the
   * network is up; the daemon may start with false and call `setNetworkAvailable()` later.
   */
  networkAvailable?: boolean;
  /** Retry delays. Default 1 s doubling to 5 min. */
  backoff?: BackoffOptions;
  /** Clock for the condition's timestamps. */
  now?: () => Date;
}

export interface PublisherStatus {
  /** The node was last seen saying everything it should. */
  inSync: boolean;
  /** PATCH requests the server answered with success. */
  patches: number;
  /** The last failure, until the next success. */
  lastError?: string;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 300_000 };

/** What must change on the node; empty when nothing. */
interface Drift {
  annotations?: Record<string, string>;
  condition: boolean;
}

/** RFC 3339 in UTC with whole seconds, as Go's metav1.Time encodes. */
function kubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}

/** The condition flanneld's CompleteLease sets, with both times `at`. */
export function networkAvailableCondition(at: Date): Record<string, string> {
  const time = kubeTime(at);
  return {
    type: "NetworkUnavailable",
    status: "False",
    reason: "FlannelIsUp",
    message: "Flannel is running on this node",
    lastHeartbeatTime: time,
    lastTransitionTime: time,
  };
}

export class NodePublisher {
  readonly #api: NodeApi;
  readonly #name: string;
  readonly #logger: Logger;
  readonly #annotations: DesiredAnnotations;
  readonly #backoff: Backoff;
  readonly #now: () => Date;
  #networkAvailable: boolean;

  #observed: NodeView | undefined;
  /** The observed node may be outdated: GET it before deciding to patch. */
  #stale = true;
  #dirty = true;
  #wake: (() => void) | undefined;
  /** Aborted to end the current backoff sleep early. */
  #retrySleep = new AbortController();
  #stop = new AbortController();
  #running: Promise<void> | undefined;
  #status: PublisherStatus = { inSync: false, patches: 0 };

  constructor(options: NodePublisherOptions) {
    this.#api = options.api;
    this.#name = options.nodeName;
    this.#logger = options.logger;
    this.#annotations = options.annotations;
    this.#networkAvailable = options.networkAvailable ?? false;
    this.#backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF);
    this.#now = options.now ?? (() => new Date());
  }

  get status(): Readonly<PublisherStatus> {
    return { ...this.#status };
  }

  start(): void {
    if (this.#running) return;
    this.#running = this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#wake?.();
    await this.#running;
  }

  /**
   * A newer view of the own node (other nodes are ignored). If it does not say what it should,
   * the publisher fetches the node and patches it.
   */
  observe(node: NodeView): void {
    if (node.name !== this.#name) return;
    if (this.#drift(node)) {
      this.#status.inSync = false;
      this.#stale = true;
      this.#poke();
    } else {
      this.#observed = node;
    }
  }

  /** Starts asserting `NetworkUnavailable=False`. */
  setNetworkAvailable(): void {
    if (this.#networkAvailable) return;
    this.#networkAvailable = true;
    this.#poke();
  }

  /** The desired annotations changed (the caller's function now answers differently). */
  refresh(): void {
    this.#poke();
  }

  /**
   * The API answers again after an outage: check the node now instead of at the end of the
   * current backoff, and start the backoff over.
   */
  retryNow(): void {
    this.#backoff.reset();
    this.#stale = true;
    this.#retrySleep.abort();
    this.#poke();
  }

  /** Sleeps `ms` unless stopped or `retryNow()` comes first. */
  async #backoffSleep(ms: number, signal: AbortSignal): Promise<void> {
    this.#retrySleep = new AbortController();
    await sleep(ms, AbortSignal.any([signal, this.#retrySleep.signal]));
  }

  #poke(): void {
    this.#dirty = true;
    this.#wake?.();
  }

  #drift(node: NodeView): Drift | undefined {
    const changed: Record<string, string> = {};
    let count = 0;
    for (const [key, value] of Object.entries(this.#annotations(node))) {
      if (node.annotations[key] !== value) {
        changed[key] = value;
        count += 1;
      }
    }
    const condition = this.#networkAvailable &&
      node.networkUnavailable?.status !== "False";
    if (count === 0 && !condition) return undefined;
    return count > 0 ? { annotations: changed, condition } : { condition };
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      if (!this.#dirty) {
        await new Promise<void>((resolve) => this.#wake = resolve);
        this.#wake = undefined;
        continue;
      }
      this.#dirty = false;
      try {
        await this.#reconcile(signal);
      } catch (error) {
        if (signal.aborted) break;
        this.#status.inSync = false;
        this.#status.lastError = error instanceof Error ? error.message : String(error);
        this.#stale = true;
        this.#dirty = true;
        const delay = this.#backoff.next();
        this.#logger.warn("publishing the node's annotations failed; will retry", {
          node: this.#name,
          error,
          retryInMs: delay,
        });
        await this.#backoffSleep(delay, signal);
      }
    }
  }

  async #reconcile(signal: AbortSignal): Promise<void> {
    let node = this.#observed;
    if (!node || this.#stale) {
      node = await this.#api.getNode(this.#name, signal);
      this.#observed = node;
      this.#stale = false;
    }
    const drift = this.#drift(node);
    if (!drift) return this.#settled(false);
    if (drift.annotations) {
      node = await this.#api.patchNodeStatus(
        this.#name,
        { metadata: { annotations: drift.annotations } },
        "strategic",
        signal,
      );
      this.#status.patches += 1;
      this.#observed = node;
      this.#logger.info("patched the node's annotations", {
        node: this.#name,
        keys: Object.keys(drift.annotations).join(","),
      });
    }
    if (drift.condition) {
      node = await this.#api.patchNodeStatus(
        this.#name,
        { status: { conditions: [networkAvailableCondition(this.#now())] } },
        "strategic",
        signal,
      );
      this.#status.patches += 1;
      this.#observed = node;
      this.#logger.info("set the node's NetworkUnavailable condition to False", {
        node: this.#name,
      });
    }
    if (!this.#drift(node)) return this.#settled(true);
    // Answered with success, yet not applied: a yurthub answering from its cache while the
    // cloud is unreachable does exactly this. Try again later.
    this.#stale = true;
    this.#dirty = true;
    this.#status.inSync = false;
    const delay = this.#backoff.next();
    this.#logger.warn("the API accepted the node patch but did not apply it; will retry", {
      node: this.#name,
      retryInMs: delay,
    });
    await this.#backoffSleep(delay, signal);
  }

  #settled(patched: boolean): void {
    if (patched || !this.#status.inSync) {
      this.#logger.debug("the node says what it should", { node: this.#name });
    }
    this.#status.inSync = true;
    delete this.#status.lastError;
    this.#backoff.reset();
  }
}

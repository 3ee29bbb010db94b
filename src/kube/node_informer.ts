/**
 * A level-triggered list+watch of all Nodes, like client-go's reflector: LIST, then WATCH from
 * the list's resourceVersion (with bookmarks, whose versions it follows), re-WATCH from the last
 * version when a watch ends or the connection drops, and re-LIST only when the version has
 * expired (410) or the server refuses the watch.
 *
 * It keeps the latest state of every node and reports:
 * - `onSync` after every complete LIST: the whole set, with the list's resourceVersion, so the
 *   caller may decide whether to drop what is missing (a list may come from a stale cache);
 * - `onUpsert` / `onDelete` for watch events, `onBookmark` for bookmarks.
 * Nothing else ever reports a node as gone: while the API is unreachable nothing is called.
 *
 * Retries: when no answer came at all (connection refused, timeout), retrying costs the server
 * nothing, so the informer tries again every couple of seconds and is back within seconds of the
 * API's return; when the server answered with an error it backs off further.
 *
 * A lost link is often silent: packets vanish, no connection is refused, and an open watch just
 * stops delivering. The server's TCP retransmissions back off to minutes, so such a watch may
 * resume long after the link is back, or never. With a `probe` (a small request, e.g. GET of the
 * node itself), a watch that has been quiet for a few seconds is checked on a separate request;
 * when that gets no answer, the watch is dropped and, until a probe answers again, nothing larger
 * than a probe is sent. The first answered probe resumes the watch from where it was.
 *
 * @module
 */
import type { Logger } from "../log/log.ts";
import { ApiError, hasStatus, type NodeApi, type WatchEvent } from "./api.ts";
import { Backoff, type BackoffOptions, sleep } from "./backoff.ts";
import type { NodeView } from "./node.ts";

export interface SyncInfo {
  /** The list's resourceVersion (older than what was seen before when it comes from a cache). */
  resourceVersion: string;
}

export interface NodeInformerHandlers {
  /**
   * After every complete LIST. `nodes` is the informer's own map, which later watch events
   * change: copy what must stay as it was.
   */
  onSync(nodes: ReadonlyMap<string, NodeView>, info: SyncInfo): void;
  onUpsert(node: NodeView): void;
  onDelete(node: NodeView): void;
  /** A bookmark: the server is at `resourceVersion` and nothing of interest changed. */
  onBookmark?(resourceVersion: string): void;
  /** Called when the informer gets or loses a working connection to the API. */
  onConnectionChange?(connected: boolean): void;
  /**
   * Called whenever a watch opens. Behind a yurthub the connection never looks lost (the hub
   * answers from its cache), but its local watches end when the cloud returns: a new watch is
   * the sign that what the node wrote meanwhile may now really arrive.
   */
  onWatchOpen?(): void;
}

export interface NodeInformerOptions {
  logger: Logger;
  /**
   * Retry delays after the server answered with an error. Default 1 s doubling to 3 s: an edge
   * node must be back within seconds of its API, and an error answer costs the server little.
   */
  backoff?: BackoffOptions;
  /** Retry delays while the server does not answer at all. Default 0.5 s doubling to 2 s. */
  unreachableBackoff?: BackoffOptions;
  /**
   * A small request that shows whether the API answers (any answer counts, errors included).
   * Without it, a silently dead watch is noticed only when its stall limit passes.
   */
  probe?: (signal: AbortSignal) => Promise<unknown>;
  /** How long a watch may stay quiet before the API is probed. Default 5 s. */
  probeAfterMs?: number;
  /** How long a probe may take before the API counts as unreachable. Default 2.5 s. */
  probeTimeoutMs?: number;
  /**
   * Length of each watch asked of the server. Default: random between 5 and 10 minutes, as
   * client-go does, so that the watches of many nodes do not all renew at once.
   */
  watchTimeoutSeconds?: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 3000 };
const DEFAULT_UNREACHABLE_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 2000 };
// With these and the unreachable backoff, a lost link is noticed within 7.5 s of the watch's last
// word, and the watch is back within about 4 s of the API answering again.
const DEFAULT_PROBE_AFTER_MS = 5000;
const DEFAULT_PROBE_TIMEOUT_MS = 2500;
/** A watch that ends this soon without any event counts as a failure (no hot loop). */
const SHORT_WATCH_MS = 1000;

export class NodeInformer {
  readonly #api: NodeApi;
  readonly #handlers: NodeInformerHandlers;
  readonly #logger: Logger;
  readonly #backoff: Backoff;
  readonly #unreachableBackoff: Backoff;
  readonly #watchTimeoutSeconds: () => number;
  readonly #probe: ((signal: AbortSignal) => Promise<unknown>) | undefined;
  readonly #probeAfterMs: number;
  readonly #probeTimeoutMs: number;

  #nodes = new Map<string, NodeView>();
  #resourceVersion = "";
  #connected = false;
  #synced = false;
  /** The last request got no answer: probe before anything larger. */
  #unanswered = false;
  #stop = new AbortController();
  #running: Promise<void> | undefined;

  constructor(api: NodeApi, handlers: NodeInformerHandlers, options: NodeInformerOptions) {
    this.#api = api;
    this.#handlers = handlers;
    this.#logger = options.logger;
    this.#backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF);
    this.#unreachableBackoff = new Backoff(
      options.unreachableBackoff ?? DEFAULT_UNREACHABLE_BACKOFF,
    );
    const fixed = options.watchTimeoutSeconds;
    this.#watchTimeoutSeconds = fixed !== undefined
      ? () => fixed
      : () => 300 + Math.floor(Math.random() * 300);
    this.#probe = options.probe;
    this.#probeAfterMs = options.probeAfterMs ?? DEFAULT_PROBE_AFTER_MS;
    this.#probeTimeoutMs = options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  }

  /** Whether the last LIST or WATCH reached the API server. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Whether at least one complete LIST has succeeded. */
  get synced(): boolean {
    return this.#synced;
  }

  /** The latest known state of every node. */
  get nodes(): ReadonlyMap<string, NodeView> {
    return this.#nodes;
  }

  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  start(): void {
    if (this.#running) return;
    this.#running = this.#run();
  }

  /** Ends the watch and the retry loop; resolves once nothing runs any more. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  get #stopping(): boolean {
    return this.#stop.signal.aborted;
  }

  #setConnected(connected: boolean): void {
    if (connected === this.#connected) return;
    this.#connected = connected;
    this.#call("onConnectionChange", () => this.#handlers.onConnectionChange?.(connected));
  }

  /** Runs a handler; a failing handler is logged and does not stop the informer. */
  #call(name: string, handler: () => void): void {
    try {
      handler();
    } catch (error) {
      this.#logger.error("node informer handler failed", { handler: name, error });
    }
  }

  /** Waits before a retry: briefly when nothing answered, longer when the server refused. */
  async #pause(unreachable = false): Promise<void> {
    const delay = unreachable ? this.#unreachableBackoff.next() : this.#backoff.next();
    await sleep(delay, this.#stop.signal);
  }

  #answered(): void {
    this.#unanswered = false;
    this.#unreachableBackoff.reset();
  }

  /** Whether the API answers the probe (true without a probe); false once `cancel` aborts. */
  async #probeAnswers(cancel?: AbortSignal): Promise<boolean> {
    if (!this.#probe) return true;
    const signals = [this.#stop.signal, AbortSignal.timeout(this.#probeTimeoutMs)];
    if (cancel) signals.push(cancel);
    try {
      await this.#probe(AbortSignal.any(signals));
    } catch (error) {
      if (!(error instanceof ApiError)) {
        if (!cancel?.aborted) this.#logger.debug("the API does not answer", { error });
        return false;
      }
    }
    if (this.#stopping || cancel?.aborted) return false;
    this.#answered();
    return true;
  }

  /**
   * After a request went unanswered: waits until a probe is answered, so that a list or watch
   * is not left hanging on a dead link when the API comes back. False when stopping.
   */
  async #untilAnswered(): Promise<boolean> {
    while (this.#unanswered && !this.#stopping) {
      if (await this.#probeAnswers()) break;
      await this.#pause(true);
    }
    return !this.#stopping;
  }

  /**
   * While a watch is open: probes the API whenever the watch has been quiet for probeAfterMs,
   * and aborts `lost` when the probe gets no answer. Ends when `ended` aborts.
   */
  async #superviseWatch(
    lastHeard: () => number,
    lost: AbortController,
    ended: AbortSignal,
  ): Promise<void> {
    if (!this.#probe) return;
    let lastAnswer = Date.now();
    while (!ended.aborted) {
      const quietMs = Date.now() - Math.max(lastHeard(), lastAnswer);
      if (quietMs < this.#probeAfterMs) {
        await sleep(this.#probeAfterMs - quietMs, ended);
        continue;
      }
      if (await this.#probeAnswers(ended)) {
        lastAnswer = Date.now();
      } else {
        if (!ended.aborted) lost.abort();
        return;
      }
    }
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      if (!await this.#untilAnswered()) return;
      const listed = await this.#list();
      if (listed !== "ok") {
        await this.#pause(listed === "unreachable");
        continue;
      }
      await this.#watchUntilRelist();
    }
  }

  async #list(): Promise<"ok" | "unreachable" | "refused"> {
    let list;
    try {
      list = await this.#api.listNodes(this.#stop.signal);
    } catch (error) {
      if (this.#stopping) return "refused";
      this.#setConnected(false);
      this.#logger.warn("listing nodes failed; will retry", { error });
      if (error instanceof ApiError) {
        this.#answered();
        return "refused";
      }
      this.#unanswered = true;
      return "unreachable";
    }
    if (this.#stopping) return "refused";
    this.#answered();
    this.#nodes = new Map(list.nodes.map((node) => [node.name, node]));
    this.#resourceVersion = list.resourceVersion;
    this.#synced = true;
    this.#setConnected(true);
    this.#logger.debug("listed nodes", { nodes: this.#nodes.size, rv: list.resourceVersion });
    const info = { resourceVersion: list.resourceVersion };
    this.#call("onSync", () => this.#handlers.onSync(this.#nodes, info));
    return "ok";
  }

  /** Watches (again and again) from the current version until a fresh LIST is needed. */
  async #watchUntilRelist(): Promise<void> {
    while (!this.#stopping) {
      if (!await this.#untilAnswered()) return;
      let relist: ApiError | undefined;
      let events = 0;
      const started = Date.now();
      let lastHeard = started;
      const onEvent = (event: WatchEvent) => {
        events += 1;
        lastHeard = Date.now();
        if (event.type === "ERROR") relist ??= event.error;
        else this.#apply(event);
      };
      const lost = new AbortController();
      const ended = new AbortController();
      const supervising = this.#superviseWatch(() => lastHeard, lost, ended.signal);
      try {
        const end = await this.#api.watchNodes({
          resourceVersion: this.#resourceVersion,
          timeoutSeconds: this.#watchTimeoutSeconds(),
          signal: AbortSignal.any([this.#stop.signal, lost.signal]),
          onOpen: () => {
            lastHeard = Date.now();
            this.#answered();
            this.#setConnected(true);
            this.#call("onWatchOpen", () => this.#handlers.onWatchOpen?.());
          },
          onEvent,
        });
        if (this.#stopping) return;
        if (end === "aborted") {
          // The probe got no answer: the watch's connection is presumably dead.
          this.#unanswered = true;
          this.#setConnected(false);
          this.#logger.warn("the API stopped answering; the watch resumes once it answers", {
            quietMs: Date.now() - lastHeard,
          });
          continue;
        }
      } catch (error) {
        if (this.#stopping) return;
        if (error instanceof ApiError) relist = error;
        else {
          // The connection failed: retry the watch from where it was, without a new LIST.
          this.#unanswered = true;
          this.#setConnected(false);
          this.#logger.warn("watching nodes failed; will retry", { error });
          await this.#pause(true);
          continue;
        }
      } finally {
        ended.abort();
        await supervising;
      }
      if (relist) {
        if (hasStatus(relist, 410)) {
          this.#logger.info("watch version expired; listing nodes again", {
            rv: this.#resourceVersion,
          });
          // Back off only if the server expires even a version it has just listed.
          if (events <= 1 && Date.now() - started < SHORT_WATCH_MS) await this.#pause();
        } else {
          this.#logger.warn("the API server ended the watch with an error; listing again", {
            error: relist,
          });
          await this.#pause();
        }
        return;
      }
      if (events === 0 && Date.now() - started < SHORT_WATCH_MS) await this.#pause();
      else this.#backoff.reset();
    }
  }

  #apply(event: Exclude<WatchEvent, { type: "ERROR" }>): void {
    if (event.type === "BOOKMARK") {
      this.#resourceVersion = event.resourceVersion;
      this.#call("onBookmark", () => this.#handlers.onBookmark?.(event.resourceVersion));
      return;
    }
    const node = event.node;
    if (node.resourceVersion) this.#resourceVersion = node.resourceVersion;
    if (event.type === "DELETED") {
      this.#nodes.delete(node.name);
      this.#call("onDelete", () => this.#handlers.onDelete(node));
    } else {
      this.#nodes.set(node.name, node);
      this.#call("onUpsert", () => this.#handlers.onUpsert(node));
    }
  }
}

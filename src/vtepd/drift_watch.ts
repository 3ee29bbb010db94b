/**
 * Repairs kernel drift as it happens instead of at the next periodic resync: it reads the
 * kernel's change notifications (links, neighbours, FDB, routes) and, when one may have undone
 * something the daemon owns, runs a repair pass. A burst of changes waits a short settle window,
 * one pass runs at a time, and changes that arrive during a pass get one more pass after it.
 * The daemon's own changes are told apart by the sender's port where
 * the kernel says it, and where it does not, the extra pass finds nothing to do and changes
 * nothing, so no notification comes back and nothing loops.
 *
 * @module
 */
import { sleep } from "../kube/backoff.ts";
import type { Logger } from "../log/log.ts";

/** Where change notifications come from (the kernel monitor, or a fake in tests). */
export interface ChangeSource<T> {
  /** The next batch; "overrun" when notifications were lost; "closed" once closed. */
  next(): Promise<T[] | "overrun" | "closed">;
  close(): void;
}

export interface DriftWatchOptions<T> {
  source: ChangeSource<T>;
  /** Why `change` calls for a repair pass, or undefined when it cannot affect the daemon. */
  relevance: (change: T) => string | undefined;
  /** One repair pass over the device and every entry. */
  repair: (reason: string) => Promise<void>;
  log: Logger;
  /** Changes within this window after the first share one pass. Default 20 ms. */
  settleMs?: number;
}

export class DriftWatch<T> {
  readonly #options: DriftWatchOptions<T>;
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;
  #passes = 0;

  constructor(options: DriftWatchOptions<T>) {
    this.#options = options;
  }

  /** Repair passes started because of kernel changes. */
  get passes(): number {
    return this.#passes;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#options.source.close();
    await this.#running;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const batch = await this.#options.source.next();
      if (batch === "closed") return;
      const reason = batch === "overrun" ? "kernel notifications were lost" : this.#reason(batch);
      if (reason === undefined) continue;
      // Let a burst (a device deleted takes its routes and neighbours with it) finish first.
      if (!await sleep(this.#options.settleMs ?? 20, signal)) return;
      this.#passes += 1;
      try {
        await this.#options.repair(reason);
      } catch (error) {
        this.#options.log.error(
          "repair after a kernel change failed; the periodic resync retries",
          {
            error,
          },
        );
      }
    }
  }

  #reason(batch: T[]): string | undefined {
    for (const change of batch) {
      const reason = this.#options.relevance(change);
      if (reason !== undefined) return reason;
    }
    return undefined;
  }
}

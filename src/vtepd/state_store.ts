/**
 * Writes the state file through: every save is started at once, writes are serialised (one at a
 * time, each taking the newest state, so an older state is never written last), a failed write
 * is retried with backoff until a newer state replaces it or it succeeds, and the store's health
 * (last error, since when) is there for `/readyz` and the log. A failing disk never blocks the
 * caller for long: `save` returns a promise the caller may bound with a deadline.
 *
 * @module
 */
import { Backoff, type BackoffOptions, sleep } from "../kube/backoff.ts";
import type { Logger } from "../log/log.ts";
import { saveState, type VtepState } from "./state.ts";

export interface StateStoreHealth {
  /** Successful writes. */
  writes: number;
  /** Failed write attempts. */
  failures: number;
  /** The error of the last attempt, while the newest state is not on disk because of it. */
  lastError?: string;
  /** When the current run of failures began. */
  failingSince?: Date;
}

export interface StateStoreOptions {
  stateDir: string;
  log: Logger;
  /** Delays between retries of a failed write. Default 100 ms doubling to 5 s. */
  retry?: BackoffOptions;
  /** The write itself (tests inject failures). Default: `saveState`. */
  write?: (stateDir: string, state: VtepState) => Promise<void>;
}

interface Waiter {
  version: number;
  resolve: () => void;
}

export class StateStore {
  readonly #stateDir: string;
  readonly #log: Logger;
  readonly #write: (stateDir: string, state: VtepState) => Promise<void>;
  readonly #backoff: Backoff;
  readonly #stop = new AbortController();
  #latest: VtepState | undefined;
  #version = 0;
  #writtenVersion = 0;
  #waiters: Waiter[] = [];
  #draining = false;
  #drained: Promise<void> = Promise.resolve();
  #health: StateStoreHealth = { writes: 0, failures: 0 };

  constructor(options: StateStoreOptions) {
    this.#stateDir = options.stateDir;
    this.#log = options.log;
    this.#write = options.write ?? saveState;
    this.#backoff = new Backoff(options.retry ?? { initialMs: 100, maxMs: 5000 });
  }

  get health(): Readonly<StateStoreHealth> {
    return { ...this.#health };
  }

  /** The newest state handed to `save`, written or not. */
  get latest(): VtepState | undefined {
    return this.#latest;
  }

  /** True while a saved state is not on disk yet. */
  get pending(): boolean {
    return this.#writtenVersion < this.#version;
  }

  /**
   * Writes `state` (or a newer one, if another save comes first). Resolves once it is on disk;
   * never rejects: failures are retried, logged and shown in `health`.
   */
  save(state: VtepState): Promise<void> {
    this.#latest = state;
    const version = ++this.#version;
    const written = new Promise<void>((resolve) => this.#waiters.push({ version, resolve }));
    if (!this.#draining) {
      this.#draining = true;
      this.#drained = this.#drain();
    }
    return written;
  }

  /** Resolves once everything saved so far is on disk (or the store is closed). */
  flush(): Promise<void> {
    if (!this.pending) return Promise.resolve();
    const version = this.#version;
    return new Promise<void>((resolve) => this.#waiters.push({ version, resolve }));
  }

  /** Stops retrying; pending saves resolve. A write under way finishes. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#drained;
    for (const waiter of this.#waiters.splice(0)) waiter.resolve();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#writtenVersion < this.#version && !this.#stop.signal.aborted) {
        const version = this.#version;
        const state = this.#latest!;
        try {
          await this.#write(this.#stateDir, state);
        } catch (error) {
          this.#failed(error);
          await sleep(this.#backoff.next(), this.#stop.signal);
          continue;
        }
        this.#succeeded(version);
      }
    } finally {
      // Cleared synchronously after the last check, so a save that comes later starts anew.
      this.#draining = false;
    }
  }

  #succeeded(version: number): void {
    this.#writtenVersion = version;
    this.#health.writes += 1;
    if (this.#health.lastError !== undefined) {
      this.#log.info("the state file is written again", { dir: this.#stateDir });
    }
    delete this.#health.lastError;
    delete this.#health.failingSince;
    this.#backoff.reset();
    const done = this.#waiters.filter((waiter) => waiter.version <= version);
    this.#waiters = this.#waiters.filter((waiter) => waiter.version > version);
    for (const waiter of done) waiter.resolve();
  }

  #failed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.#health.failures += 1;
    this.#health.failingSince ??= new Date();
    if (this.#health.lastError !== message) {
      this.#log.error(
        "cannot write the state file; retrying (a reboot now would lose the latest peers)",
        { dir: this.#stateDir, error: message },
      );
    }
    this.#health.lastError = message;
  }
}

/**
 * Capped exponential backoff with jitter, and a sleep that an AbortSignal cuts short. Jitter
 * keeps the nodes of a cluster from retrying against a recovering API server in lockstep.
 *
 * @module
 */

export interface BackoffOptions {
  /** First delay. */
  initialMs: number;
  /** Largest delay. */
  maxMs: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Spread, as a fraction of the delay: 0.2 gives ±10 %. Default 0.2. */
  jitter?: number;
  /** Source of randomness in [0, 1). Default Math.random. */
  random?: () => number;
}

export class Backoff {
  readonly #options: Required<BackoffOptions>;
  #attempts = 0;

  constructor(options: BackoffOptions) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) {
      throw new RangeError("backoff needs 0 < initialMs <= maxMs");
    }
    this.#options = { factor: 2, jitter: 0.2, random: Math.random, ...options };
  }

  /** Failures since the last reset. */
  get attempts(): number {
    return this.#attempts;
  }

  /** The delay before the next retry; each call grows it until maxMs. */
  next(): number {
    const { initialMs, maxMs, factor, jitter, random } = this.#options;
    const base = Math.min(maxMs, initialMs * factor ** this.#attempts);
    this.#attempts += 1;
    const spread = base * jitter * (random() - 0.5);
    return Math.max(0, Math.min(maxMs, Math.round(base + spread)));
  }

  /** After a success: the next delay is initialMs again. */
  reset(): void {
    this.#attempts = 0;
  }
}

/** Waits `ms`; resolves early (to false) when `signal` aborts, else to true. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (slept: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(slept);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

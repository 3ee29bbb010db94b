/**
 * Small helpers for the kube tests: waiting for a condition, a logger that keeps its lines,
 * and a client of the test server with short timeouts.
 *
 * @module
 */
import { createLogger, type Logger } from "../../src/log/log.ts";
import type { NodeApi } from "../../src/kube/api.ts";
import { createNodeApi, type KubeClientOptions } from "../../src/kube/client.ts";
import { bareUrlEndpoint } from "../../src/kube/endpoint.ts";
import { KubeConfig, kubeConfigEndpoint } from "../../src/kube/kubeconfig.ts";

export const USER_AGENT = "flanneld/keepnet-test (keepnet-vtepd)";

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => boolean,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface RecordingLogger extends Logger {
  lines: string[];
}

/** A debug-level logger whose lines are kept for assertions instead of printed. */
export function recordingLogger(): RecordingLogger {
  const lines: string[] = [];
  const logger = createLogger({
    level: "debug",
    syslogPrefix: false,
    write: (line) => lines.push(line.trimEnd()),
  });
  return Object.assign(logger, { lines });
}

/** A client of `url` (a bare URL, no credentials) with the test User-Agent. */
export function clientFor(url: string, options: Partial<KubeClientOptions> = {}): NodeApi {
  return createNodeApi(bareUrlEndpoint(url), {
    userAgent: USER_AGENT,
    requestTimeoutMs: 5000,
    ...options,
  });
}

/** A raw watch stream (Deno's fetch, not the client under test), read event by event. */
export interface RawWatch {
  status: number;
  /** The next event; rejects after `timeoutMs`, resolves undefined when the stream ended. */
  next(timeoutMs?: number): Promise<Record<string, unknown> | undefined>;
  close(): Promise<void>;
}

export async function openRawWatch(url: string, init: RequestInit = {}): Promise<RawWatch> {
  const controller = new AbortController();
  const response = await fetch(url, { ...init, signal: controller.signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let ended = false;
  return {
    status: response.status,
    async next(timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      while (true) {
        const newline = buffered.indexOf("\n");
        if (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          return JSON.parse(line);
        }
        if (ended) return undefined;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error("no watch event in time")),
            Math.max(0, deadline - Date.now()),
          );
        });
        try {
          const { done, value } = await Promise.race([reader.read(), timeout]);
          if (done) ended = true;
          else buffered += value;
        } finally {
          clearTimeout(timer);
        }
      }
    },
    async close() {
      controller.abort();
      await reader.cancel().catch(() => {});
    },
  };
}

/** A client of `url` that authenticates with a bearer token, as a kubeconfig user would. */
export function clientWithToken(url: string, token: string): NodeApi {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: "test", server: url, skipTLSVerify: true }],
    users: [{ name: "test", token }],
    contexts: [{ name: "test", cluster: "test", user: "test" }],
    currentContext: "test",
  });
  return createNodeApi(kubeConfigEndpoint(config), {
    userAgent: USER_AGENT,
    requestTimeoutMs: 5000,
  });
}

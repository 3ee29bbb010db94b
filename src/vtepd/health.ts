/**
 * `/healthz` (the process is alive), `/metrics` (Prometheus, see metrics.ts) and `/readyz` (the VXLAN device is configured and subnet.env
 * is written, so pods on this node can get a network), as flanneld serves them. The body of
 * `/readyz` lists every check, one per line, Kubernetes style (`[+]` passing, `[-]` failing),
 * and things that do not stop pods from getting a network but need an operator (`[!]`: the
 * state file cannot be written, the API is unreachable) — readiness is about the data plane.
 *
 * @module
 */

export interface Readiness {
  ready: boolean;
  /** One line per check. */
  checks: string[];
}

export interface HealthState {
  readiness(): Readiness;
  /** The Prometheus text exposition for `/metrics`. */
  metrics?(): string;
}

export interface HealthServer {
  /** The port actually bound (useful with port 0 in tests). */
  port: number;
  shutdown(): Promise<void>;
}

export function serveHealth(hostname: string, port: number, state: HealthState): HealthServer {
  const server = Deno.serve({ hostname, port, onListen: () => {} }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/healthz") return new Response("ok\n");
    if (path === "/readyz") {
      const { ready, checks } = state.readiness();
      const body = [...checks, ready ? "readyz check passed" : "readyz check failed"].join("\n");
      return new Response(`${body}\n`, { status: ready ? 200 : 503 });
    }
    if (path === "/metrics" && state.metrics) {
      return new Response(state.metrics(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    }
    return new Response("not found\n", { status: 404 });
  });
  return { port: server.addr.port, shutdown: () => server.shutdown() };
}

/**
 * `/healthz` (the process is alive) and `/readyz` (the VXLAN device is configured and subnet.env
 * is written, so pods on this node can get a network), as flanneld serves them.
 *
 * @module
 */

export interface HealthState {
  ready(): boolean;
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
      return state.ready()
        ? new Response("ok\n")
        : new Response("not ready: device or subnet.env not in place yet\n", { status: 503 });
    }
    return new Response("not found\n", { status: 404 });
  });
  return { port: server.addr.port, shutdown: () => server.shutdown() };
}

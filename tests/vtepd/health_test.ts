import assert from "node:assert/strict";
import { serveHealth } from "../../src/vtepd/health.ts";

Deno.test("health: /healthz always 200, /readyz 503 until ready", async () => {
  let ready = false;
  const server = serveHealth("127.0.0.1", 0, { ready: () => ready });
  try {
    const get = async (path: string) => {
      const response = await fetch(`http://127.0.0.1:${server.port}${path}`);
      await response.body?.cancel();
      return response.status;
    };
    assert.equal(await get("/healthz"), 200);
    assert.equal(await get("/readyz"), 503);
    ready = true;
    assert.equal(await get("/readyz"), 200);
    assert.equal(await get("/other"), 404);
  } finally {
    await server.shutdown();
  }
});

/**
 * scripts/lab_apiserver.ts as the lab runs it: a process of its own, driven over its Unix control
 * socket. Here it listens on loopback; the yurthub control ops are read as the e2e tests use them.
 */
import assert from "node:assert/strict";
import type { CacheSnapshot, NodeObject } from "./apiserver.ts";
import { flannelNode } from "./fixtures.ts";
import { callUrl } from "./raw_call.ts";

interface LabServer {
  url: string;
  control(
    request: Record<string, unknown>,
  ): Promise<{ ok: boolean; result?: unknown; error?: string }>;
}

async function withLabServer(fn: (server: LabServer) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "keepnet-lab-api-" });
  const socket = `${dir}/api.sock`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "-A",
      new URL("../../scripts/lab_apiserver.ts", import.meta.url).pathname,
      "--port",
      "0",
      "--control",
      socket,
    ],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let printed = "";
    while (!printed.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) throw new Error("lab_apiserver.ts exited before printing its URL");
      printed += value;
    }
    reader.releaseLock();
    const { url } = JSON.parse(printed.split("\n")[0]!) as { url: string };
    await fn({
      url,
      async control(request) {
        const response = await fetch("http://lab/control", {
          method: "POST",
          body: JSON.stringify(request),
          client,
        });
        return await response.json();
      },
    });
  } finally {
    client.close();
    child.kill("SIGTERM");
    await child.stdout.cancel().catch(() => {});
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

const names = (list: { items: NodeObject[] }) => list.items.map((item) => item.metadata.name);

Deno.test("lab API server: snapshot, serveSnapshot with omit, setYurthubMode and yurthubMode over the control socket", async () => {
  await withLabServer(async (lab) => {
    await lab.control({ op: "createNodes", nodes: [flannelNode("n1", 1)] });
    const taken = await lab.control({ op: "snapshot" });
    assert.ok(taken.ok);
    const snapshot = taken.result as CacheSnapshot;
    assert.deepEqual(snapshot.nodes.map((node) => node.metadata.name), ["n1"]);
    await lab.control({ op: "createNode", node: flannelNode("n2", 2) });
    const later = (await lab.control({ op: "snapshot" })).result as CacheSnapshot;

    assert.deepEqual(await lab.control({ op: "serveSnapshot", snapshot: later, omit: ["n2"] }), {
      ok: true,
      result: null,
    });
    assert.equal((await lab.control({ op: "yurthubMode" })).result, "snapshot");
    const stale = await callUrl(lab.url, "GET", "/api/v1/nodes");
    assert.deepEqual(names(stale.json), ["n1"]);
    assert.equal(stale.json.metadata.resourceVersion, snapshot.resourceVersion);
    assert.equal((await callUrl(lab.url, "GET", "/api/v1/nodes/n2")).status, 404);

    await lab.control({ op: "setYurthubMode", setting: { mode: "uncached" } });
    const uncached = await callUrl(lab.url, "GET", "/api/v1/nodes");
    assert.equal(uncached.status, 404);
    assert.equal(uncached.json.message, 'nodes "" not found');

    await lab.control({ op: "setYurthubMode", setting: { mode: "online" } });
    assert.deepEqual(names((await callUrl(lab.url, "GET", "/api/v1/nodes")).json), ["n1", "n2"]);
  });
});

Deno.test("lab API server: bad control requests get a clear error and change nothing", async () => {
  await withLabServer(async (lab) => {
    await lab.control({ op: "createNode", node: flannelNode("n1", 1) });
    const snapshot = (await lab.control({ op: "snapshot" })).result as CacheSnapshot;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ op: "serveSnapshot", snapshot, omit: ["n9"] }, /the snapshot has no node n9/],
      [{ op: "serveSnapshot", snapshot, omit: "n1" }, /omit must be a list of node names/],
      [{ op: "serveSnapshot", snapshot: { nodes: [] } }, /resourceVersion must be a decimal/],
      [{ op: "setYurthubMode", setting: { mode: "asleep" } }, /unknown yurthub mode/],
      [{ op: "setYurthubMode" }, /a yurthub setting is an object/],
      [{ op: "nap" }, /unknown op "nap"/],
    ];
    for (const [request, error] of cases) {
      const answer = await lab.control(request);
      assert.equal(answer.ok, false, JSON.stringify(request));
      assert.match(answer.error!, error);
    }
    assert.equal((await lab.control({ op: "yurthubMode" })).result, "online");
  });
});

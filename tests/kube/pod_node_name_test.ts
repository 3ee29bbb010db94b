/**
 * flanneld's POD_NAME / POD_NAMESPACE node-name lookup: first the test API server's minimal Pod
 * resource (spoken to with Deno's own fetch), then the client's `getPodNodeName` and the retried
 * `lookupPodNodeName` against it, online, with RBAC, unreachable and behind a yurthub.
 */
import assert from "node:assert/strict";
import { loadAllYaml } from "@kubernetes/client-node/dist/yaml.js";
import type { NodeApi } from "../../src/kube/api.ts";
import { createNodeApi } from "../../src/kube/client.ts";
import { KubeConfig, kubeConfigEndpoint } from "../../src/kube/kubeconfig.ts";
import { lookupPodNodeName, type PodRef } from "../../src/kube/pod_node_name.ts";
import { type ApiServerOptions, FLANNEL_RULES, TestApiServer } from "./apiserver.ts";
import { FakeNodeApi } from "../helpers/fake_node_api.ts";
import { clientFor, recordingLogger, USER_AGENT, waitFor } from "./helpers.ts";
import { call, withServer } from "./raw_call.ts";

const POD: PodRef = { namespace: "kube-flannel", name: "kube-flannel-ds-x7k2p" };
const POD_PATH = `/api/v1/namespaces/${POD.namespace}/pods/${POD.name}`;
const FAST = { initialMs: 20, maxMs: 50 };

function createPod(server: TestApiServer, nodeName?: string): void {
  server.createPod({
    metadata: { name: POD.name, namespace: POD.namespace },
    spec: nodeName === undefined ? {} : { nodeName },
  });
}

Deno.test("test server: GET of a pod answers it; a missing one is 404 pods; other methods 405", async () => {
  await withServer(async (server) => {
    const before = Number(server.resourceVersion);
    createPod(server, "edge-1");
    assert.equal(Number(server.resourceVersion), before + 1);
    const found = await call(server, "GET", POD_PATH);
    assert.equal(found.status, 200);
    assert.equal(found.json.kind, "Pod");
    assert.equal(found.json.spec.nodeName, "edge-1");
    assert.equal(found.json.metadata.resourceVersion, String(before + 1));
    const missing = await call(server, "GET", `/api/v1/namespaces/${POD.namespace}/pods/ghost`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json.message, 'pods "ghost" not found');
    assert.deepEqual(missing.json.details, { name: "ghost", kind: "pods" });
    assert.equal((await call(server, "DELETE", POD_PATH)).status, 405);
    server.deletePod(POD.namespace, POD.name);
    assert.equal((await call(server, "GET", POD_PATH)).status, 404);
  });
});

Deno.test("test server: pods need RBAC get on pods, denied in the namespaced wording", async () => {
  const accounts: ApiServerOptions["accounts"] = {
    nodes: { user: "system:serviceaccount:kube-system:keepnet-vtepd", rules: FLANNEL_RULES },
    pods: {
      user: "pod-reader",
      rules: [...FLANNEL_RULES, { verbs: ["get"], resources: ["pods"] }],
    },
  };
  await withServer(async (server) => {
    createPod(server, "edge-1");
    assert.equal((await call(server, "GET", POD_PATH)).status, 401);
    const denied = await call(server, "GET", POD_PATH, { token: "nodes" });
    assert.equal(denied.status, 403);
    assert.equal(
      denied.json.message,
      'pods "kube-flannel-ds-x7k2p" is forbidden: User "system:serviceaccount:kube-system:keepnet-vtepd" cannot get resource "pods" in API group "" in the namespace "kube-flannel"',
    );
    assert.equal((await call(server, "GET", POD_PATH, { token: "pods" })).status, 200);
  }, { accounts });
});

Deno.test("test server: behind a yurthub, pods come from the cache of cached agents only", async () => {
  await withServer(async (server) => {
    createPod(server, "edge-1");
    const old = server.snapshot();
    server.setYurthubMode({ mode: "cached" });
    server.deletePod(POD.namespace, POD.name);
    assert.equal((await call(server, "GET", POD_PATH)).json.spec.nodeName, "edge-1");
    const stranger = await call(server, "GET", POD_PATH, { userAgent: "curl/8" });
    assert.equal(stranger.status, 400);
    assert.equal(stranger.json.message, `can not cache for curl/8 get pods: ${POD_PATH}`);
    server.setYurthubMode({ mode: "uncached" });
    assert.equal((await call(server, "GET", POD_PATH)).status, 404);
    server.serveSnapshot(old);
    assert.equal((await call(server, "GET", POD_PATH)).status, 200);
    server.serveSnapshot({ resourceVersion: old.resourceVersion, nodes: old.nodes });
    assert.equal((await call(server, "GET", POD_PATH)).status, 404);
  });
});

Deno.test("POD_NAME lookup: the pod's spec.nodeName, with our User-Agent, in one GET", async () => {
  await withServer(async (server) => {
    createPod(server, "edge-1");
    const log = recordingLogger();
    const nodeName = await lookupPodNodeName(clientFor(server.url), POD, { log, backoff: FAST });
    assert.equal(nodeName, "edge-1");
    const gets = server.requests.filter((request) => request.path === POD_PATH);
    assert.equal(gets.length, 1);
    assert.match(gets[0]!.userAgent!, /^flanneld\//);
    assert.ok(log.lines.some((line) => /^INFO node name from the pod .*node=edge-1/.test(line)));
  });
});

Deno.test("POD_NAME lookup: unlike flanneld, waits for the pod, RBAC and an unbound pod, saying what for", async () => {
  const accounts: ApiServerOptions["accounts"] = {
    token: { user: "keepnet", rules: FLANNEL_RULES },
  };
  await withServer(async (server) => {
    const log = recordingLogger();
    const api = clientWithToken(server.url, "token");
    const pending = lookupPodNodeName(api, POD, { log, backoff: FAST });
    const said = (what: RegExp) => log.lines.some((line) => what.test(line));
    await waitFor(
      "a 403 logged",
      () => said(/permission to get pod kube-flannel\/kube-flannel-ds-x7k2p.*rbac-pod-name\.yaml/),
    );
    server.setAccount("token", {
      user: "keepnet",
      rules: [...FLANNEL_RULES, { verbs: ["get"], resources: ["pods"] }],
    });
    await waitFor("a 404 logged", () => said(/to be known to the API server.*check POD_NAME/));
    createPod(server);
    await waitFor("an unbound pod logged", () => said(/to be bound to a node/));
    server.deletePod(POD.namespace, POD.name);
    createPod(server, "edge-2");
    assert.equal(await pending, "edge-2");
    assert.ok(log.lines.every((line) => !/^ERROR/.test(line)));
  }, { accounts });
});

Deno.test("POD_NAME lookup: an API that does not answer is waited for; an offline yurthub answers from its cache", async () => {
  const server = await TestApiServer.start();
  try {
    createPod(server, "edge-3");
    await server.stop();
    const log = recordingLogger();
    const pending = lookupPodNodeName(clientFor(server.url), POD, { log, backoff: FAST });
    await waitFor(
      "unreachable logged",
      () => log.lines.some((line) => /the API server \(or yurthub\) to answer/.test(line)),
    );
    server.setYurthubMode({ mode: "cached" });
    await server.start();
    assert.equal(await pending, "edge-3");
    assert.ok(server.requests.some((request) => request.path === POD_PATH && request.offline));
  } finally {
    await server.stop();
  }
});

Deno.test("POD_NAME lookup: stopping ends the wait at once with no name", async () => {
  await withServer(async (server) => {
    const stop = new AbortController();
    const log = recordingLogger();
    const pending = lookupPodNodeName(clientFor(server.url), POD, {
      log,
      signal: stop.signal,
      backoff: { initialMs: 60_000, maxMs: 60_000 },
    });
    await waitFor("the first attempt", () => log.lines.length > 0);
    const started = Date.now();
    stop.abort();
    assert.equal(await pending, undefined);
    assert.ok(Date.now() - started < 1000);
  });
});

/** A client of the test server that sends a bearer token, as a ServiceAccount's would. */
function clientWithToken(url: string, token: string): NodeApi {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: "test", server: url, skipTLSVerify: true }],
    users: [{ name: "daemon", token }],
    contexts: [{ name: "test", cluster: "test", user: "daemon" }],
    currentContext: "test",
  });
  return createNodeApi(kubeConfigEndpoint(config), {
    userAgent: USER_AGENT,
    requestTimeoutMs: 5000,
  });
}

Deno.test("POD_NAME lookup: the daemon tests' in-memory API answers it the same way", async () => {
  const api = new FakeNodeApi();
  api.reads = { kind: "not-cached" };
  api.putPod(POD.namespace, POD.name, "edge-4");
  const log = recordingLogger();
  const pending = lookupPodNodeName(api, POD, { log, backoff: FAST });
  await waitFor("a 404 logged", () => log.lines.some((line) => /to be known/.test(line)));
  api.reads = { kind: "live" };
  assert.equal(await pending, "edge-4");
  assert.ok(
    api.requests.filter((request) => request === `get pod ${POD.namespace}/${POD.name}`).length >=
      2,
  );
});

interface RbacRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

// deno-lint-ignore no-explicit-any
function manifest(path: string): any[] {
  const text = Deno.readTextFileSync(new URL(`../../dist/kubernetes/${path}`, import.meta.url));
  // client-node reads into its model classes; compare plain objects.
  return JSON.parse(JSON.stringify(loadAllYaml(text)));
}

Deno.test("RBAC: rbac.yaml alone cannot read pods; rbac-pod-name.yaml adds get on pods in the daemon's namespace only", async () => {
  const base = manifest("rbac.yaml");
  const extra = manifest("rbac-pod-name.yaml");
  const account = base.find((document) => document.kind === "ServiceAccount");
  const role = extra.find((document) => document.kind === "Role");
  const binding = extra.find((document) => document.kind === "RoleBinding");
  assert.deepEqual(extra.map((document) => document.kind), ["Role", "RoleBinding"]);
  assert.deepEqual(role.rules, [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }]);
  assert.equal(binding.roleRef.name, role.metadata.name);
  assert.deepEqual(binding.subjects, [
    { kind: "ServiceAccount", name: account.metadata.name, namespace: account.metadata.namespace },
  ]);
  assert.equal(role.metadata.namespace, account.metadata.namespace);
  assert.ok(
    !base.some((document) =>
      (document.rules ?? []).some((rule: RbacRule) => rule.resources.includes("pods"))
    ),
    "rbac.yaml stays without pods",
  );

  // The rules as the test server enforces them: the lookup needs the extra Role.
  const rulesOf = (documents: typeof base) =>
    documents.flatMap((document) => document.rules ?? []).map((rule: RbacRule) => ({
      verbs: rule.verbs as ("get" | "list" | "watch" | "patch")[],
      resources: rule.resources,
    }));
  const pod = { namespace: account.metadata.namespace, name: "keepnet-vtepd-abcde" };
  await withServer(async (server) => {
    server.createPod({ metadata: pod, spec: { nodeName: "edge-5" } });
    const log = recordingLogger();
    const stop = new AbortController();
    const without = lookupPodNodeName(clientWithToken(server.url, "base"), pod, {
      log,
      backoff: FAST,
      signal: stop.signal,
    });
    await waitFor("403", () => log.lines.some((line) => /permission to get pod/.test(line)));
    stop.abort();
    assert.equal(await without, undefined);
    const found = await lookupPodNodeName(clientWithToken(server.url, "both"), pod, {
      log,
      backoff: FAST,
    });
    assert.equal(found, "edge-5");
  }, {
    accounts: {
      base: { user: "keepnet-vtepd", rules: rulesOf(base) },
      both: { user: "keepnet-vtepd", rules: [...rulesOf(base), ...rulesOf(extra)] },
    },
  });
});

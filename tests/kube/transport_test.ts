/**
 * The two transports: which one serves which configuration, and that both speak HTTP and TLS
 * (with the cluster's CA, and refusing a server the CA did not sign) to the test API server.
 */
import assert from "node:assert/strict";
import { ApiUnreachableError, type NodeApi } from "../../src/kube/api.ts";
import { createNodeApi } from "../../src/kube/client.ts";
import {
  createTransport,
  denoCanServe,
  KubeConfig,
  kubeConfigEndpoint,
} from "../../src/kube/kubeconfig.ts";
import type { TransportChoice } from "../../src/kube/transport.ts";
import { TestApiServer } from "./apiserver.ts";
import { flannelNode } from "./fixtures.ts";
import { USER_AGENT, waitFor } from "./helpers.ts";
import { makeCertificates } from "./tls.ts";

function configFor(
  server: string,
  cluster: Record<string, unknown> = {},
  user: Record<string, unknown> = {},
): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: "c", server, skipTLSVerify: false, ...cluster }],
    users: [{ name: "u", ...user }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return config;
}

Deno.test("transport: Deno's fetch unless the configuration needs client-node's", () => {
  const cases: [KubeConfig, boolean][] = [
    [configFor("http://127.0.0.1:10261", { skipTLSVerify: true }), true],
    [configFor("https://10.0.0.1:6443", { caData: "Zm9v" }), true],
    [configFor("https://10.0.0.1:6443", { skipTLSVerify: true }), false],
    [configFor("https://10.0.0.1:6443", { tlsServerName: "kubernetes" }), false],
    [configFor("https://10.0.0.1:6443", { proxyUrl: "http://proxy:3128" }), false],
  ];
  for (const [config, deno] of cases) {
    const cluster = JSON.stringify(config.getCurrentCluster());
    assert.equal(denoCanServe(config), deno, cluster);
    assert.equal(createTransport(config).kind, deno ? "deno" : "client-node", cluster);
    assert.equal(createTransport(config, "client-node").kind, "client-node");
  }
  assert.throws(
    () => createTransport(configFor("https://10.0.0.1:6443", { skipTLSVerify: true }), "deno"),
    /cannot use this cluster configuration/,
  );
});

for (const transport of ["deno", "client-node"] as TransportChoice[]) {
  Deno.test(`transport ${transport}: GET, LIST, PATCH and WATCH over plain HTTP`, async () => {
    const server = await TestApiServer.start();
    try {
      server.createNode(flannelNode("n1", 1));
      const api = createNodeApi(
        kubeConfigEndpoint(configFor(server.url, { skipTLSVerify: true }), transport),
        {
          userAgent: USER_AGENT,
        },
      );
      assert.equal(api.transport, transport);
      assert.equal((await api.getNode("n1")).name, "n1");
      const list = await api.listNodes();
      await api.patchNodeStatus("n1", { metadata: { annotations: { t: transport } } }, "merge");
      const seen: string[] = [];
      const controller = new AbortController();
      const watching = api.watchNodes({
        resourceVersion: list.resourceVersion,
        signal: controller.signal,
        onEvent: (event) => seen.push(event.type),
      });
      await waitFor("the event", () => seen.length === 1);
      controller.abort();
      assert.equal(await watching, "aborted");
      assert.deepEqual(seen, ["MODIFIED"], "the patch, seen by the watch");
      assert.ok(server.requests.every((request) => request.userAgent === USER_AGENT));
    } finally {
      await server.stop();
    }
  });
}

Deno.test("transports over TLS: the cluster CA is trusted, another CA is not", async () => {
  const certificates = await makeCertificates();
  const server = await TestApiServer.start({
    tls: { cert: certificates.serverCert, key: certificates.serverKey },
    accounts: { tok: { user: "u", rules: [{ verbs: ["get"], resources: ["nodes"] }] } },
  });
  try {
    server.createNode(flannelNode("n1", 1));
    assert.match(server.url, /^https:/);
    const clientOf = (caCert: string, transport: TransportChoice): NodeApi =>
      createNodeApi(
        kubeConfigEndpoint(
          configFor(server.url, { caData: btoa(caCert) }, { token: "tok" }),
          transport,
        ),
        { userAgent: USER_AGENT, requestTimeoutMs: 5000 },
      );
    for (const transport of ["deno", "client-node"] as TransportChoice[]) {
      const node = await clientOf(certificates.caCert, transport).getNode("n1");
      assert.equal(node.name, "n1", transport);
      const refused = await clientOf(certificates.otherCaCert, transport).getNode("n1").catch((
        error,
      ) => error);
      assert.ok(refused instanceof ApiUnreachableError, `${transport}: ${refused}`);
    }
    assert.ok(server.requests.every((request) => request.authorization === "Bearer tok"));
    // insecure-skip-tls-verify works, through client-node.
    const insecure = createNodeApi(
      kubeConfigEndpoint(configFor(server.url, { skipTLSVerify: true }, { token: "tok" })),
      { userAgent: USER_AGENT },
    );
    assert.equal(insecure.transport, "client-node");
    assert.equal((await insecure.getNode("n1")).name, "n1");
  } finally {
    await server.stop();
  }
});

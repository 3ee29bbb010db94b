/**
 * Loading the API access configuration, and that its credentials reach the server.
 */
import assert from "node:assert/strict";
import { ApiUnreachableError, hasStatus } from "../../src/kube/api.ts";
import { createNodeApi } from "../../src/kube/client.ts";
import { KubeConfigError, loadApiEndpoint } from "../../src/kube/config.ts";
import { loadKubeConfig } from "../../src/kube/kubeconfig.ts";
import { TestApiServer } from "./apiserver.ts";
import { bareNode } from "./fixtures.ts";
import { USER_AGENT } from "./helpers.ts";
import { makeCertificates } from "./tls.ts";

function kubeconfigYaml(server: string, token: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: edge",
    "  cluster:",
    `    server: ${server}`,
    "users:",
    "- name: flannel",
    "  user:",
    `    token: ${token}`,
    "contexts:",
    "- name: edge",
    "  context:",
    "    cluster: edge",
    "    user: flannel",
    "current-context: edge",
    "",
  ].join("\n");
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "keepnet-kube-config-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("config: a bare URL is served by Deno's fetch without credentials, plain HTTP included", async () => {
  const server = await TestApiServer.start();
  try {
    server.createNode(bareNode("n1", "10.244.1.0/24"));
    const endpoint = await loadApiEndpoint({ apiUrl: `${server.url}/` });
    assert.equal(endpoint.server, server.url, "without the trailing slash");
    assert.equal(endpoint.transport.kind, "deno");
    const api = createNodeApi(endpoint, { userAgent: USER_AGENT });
    assert.equal((await api.getNode("n1")).name, "n1");
    assert.ok(!server.requests[0]!.authorization, "no credentials sent");
  } finally {
    await server.stop();
  }
});

Deno.test("config: a bare https URL is verified, never trusted blindly", async () => {
  const certificates = await makeCertificates();
  const server = await TestApiServer.start({
    tls: { cert: certificates.serverCert, key: certificates.serverKey },
  });
  try {
    const api = createNodeApi(await loadApiEndpoint({ apiUrl: server.url }), {
      userAgent: USER_AGENT,
      requestTimeoutMs: 5000,
    });
    const refused = await api.getNode("n1").catch((error) => error);
    assert.ok(refused instanceof ApiUnreachableError, String(refused));
  } finally {
    await server.stop();
  }
});

Deno.test("config: URLs that cannot work are refused with a clear error", async () => {
  for (const url of ["127.0.0.1:10261", "ftp://host/", "not a url"]) {
    await assert.rejects(() => loadApiEndpoint({ apiUrl: url }), KubeConfigError, url);
    await assert.rejects(
      () => loadApiEndpoint({ apiUrl: url, kubeconfigFile: "/nonexistent" }),
      KubeConfigError,
      url,
    );
  }
});

Deno.test("config: a kubeconfig file's token reaches the server; RBAC denials are typed", async () => {
  const server = await TestApiServer.start({
    accounts: {
      "s3cret": {
        user: "system:serviceaccount:kube-flannel:flannel",
        rules: [{ verbs: ["get", "list", "watch"], resources: ["nodes"] }],
      },
    },
  });
  try {
    server.createNode(bareNode("n1", "10.244.1.0/24"));
    await withTempDir(async (dir) => {
      const path = `${dir}/kubeconfig`;
      await Deno.writeTextFile(path, kubeconfigYaml(server.url, "s3cret"));
      const api = createNodeApi(await loadApiEndpoint({ kubeconfigFile: path }), {
        userAgent: USER_AGENT,
      });
      assert.equal((await api.getNode("n1")).name, "n1");
      assert.equal(server.requests[0]!.authorization, "Bearer s3cret");
      assert.equal(server.requests[0]!.userAgent, USER_AGENT, "our User-Agent wins");

      const denied = await api.patchNodeStatus("n1", { metadata: {} }, "strategic").catch((e) => e);
      assert.ok(hasStatus(denied, 403), String(denied));
      assert.equal(denied.reason, "Forbidden");
      assert.match(denied.message, /cannot patch resource "nodes\/status"/);

      server.setAccount("s3cret", {
        user: "flannel",
        rules: [{ verbs: ["patch"], resources: ["nodes/status"] }],
      });
      const patched = await api.patchNodeStatus(
        "n1",
        { metadata: { annotations: { a: "1" } } },
        "strategic",
      );
      assert.equal(patched.annotations.a, "1");
    });
  } finally {
    await server.stop();
  }
});

Deno.test("config: --kube-api-url replaces the kubeconfig's server and keeps its credentials", async () => {
  const server = await TestApiServer.start();
  try {
    server.createNode(bareNode("n1", "10.244.1.0/24"));
    await withTempDir(async (dir) => {
      const path = `${dir}/kubeconfig`;
      await Deno.writeTextFile(path, kubeconfigYaml("https://192.0.2.1:6443", "tok"));
      const endpoint = await loadApiEndpoint({ kubeconfigFile: path, apiUrl: server.url });
      assert.equal(endpoint.server, server.url);
      const api = createNodeApi(endpoint, { userAgent: USER_AGENT });
      assert.equal((await api.getNode("n1")).name, "n1");
      assert.equal(server.requests[0]!.authorization, "Bearer tok");
    });
  } finally {
    await server.stop();
  }
});

Deno.test("config: a missing or broken kubeconfig is a clear error naming the file", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      () => loadApiEndpoint({ kubeconfigFile: `${dir}/missing` }),
      (error: unknown) =>
        error instanceof KubeConfigError && error.message.includes(`${dir}/missing`),
    );
    await Deno.writeTextFile(`${dir}/broken`, "clusters: [unclosed\n");
    await assert.rejects(
      () => loadApiEndpoint({ kubeconfigFile: `${dir}/broken` }),
      KubeConfigError,
    );
    await Deno.writeTextFile(`${dir}/empty`, "apiVersion: v1\nkind: Config\n");
    await assert.rejects(
      () => loadApiEndpoint({ kubeconfigFile: `${dir}/empty` }),
      /no current context with a cluster/,
    );
  });
});

Deno.test("config: with neither flag, the in-cluster service account", async () => {
  const saved = ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"].map((name) =>
    [name, Deno.env.get(name)] as const
  );
  const restore = () => {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  };
  try {
    Deno.env.delete("KUBERNETES_SERVICE_HOST");
    await assert.rejects(() => loadApiEndpoint({}), /not in a pod/);
    Deno.env.set("KUBERNETES_SERVICE_HOST", "10.96.0.1");
    Deno.env.set("KUBERNETES_SERVICE_PORT", "443");
    assert.equal((await loadApiEndpoint({})).server, "https://10.96.0.1:443");
    const config = loadKubeConfig({});
    const cluster = config.getCurrentCluster();
    assert.equal(cluster?.server, "https://10.96.0.1:443");
    assert.equal(cluster?.caFile, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
    assert.equal(
      config.getCurrentUser()?.authProvider?.config?.tokenFile,
      "/var/run/secrets/kubernetes.io/serviceaccount/token",
    );
  } finally {
    restore();
  }
});

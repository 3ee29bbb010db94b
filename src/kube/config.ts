/**
 * Where the API server is and how to authenticate to it, the way flanneld's
 * `clientcmd.BuildConfigFromFlags(--kube-api-url, --kubeconfig-file)` decides: a kubeconfig file
 * (its current context), with the server replaced by `--kube-api-url` when both are given; a
 * bare URL without credentials (e.g. a local yurthub at `http://127.0.0.1:10261`); or, with
 * neither, the in-cluster service account.
 *
 * @module
 */
import { KubeConfig } from "@kubernetes/client-node/dist/config.js";
import type { Cluster } from "@kubernetes/client-node/dist/config_types.js";

export { KubeConfig };

export interface KubeConfigSource {
  kubeconfigFile?: string;
  apiUrl?: string;
}

/** A configuration that cannot work, with a message for the operator. */
export class KubeConfigError extends Error {
  override name = "KubeConfigError";
}

function checkedUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new KubeConfigError(`API server URL ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new KubeConfigError(`API server URL ${JSON.stringify(text)} is not http:// or https://`);
  }
  return text.replace(/\/+$/, "");
}

// client-node refuses plain-HTTP servers unless skipTLSVerify is set, although there is no TLS
// to verify; a yurthub proxy is plain HTTP, so mark such clusters accordingly.
function allowPlainHttp(cluster: Cluster): Cluster {
  return cluster.server.startsWith("http:") ? { ...cluster, skipTLSVerify: true } : cluster;
}

function replaceClusters(config: KubeConfig, change: (cluster: Cluster) => Cluster): void {
  const current = config.getCurrentCluster();
  config.loadFromOptions({
    clusters: config.getClusters().map((cluster) =>
      cluster.name === current?.name ? change(cluster) : cluster
    ),
    contexts: config.getContexts(),
    users: config.getUsers(),
    currentContext: config.getCurrentContext(),
  });
}

function fromFile(path: string): KubeConfig {
  const config = new KubeConfig();
  try {
    config.loadFromFile(path);
  } catch (error) {
    throw new KubeConfigError(`cannot load kubeconfig ${path}: ${(error as Error).message}`);
  }
  if (!config.getCurrentCluster()) {
    throw new KubeConfigError(`kubeconfig ${path} has no current context with a cluster`);
  }
  return config;
}

function fromUrl(server: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [allowPlainHttp({ name: "keepnet", server, skipTLSVerify: false })],
    users: [{ name: "keepnet" }],
    contexts: [{ name: "keepnet", cluster: "keepnet", user: "keepnet" }],
    currentContext: "keepnet",
  });
  return config;
}

function inCluster(): KubeConfig {
  if (!Deno.env.get("KUBERNETES_SERVICE_HOST") || !Deno.env.get("KUBERNETES_SERVICE_PORT")) {
    throw new KubeConfigError(
      "no --kubeconfig-file or --kube-api-url given, and not in a pod " +
        "(KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset)",
    );
  }
  const config = new KubeConfig();
  config.loadFromCluster();
  replaceClusters(config, allowPlainHttp);
  return config;
}

/** Builds the API access configuration; throws KubeConfigError when it cannot work. */
export function loadKubeConfig(source: KubeConfigSource): KubeConfig {
  const url = source.apiUrl === undefined ? undefined : checkedUrl(source.apiUrl);
  if (source.kubeconfigFile !== undefined) {
    const config = fromFile(source.kubeconfigFile);
    replaceClusters(
      config,
      (cluster) => allowPlainHttp(url ? { ...cluster, server: url } : cluster),
    );
    return config;
  }
  if (url !== undefined) return fromUrl(url);
  return inCluster();
}

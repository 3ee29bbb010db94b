/**
 * The API endpoint of a kubeconfig file or of the in-cluster service account, read by
 * `@kubernetes/client-node`'s KubeConfig, which then authenticates each request (bearer token,
 * token file, exec plugin, basic auth, impersonation; CA, client certificate). Only this module
 * imports the package's runtime code, and config.ts loads it only when needed.
 *
 * Two HTTP stacks can send the requests:
 * - "client-node": the package's own `IsomorphicFetchHttpLibrary` (undici), which can express
 *   everything a kubeconfig can, proxies, `insecure-skip-tls-verify` and `tls-server-name`
 *   included;
 * - "deno": Deno's built-in fetch (transport.ts), fed with what KubeConfig's
 *   `applyToHTTPSOptions` fills in. It cannot skip TLS verification or override the server
 *   name, but costs the daemon far less memory than undici under Node compatibility.
 * "auto" picks "deno" whenever it can express the configuration, "client-node" otherwise.
 *
 * @module
 */
import { KubeConfig } from "@kubernetes/client-node/dist/config.js";
import type { Cluster } from "@kubernetes/client-node/dist/config_types.js";
import {
  type HttpMethod as ClientNodeMethod,
  IsomorphicFetchHttpLibrary,
  RequestContext,
} from "@kubernetes/client-node/dist/gen/http/http.js";
import { type ApiEndpoint, KubeConfigError } from "./endpoint.ts";
import {
  denoFetchTransport,
  type HttpAnswer,
  type HttpRequest,
  type HttpsOptions,
  type Transport,
  type TransportChoice,
} from "./transport.ts";

export { KubeConfig };

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

/**
 * The kubeconfig file (its server replaced by `apiUrl`, an already checked URL, when given),
 * or the in-cluster service account when no file is given. Throws KubeConfigError.
 */
export function loadKubeConfig(source: { kubeconfigFile?: string; apiUrl?: string }): KubeConfig {
  if (source.kubeconfigFile === undefined) return inCluster();
  const config = fromFile(source.kubeconfigFile);
  const url = source.apiUrl;
  replaceClusters(config, (cluster) => allowPlainHttp(url ? { ...cluster, server: url } : cluster));
  return config;
}

class ClientNodeTransport implements Transport {
  readonly kind = "client-node";
  readonly #config: KubeConfig;
  readonly #http = new IsomorphicFetchHttpLibrary();

  constructor(config: KubeConfig) {
    this.#config = config;
  }

  async send(request: HttpRequest): Promise<HttpAnswer> {
    // client-node's HttpMethod enum has the methods' names as values.
    const context = new RequestContext(request.url, request.method as ClientNodeMethod);
    await this.#config.applySecurityAuthentication(context);
    for (const [name, value] of Object.entries(request.headers)) {
      context.setHeaderParam(name, value);
    }
    if (request.body !== undefined) context.setBody(request.body);
    context.setSignal(request.signal);
    const response = await this.#http.send(context).toPromise();
    return {
      status: response.httpStatusCode,
      text: () => response.body.text(),
      stream: () => response.body.stream() as ReadableStream<Uint8Array> | null,
    };
  }
}

/** Whether Deno's fetch can do what the current cluster entry asks for. */
export function denoCanServe(config: KubeConfig): boolean {
  const cluster = config.getCurrentCluster();
  if (!cluster || cluster.proxyUrl || cluster.tlsServerName) return false;
  return !(cluster.server.startsWith("https:") && cluster.skipTLSVerify);
}

/** The transport for `config`; throws when "deno" is demanded but cannot serve it. */
export function createTransport(config: KubeConfig, choice: TransportChoice = "auto"): Transport {
  const deno = denoCanServe(config);
  if (choice === "deno" && !deno) {
    throw new Error(
      "Deno's fetch cannot use this cluster configuration (proxy, tls-server-name or " +
        "insecure-skip-tls-verify); use the client-node transport",
    );
  }
  if (choice === "client-node" || !deno) return new ClientNodeTransport(config);
  return denoFetchTransport(async () => {
    const options: HttpsOptions = {};
    // Typed for node's https options; only the fields of HttpsOptions are read back.
    await config.applyToHTTPSOptions(options as Parameters<KubeConfig["applyToHTTPSOptions"]>[0]);
    return options;
  });
}

/** The endpoint of `config`'s current cluster. */
export function kubeConfigEndpoint(
  config: KubeConfig,
  choice: TransportChoice = "auto",
): ApiEndpoint {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new KubeConfigError("the Kubernetes configuration has no current cluster");
  return { server: cluster.server.replace(/\/+$/, ""), transport: createTransport(config, choice) };
}

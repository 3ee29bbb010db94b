/**
 * How requests to the API server travel. `@kubernetes/client-node`'s KubeConfig decides what
 * each request carries (bearer token, token file, exec plugin, basic auth, impersonation; CA,
 * client certificate); one of two HTTP stacks sends it:
 *
 * - "client-node": the package's own `IsomorphicFetchHttpLibrary` (undici), which can express
 *   everything a kubeconfig can, proxies, `insecure-skip-tls-verify` and `tls-server-name`
 *   included;
 * - "deno": Deno's built-in fetch, with a `Deno.HttpClient` holding the CA and the client
 *   certificate. It cannot skip TLS verification or override the server name, but it costs
 *   the daemon far less memory than undici running under Node compatibility (about 10 MiB less
 *   RSS with 1000 nodes; see tests/kube/memory/).
 *
 * "auto" picks "deno" whenever it can express the configuration, "client-node" otherwise.
 *
 * @module
 */
import type { KubeConfig } from "@kubernetes/client-node/dist/config.js";
import {
  type HttpMethod,
  IsomorphicFetchHttpLibrary,
  RequestContext,
} from "@kubernetes/client-node/dist/gen/http/http.js";

export type TransportChoice = "auto" | "deno" | "client-node";

export interface HttpRequest {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

export interface HttpAnswer {
  status: number;
  text(): Promise<string>;
  stream(): ReadableStream<Uint8Array> | null;
}

/** Sends a request; rejects only when there is no answer (refused, reset, aborted…). */
export interface Transport {
  readonly kind: "deno" | "client-node";
  send(request: HttpRequest): Promise<HttpAnswer>;
}

class ClientNodeTransport implements Transport {
  readonly kind = "client-node";
  readonly #config: KubeConfig;
  readonly #http = new IsomorphicFetchHttpLibrary();

  constructor(config: KubeConfig) {
    this.#config = config;
  }

  async send(request: HttpRequest): Promise<HttpAnswer> {
    const context = new RequestContext(request.url, request.method);
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

/** What KubeConfig's applyToHTTPSOptions fills in. */
interface HttpsOptions {
  headers?: Record<string, string | number | string[]>;
  auth?: string;
  ca?: Uint8Array | string;
  cert?: Uint8Array | string;
  key?: Uint8Array | string;
  rejectUnauthorized?: boolean;
  servername?: string;
}

const decoder = new TextDecoder();

function pem(material: Uint8Array | string | undefined): string | undefined {
  if (material === undefined) return undefined;
  return typeof material === "string" ? material : decoder.decode(material);
}

class DenoFetchTransport implements Transport {
  readonly kind = "deno";
  readonly #config: KubeConfig;
  #client: Deno.HttpClient | undefined;
  #clientKey = "";

  constructor(config: KubeConfig) {
    this.#config = config;
  }

  /** The HTTP client for this TLS material; a new one only when it changed (rotated certs). */
  #clientFor(options: HttpsOptions): Deno.HttpClient | undefined {
    const ca = pem(options.ca);
    const cert = pem(options.cert);
    const key = pem(options.key);
    const materialKey = JSON.stringify([ca, cert, key]);
    if (materialKey === this.#clientKey) return this.#client;
    this.#client?.close();
    this.#clientKey = materialKey;
    this.#client = undefined;
    if (ca === undefined && cert === undefined) return undefined;
    const caCerts = ca === undefined ? undefined : [ca];
    this.#client = cert !== undefined && key !== undefined
      ? Deno.createHttpClient({ caCerts, cert, key })
      : Deno.createHttpClient({ caCerts });
    return this.#client;
  }

  async send(request: HttpRequest): Promise<HttpAnswer> {
    const options: HttpsOptions = {};
    // Typed for node's https options; only the fields above are read back.
    await this.#config.applyToHTTPSOptions(
      options as Parameters<KubeConfig["applyToHTTPSOptions"]>[0],
    );
    const headers = new Headers();
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      headers.set(name, Array.isArray(value) ? value.join(", ") : String(value));
    }
    if (options.auth) headers.set("Authorization", `Basic ${btoa(options.auth)}`);
    for (const [name, value] of Object.entries(request.headers)) headers.set(name, value);
    const client = this.#clientFor(options);
    const response = await fetch(request.url, {
      method: request.method,
      headers,
      body: request.body,
      signal: request.signal,
      ...(client ? { client } : {}),
    });
    return {
      status: response.status,
      text: () => response.text(),
      stream: () => response.body,
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
  return new DenoFetchTransport(config);
}

/**
 * How requests to the API server travel: a `Transport` sends one request and hands back the
 * answer. This module holds Deno's built-in fetch, with a `Deno.HttpClient` for the CA and the
 * client certificate; kubeconfig.ts adds `@kubernetes/client-node`'s own HTTP stack for what
 * Deno's fetch cannot express.
 *
 * @module
 */

/** Which HTTP stack sends a kubeconfig's requests (see kubeconfig.ts). */
export type TransportChoice = "auto" | "deno" | "client-node";

export type HttpMethod = "GET" | "PATCH";

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

/** Credentials and TLS material for one request, as KubeConfig's applyToHTTPSOptions fills in. */
export interface HttpsOptions {
  headers?: Record<string, string | number | string[]>;
  auth?: string;
  ca?: Uint8Array | string;
  cert?: Uint8Array | string;
  key?: Uint8Array | string;
  rejectUnauthorized?: boolean;
  servername?: string;
}

/** Asked before every request, so rotated tokens and certificates are picked up. */
export type CredentialSource = () => Promise<HttpsOptions>;

const decoder = new TextDecoder();

function pem(material: Uint8Array | string | undefined): string | undefined {
  if (material === undefined) return undefined;
  return typeof material === "string" ? material : decoder.decode(material);
}

class DenoFetchTransport implements Transport {
  readonly kind = "deno";
  readonly #credentials: CredentialSource;
  #client: Deno.HttpClient | undefined;
  #clientKey = "";

  constructor(credentials: CredentialSource) {
    this.#credentials = credentials;
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
    const options = await this.#credentials();
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

/** Deno's fetch, with `credentials` (none by default: a server that needs none). */
export function denoFetchTransport(
  credentials: CredentialSource = () => Promise.resolve({}),
): Transport {
  return new DenoFetchTransport(credentials);
}

/**
 * Where the API server is and how requests reach it: the server's base URL and the transport
 * that sends each request with the right credentials. A bare URL (a local yurthub, or any
 * server that needs no credentials) is served here with Deno's own fetch; a kubeconfig or the
 * in-cluster service account is read by `@kubernetes/client-node` (kubeconfig.ts).
 *
 * @module
 */
import { denoFetchTransport, type Transport } from "./transport.ts";

export interface ApiEndpoint {
  /** The server's base URL, without a trailing slash. */
  readonly server: string;
  readonly transport: Transport;
}

/** A configuration that cannot work, with a message for the operator. */
export class KubeConfigError extends Error {
  override name = "KubeConfigError";
}

/** `text` as an API server URL without trailing slashes; throws KubeConfigError otherwise. */
export function checkedApiUrl(text: string): string {
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

/**
 * A server reached without credentials, e.g. a yurthub at `http://127.0.0.1:10261`, which
 * authenticates to the cloud itself. Plain HTTP is allowed; https is verified against the
 * system's roots.
 */
export function bareUrlEndpoint(url: string): ApiEndpoint {
  return { server: checkedApiUrl(url), transport: denoFetchTransport() };
}

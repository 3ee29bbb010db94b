/**
 * Raw calls to the test API server with Deno's own fetch, so the server's own tests do not
 * depend on the client under test.
 *
 * @module
 */
import { type ApiServerOptions, TestApiServer } from "./apiserver.ts";

export interface Answer {
  status: number;
  // deno-lint-ignore no-explicit-any
  json: any;
}

export interface CallOptions {
  body?: unknown;
  contentType?: string;
  token?: string;
  userAgent?: string;
}

export const STRATEGIC = "application/strategic-merge-patch+json";
export const MERGE = "application/merge-patch+json";

/** One request to `baseUrl` + `path` (User-Agent `flanneld/test` unless told), its JSON answer. */
export async function callUrl(
  baseUrl: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Answer> {
  const headers: Record<string, string> = {
    "user-agent": options.userAgent ?? "flanneld/test",
  };
  if (options.contentType) headers["content-type"] = options.contentType;
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  return { status: response.status, json: await response.json() };
}

export function call(
  server: TestApiServer,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Answer> {
  return callUrl(server.url, method, path, options);
}

/** Runs `fn` against a fresh server, stopped afterwards whatever happens. */
export async function withServer(
  fn: (server: TestApiServer) => Promise<void>,
  options: ApiServerOptions = {},
): Promise<void> {
  const server = await TestApiServer.start(options);
  try {
    await fn(server);
  } finally {
    await server.stop();
  }
}

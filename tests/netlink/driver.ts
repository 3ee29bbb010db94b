/**
 * Child process for the netlink tests: runs inside a test's network namespace (FFI calls act on
 * the namespace of the calling thread, so the binding must live in a process started there) and
 * applies `Netlink` calls it reads from stdin, one JSON request `{method, args}` per line,
 * answering each with one JSON line `{ok: true, value}` or `{ok: false, error}`.
 *
 * @module
 */
import process from "node:process";
import { createInterface } from "node:readline";
import { type Netlink, NetlinkError, openNetlink } from "../../src/netlink/mod.ts";
import { loadIPv6 } from "../../src/net/ip.ts";

export interface DriverRequest {
  method: string;
  args: unknown[];
}

export interface DriverErrorShape {
  name: string;
  message: string;
  errno?: number;
  fromKernel?: boolean;
  libnlCode?: number;
  operation?: string;
}

export type DriverResponse =
  | { ok: true; value: unknown }
  | { ok: false; error: DriverErrorShape };

function describeError(error: unknown): DriverErrorShape {
  if (error instanceof NetlinkError) {
    return {
      name: error.name,
      message: error.message,
      errno: error.errno,
      fromKernel: error.fromKernel,
      libnlCode: error.libnlCode,
      operation: error.operation,
    };
  }
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}

function answer(netlink: Netlink, request: DriverRequest): DriverResponse {
  const method = (netlink as unknown as Record<string, unknown>)[request.method];
  if (typeof method !== "function" || request.method === "close") {
    return { ok: false, error: { name: "Error", message: `no method ${request.method}` } };
  }
  try {
    // An undefined value drops out of the JSON and comes back undefined.
    return { ok: true, value: method.apply(netlink, request.args) };
  } catch (error) {
    return { ok: false, error: describeError(error) };
  }
}

if (import.meta.main) {
  await loadIPv6();
  const netlink = openNetlink();
  const output = Deno.stdout.writable.getWriter();
  const encoder = new TextEncoder();
  try {
    for await (const line of createInterface({ input: process.stdin })) {
      const response = answer(netlink, JSON.parse(line) as DriverRequest);
      await output.write(encoder.encode(`${JSON.stringify(response)}\n`));
    }
  } finally {
    netlink.close();
    await output.close();
  }
}

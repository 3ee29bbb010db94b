/**
 * Test side of `driver.ts`: starts the driver inside a namespace and forwards `Netlink` calls to
 * it. A failed call rejects with a RemoteNetlinkError that carries the NetlinkError's fields.
 *
 * @module
 */
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { createInterface } from "node:readline";
import { ROOT } from "../helpers/programs.ts";
import type { Netns } from "../helpers/netns.ts";
import type { Netlink } from "../../src/netlink/mod.ts";
import type { DriverErrorShape, DriverResponse } from "./driver.ts";

export const DRIVER = `${ROOT}/tests/netlink/driver.ts`;

/**
 * The argv that runs a test script with only the permission the binding needs (and `v8Flags`,
 * e.g. `--expose-gc`, when given).
 */
export function denoScript(script: string, args: string[] = [], v8Flags: string[] = []): string[] {
  return [
    Deno.execPath(),
    "run",
    "--quiet",
    "--no-prompt",
    "--config",
    `${ROOT}/deno.json`,
    "--allow-ffi",
    ...(v8Flags.length > 0 ? [`--v8-flags=${v8Flags.join(",")}`] : []),
    script,
    ...args,
  ];
}

export class RemoteNetlinkError extends Error {
  readonly errorName: string;
  readonly errno?: number;
  readonly fromKernel?: boolean;
  readonly libnlCode?: number;
  readonly operation?: string;

  constructor(shape: DriverErrorShape) {
    super(shape.message);
    this.errorName = shape.name;
    this.errno = shape.errno;
    this.fromKernel = shape.fromKernel;
    this.libnlCode = shape.libnlCode;
    this.operation = shape.operation;
  }
}

type Method = Exclude<keyof Netlink, "close" | typeof Symbol.dispose>;
type Args<M extends Method> = Parameters<Netlink[M]>;
type Result<M extends Method> = ReturnType<Netlink[M]>;

export interface Driver extends AsyncDisposable {
  call<M extends Method>(method: M, ...args: Args<M>): Promise<Result<M>>;
  /** Ends the driver (EOF on its stdin) and waits for it; kills it by PID if it hangs. */
  close(): Promise<void>;
}

const EXIT_TIMEOUT_MS = 5000;

export function startDriver(ns: Netns): Driver {
  const child = ns.spawn(denoScript(DRIVER), {
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  });
  const requests = child.stdin.getWriter();
  // Deno's and Node's ReadableStream typings differ slightly; at runtime they are one class.
  const stdout = child.stdout as unknown as NodeReadableStream<Uint8Array>;
  const lines = createInterface({ input: Readable.fromWeb(stdout) });
  const responses = lines[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  let closed = false;

  const close = async () => {
    if (closed) return;
    closed = true;
    await requests.close().catch(() => {});
    const timer = setTimeout(() => child.kill("SIGKILL"), EXIT_TIMEOUT_MS);
    try {
      // Drain what is left so the pipe closes cleanly.
      while (!(await responses.next()).done) { /* discard */ }
      await child.status;
    } finally {
      clearTimeout(timer);
      lines.close();
    }
  };

  return {
    async call(method, ...args) {
      await requests.write(encoder.encode(`${JSON.stringify({ method, args })}\n`));
      const next = await responses.next();
      if (next.done) throw new Error(`netlink driver exited before answering ${method}`);
      const response = JSON.parse(next.value) as DriverResponse;
      if (!response.ok) throw new RemoteNetlinkError(response.error);
      // deno-lint-ignore no-explicit-any
      return response.value as any;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

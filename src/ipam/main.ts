/**
 * keepnet-ipam: the CNI IPAM plugin (a drop-in for host-local that keeps each pod's IP).
 *
 * This file is the start-up path, paid on every pod ADD and DEL: it imports only the plugin,
 * does nothing at module level, reads stdin in one loop, writes the output and exits. Reading
 * and writing the standard streams is synchronous: nothing else runs meanwhile, and here a sync
 * operation costs a fraction of an async one.
 *
 * @module
 */
import { runPlugin } from "../cni/skel.ts";
import { formatByteLimit } from "../fs/bounded_read.ts";
import { loadIPv6, mayContainIPv6 } from "../net/ip.ts";
import { ipamPlugin } from "./plugin.ts";

/**
 * The most stdin a network config may take: far more than any real one (GC's list of every
 * attachment on a node included), far less than what would hurt the node. host-local has no
 * limit; it reads whatever it is given.
 */
export const MAX_STDIN_BYTES = 4 * 1024 * 1024;

/** Reads stdin; loads IPv6 support when the config or CNI_ARGS may name an IPv6 address. */
async function readInput(): Promise<Uint8Array> {
  const bytes = readStdin();
  const text = new TextDecoder().decode(bytes);
  if (mayContainIPv6(text) || mayContainIPv6(Deno.env.get("CNI_ARGS") ?? "")) await loadIPv6();
  return bytes;
}

function readStdin(): Uint8Array {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const chunk = new Uint8Array(65536);
    const read = Deno.stdin.readSync(chunk);
    if (read === null) break;
    chunks.push(chunk.subarray(0, read));
    size += read;
    if (size > MAX_STDIN_BYTES) {
      throw new Error(`the network config is larger than ${formatByteLimit(MAX_STDIN_BYTES)}`);
    }
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return all;
}

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += stream.writeSync(bytes.subarray(written));
}

/** A runtime never passes arguments; a person does (`keepnet-ipam inspect`, `--help`). */
async function runCommandLine(args: string[]): Promise<never> {
  const { runCLI } = await import("./cli.ts");
  const output = await runCLI(args);
  if (output.stdout !== "") writeAll(Deno.stdout, output.stdout);
  if (output.stderr !== "") writeAll(Deno.stderr, output.stderr);
  Deno.exit(output.code);
}

async function main(): Promise<never> {
  if (Deno.args.length > 0) return await runCommandLine(Deno.args);
  const output = await runPlugin(ipamPlugin, {
    getenv: (name) => Deno.env.get(name),
    readStdin: readInput,
  });
  if (output.stdout !== "") writeAll(Deno.stdout, output.stdout);
  if (output.stderr !== "") writeAll(Deno.stderr, output.stderr);
  Deno.exit(output.code);
}

if (import.meta.main) await main();

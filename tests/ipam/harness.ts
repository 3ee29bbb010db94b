/**
 * Test harness for keepnet-ipam: runs plugin calls in-process (through the real CNI skeleton,
 * real files, real locks) or as the real bundle / Go host-local in a subprocess, and reads a
 * store directory back.
 *
 * @module
 */
import { type PluginOutput, runPlugin } from "../../src/cni/skel.ts";
import { ipamPlugin } from "../../src/ipam/plugin.ts";
import { runProgram } from "../helpers/programs.ts";

export const HOST_LOCAL = "/usr/lib/cni/host-local";

/** True when Debian's host-local binary is installed (the differential reference). */
export const hasHostLocal: boolean = (() => {
  try {
    return Deno.statSync(HOST_LOCAL).isFile;
  } catch {
    return false;
  }
})();

export interface Call {
  command?: string;
  containerID?: string;
  ifName?: string;
  /** CNI_ARGS. */
  args?: string;
  /** The network config: an object (JSON-encoded), or raw stdin as text or bytes. */
  config: unknown;
  /** Replaces the whole CNI_* environment when given. */
  env?: Record<string, string>;
}

/** The environment of a call: CNI_COMMAND etc., with sensible defaults. */
export function callEnv(call: Call): Record<string, string> {
  if (call.env) return call.env;
  const env: Record<string, string> = {
    CNI_COMMAND: call.command ?? "ADD",
    CNI_CONTAINERID: call.containerID ?? "c1",
    CNI_NETNS: "/var/run/netns/test",
    CNI_IFNAME: call.ifName ?? "eth0",
    CNI_PATH: "/opt/cni/bin",
  };
  if (call.args !== undefined) env.CNI_ARGS = call.args;
  return env;
}

/** The stdin of a call: raw text or bytes as given, anything else JSON-encoded. */
export function stdinOf(call: Call): string | Uint8Array {
  if (typeof call.config === "string" || call.config instanceof Uint8Array) return call.config;
  return JSON.stringify(call.config);
}

/** Runs keepnet-ipam in this process (same code path as the binary, minus process start). */
export function ipam(call: Call): Promise<PluginOutput> {
  const env = callEnv(call);
  return runPlugin(ipamPlugin, {
    getenv: (name) => env[name],
    readStdin: () => Promise.resolve(stdinOf(call)),
  });
}

/** Runs the bundle dist/keepnet-ipam.js (what ships), with its permission set. */
export async function ipamBundle(call: Call, cwd?: string): Promise<PluginOutput> {
  const result = await runProgram("ipam", stdinOf(call), { env: callEnv(call), cwd });
  return { code: result.code, stdout: result.stdout, stderr: result.stderr };
}

/** Runs Debian's Go host-local. */
export async function hostLocal(call: Call, cwd?: string): Promise<PluginOutput> {
  const child = new Deno.Command(HOST_LOCAL, {
    env: callEnv(call),
    clearEnv: true,
    cwd,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const stdin = stdinOf(call);
  await writer.write(typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin);
  await writer.close();
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A fresh temporary directory; remove it with `Deno.remove(dir, { recursive: true })`. */
export function tempDir(prefix = "keepnet-ipam-test-"): Promise<string> {
  return Deno.makeTempDir({ prefix });
}

/** Runs `fn` with a temporary directory that is always removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await tempDir();
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Every regular file of a directory (not recursive): name → content. */
export async function readStore(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return files;
    throw error;
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.isFile) files[entry.name] = await Deno.readTextFile(`${dir}/${entry.name}`);
  }
  return files;
}

/** The store files that are bindings (`<ip>_<ns>_<name>`), parsed. */
export function bindingsIn(store: Record<string, string>): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, content] of Object.entries(store)) {
    if (name.includes("_") && !name.startsWith("last_reserved_ip")) {
      out[name] = content.trim() === "" ? {} : JSON.parse(content);
    }
  }
  return out;
}

/** The IP reservation files (names that contain no "_" and are not lock/last_reserved). */
export function reservationsIn(store: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, content] of Object.entries(store)) {
    if (name === "lock" || name.startsWith("last_reserved_ip.") || name.includes("_")) continue;
    out[name] = content;
  }
  return out;
}

/** Parses a successful ADD's stdout. */
export function resultOf(output: PluginOutput): Record<string, unknown> {
  if (output.code !== 0) throw new Error(`plugin failed (${output.code}): ${output.stdout}`);
  return JSON.parse(output.stdout);
}

/** The addresses of a 1.x / 0.3.x / 0.4.0 result. */
export function addressesOf(output: PluginOutput): string[] {
  const result = resultOf(output) as { ips: { address: string }[] };
  return result.ips.map((ip) => ip.address);
}

/** The error of a failed call: code and msg. */
export function errorOf(output: PluginOutput): { code: number; msg: string; details?: string } {
  if (output.code !== 1) throw new Error(`expected failure, got ${output.code}: ${output.stdout}`);
  return JSON.parse(output.stdout);
}

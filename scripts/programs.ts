/**
 * The two programs keepnet ships, and the permission flags each gets. The permissions are
 * defined once, in deno.json's `permissions` sets; compile, tests and benchmarks all turn that
 * set into flags here, so every way of running a program grants exactly the same.
 *
 * @module
 */
import config from "../deno.json" with { type: "json" };

export type ProgramName = "ipam" | "vtepd";

export interface Program {
  /** Name of the shipped binary. */
  binary: string;
  /** Entry point, relative to the repository root. */
  entry: string;
  /** The bundle `deno task bundle` writes, relative to the repository root: the entry file. */
  bundle: string;
  /**
   * When set, the bundle is split into chunks in this directory (`bundle` is its entry), so
   * code behind a dynamic import is only evaluated when it is needed.
   */
  chunkDir?: string;
  /** Runtime flags besides permissions, baked into the binary like them (`deno compile`). */
  runtimeFlags: string[];
}

export const PROGRAMS: Record<ProgramName, Program> = {
  ipam: {
    binary: "keepnet-ipam",
    entry: "src/ipam/main.ts",
    bundle: "dist/keepnet-ipam.js",
    runtimeFlags: [],
  },
  vtepd: {
    binary: "keepnet-vtepd",
    entry: "src/vtepd/main.ts",
    // Split: `@kubernetes/client-node` (src/kube/kubeconfig.ts) is only loaded with a kubeconfig.
    bundle: "dist/keepnet-vtepd/main.js",
    chunkDir: "dist/keepnet-vtepd",
    // Memory (scripts/bench_vtepd.ts): no code cache (writing it on a first start costs ~25 MiB
    // that stays resident); a 1 MiB young generation; V8's lite mode (no optimizing compiler:
    // ~7 MiB less, and the daemon's JavaScript is never hot); `gc()` for release_memory.ts.
    runtimeFlags: [
      "--no-code-cache",
      "--v8-flags=--max-semi-space-size=1,--lite-mode,--expose-gc",
    ],
  },
};

/** Repository root, as an absolute path. */
export const ROOT: string = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

type PermissionValue = boolean | string[] | undefined;

/** `--allow-*` flags equivalent to deno.json's permission set `name`. */
export function permissionFlags(name: ProgramName): string[] {
  const set = (config.permissions as Record<string, Record<string, PermissionValue>>)[name];
  if (!set) throw new Error(`deno.json has no permission set "${name}"`);
  const flags: string[] = [];
  for (const [kind, value] of Object.entries(set)) {
    if (value === true) flags.push(`--allow-${kind}`);
    else if (Array.isArray(value) && value.length > 0) {
      flags.push(`--allow-${kind}=${value.join(",")}`);
    }
  }
  return flags;
}

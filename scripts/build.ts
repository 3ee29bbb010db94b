/**
 * Builds what ships.
 *
 *   deno task bundle            dist/keepnet-ipam.js, dist/keepnet-vtepd/ (deno bundle; main.js
 *                               and the chunks it imports)
 *   deno task build             the bundles, then `deno compile` of each for both targets:
 *                               dist/bin/<arch>/keepnet-ipam, dist/bin/<arch>/keepnet-vtepd
 *   deno task build --target x86_64-unknown-linux-gnu    one target only
 *   deno run -A scripts/build.ts --compile-only          compile the bundles already in dist/
 *
 * Each program is bundled first so its binary carries only the code it imports (keepnet-ipam
 * never the Kubernetes client); the compile step then bakes in the program's permission set.
 * `deno compile` needs Deno's `denort` base binary. It downloads it from dl.deno.land; for an
 * air-gapped build pass `DENORT_BIN=/path/to/denort` (used for every target, so combine it
 * with `--target`), or pre-seed `$DENO_DIR/dl/release/v<version>/denort-<target>.zip`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { permissionFlags, type ProgramName, PROGRAMS, ROOT } from "./programs.ts";

export const TARGETS = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] as const;
export type Target = (typeof TARGETS)[number];

export const DEFAULT_OUT_DIR = `${ROOT}/dist/bin`;

/** Where the compiled binary of `program` for `target` goes: `<outDir>/<arch>/<binary>`. */
export function binaryPath(program: ProgramName, target: Target, outDir = DEFAULT_OUT_DIR): string {
  return `${outDir}/${target.split("-")[0]}/${PROGRAMS[program].binary}`;
}

async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  const output = await child.output();
  const stderr = new TextDecoder().decode(output.stderr);
  return { code: output.code, stderr };
}

/** Bundles every program into one JavaScript file under dist/. */
export async function bundleAll(): Promise<void> {
  for (const program of Object.values(PROGRAMS)) {
    if (program.chunkDir) {
      // Chunk names carry content hashes: clear out the previous build's.
      await Deno.remove(`${ROOT}/${program.chunkDir}`, { recursive: true }).catch(() => {});
    }
    const output = program.chunkDir
      ? ["--code-splitting", "--outdir", program.chunkDir]
      : ["-o", program.bundle];
    const result = await run([
      "bundle",
      "--quiet",
      "--platform=deno",
      "--minify",
      ...output,
      program.entry,
    ]);
    if (result.code !== 0) {
      throw new Error(`deno bundle ${program.entry} failed:\n${result.stderr}`);
    }
  }
}

function denortHelp(target: Target): string {
  const version = Deno.version.deno;
  return [
    `deno compile could not get the denort ${version} base binary for ${target}.`,
    `It is downloaded from https://dl.deno.land/release/v${version}/denort-${target}.zip; without`,
    "internet access supply it in one of two ways:",
    `  DENORT_BIN=/path/to/denort deno task build --target ${target}   (the unzipped denort)`,
    `  or copy the zip to $DENO_DIR/dl/release/v${version}/denort-${target}.zip`,
    "  (DENO_DIR defaults to ~/.cache/deno; each target needs its own zip).",
  ].join("\n");
}

/** Compiles one bundled program for one target with its permission set baked in. */
export async function compile(
  program: ProgramName,
  target: Target,
  outDir = DEFAULT_OUT_DIR,
): Promise<void> {
  const output = binaryPath(program, target, outDir);
  await Deno.mkdir(output.slice(0, output.lastIndexOf("/")), { recursive: true });
  const result = await run([
    "compile",
    "--quiet",
    "--no-check",
    "--no-prompt",
    ...permissionFlags(program),
    ...PROGRAMS[program].runtimeFlags,
    "--target",
    target,
    "-o",
    output,
    PROGRAMS[program].bundle,
  ]);
  if (result.code === 0) return;
  const baseBinaryMissing = /base binary|dl\.deno\.land|denort/i.test(result.stderr);
  throw new Error(baseBinaryMissing ? denortHelp(target) : result.stderr);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "bundle-only": { type: "boolean", default: false },
      "compile-only": { type: "boolean", default: false },
      target: { type: "string", multiple: true },
      "out-dir": { type: "string", default: DEFAULT_OUT_DIR },
    },
  });
  const targets = (values.target ?? [...TARGETS]) as Target[];
  for (const target of targets) {
    if (!TARGETS.includes(target)) {
      console.error(`unknown target ${target}; known: ${TARGETS.join(", ")}`);
      Deno.exit(2);
    }
  }
  try {
    if (!values["compile-only"]) await bundleAll();
    if (!values["bundle-only"]) {
      for (const target of targets) {
        for (const program of Object.keys(PROGRAMS) as ProgramName[]) {
          await compile(program, target, values["out-dir"]);
          console.error(`built ${binaryPath(program, target, values["out-dir"])}`);
        }
      }
    }
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(1);
  }
}

/**
 * Runs keepnet's programs the way they ship: the bundle `deno task bundle` wrote (or, with
 * `source: true`, the TypeScript entry point), with exactly the permission flags of the compiled
 * binary (deno.json's permission set). Nothing else is granted.
 *
 * The environment is only what the caller gives, plus PATH and the location of Deno's code
 * cache (HOME, DENO_DIR).
 *
 * @module
 */
import { permissionFlags, type ProgramName, PROGRAMS, ROOT } from "../../scripts/programs.ts";

export { ROOT };

export interface LaunchOptions {
  /** Run the TypeScript entry point instead of the bundle. */
  source?: boolean;
  /** Command-line arguments of the program. */
  args?: string[];
  /** The program's environment (only PATH and Deno's cache location are added). */
  env?: Record<string, string>;
  /** Run inside this network namespace (`ip netns exec`). */
  netns?: string;
  cwd?: string;
  /** The deno binary to run it with (default: the one running the tests), e.g. another arch's. */
  deno?: string;
}

/** The argv that runs `program` with its permission set. */
export function commandLine(program: ProgramName, options: LaunchOptions = {}): string[] {
  const info = PROGRAMS[program];
  const script = `${ROOT}/${options.source ? info.entry : info.bundle}`;
  const configFlags = options.source ? ["--config", `${ROOT}/deno.json`] : ["--no-config"];
  const deno = [
    options.deno ?? Deno.execPath(),
    "run",
    "--quiet",
    "--no-prompt",
    ...configFlags,
    ...permissionFlags(program),
    ...info.runtimeFlags,
    script,
    ...(options.args ?? []),
  ];
  return options.netns ? ["ip", "netns", "exec", options.netns, ...deno] : deno;
}

/** PATH, and where Deno keeps its code cache (a compiled binary has its own), then `env`. */
function environment(env: Record<string, string> = {}): Record<string, string> {
  const base: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
  };
  for (const name of ["HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) base[name] = value;
  }
  return { ...base, ...env };
}

/** Starts `program` in the background with piped stdin/stdout/stderr. */
export function spawnProgram(program: ProgramName, options: LaunchOptions = {}): Deno.ChildProcess {
  const [command, ...args] = commandLine(program, options);
  return new Deno.Command(command!, {
    args,
    env: environment(options.env),
    clearEnv: true,
    cwd: options.cwd ?? ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `program` to completion, feeding it `stdin` (text, or bytes as they are). */
export async function runProgram(
  program: ProgramName,
  stdin: string | Uint8Array,
  options: LaunchOptions = {},
): Promise<RunResult> {
  const child = spawnProgram(program, options);
  const writer = child.stdin.getWriter();
  try {
    await writer.write(typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin);
    await writer.close();
  } catch (error) {
    // A program may exit without reading stdin (CNI VERSION); a fast one then closes the pipe
    // before a slow parent (e.g. under emulation) has written. Its output still tells.
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

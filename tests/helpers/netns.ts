/**
 * Throwaway network namespaces for tests. Each gets a unique name (prefix + pid + counter +
 * random), its loopback up, and is deleted by `delete()` or at the end of an `await using` block:
 *
 * ```ts
 * await using ns = await createNetns("kn-nl-");
 * await ns.check(["ip", "link", "add", "d0", "type", "dummy"]);
 * const links = await ns.json<unknown[]>(["ip", "-j", "link"]);
 * ```
 *
 * Commands run through `ip netns exec`, so nothing touches the host's own namespace.
 *
 * @module
 */

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the command's stdin, which is then closed. */
  stdin?: string;
  /** Variables added to the command's environment. */
  env?: Record<string, string>;
}

export interface Netns extends AsyncDisposable {
  readonly name: string;
  /** The argv that runs `argv` inside the namespace. */
  command(argv: string[]): string[];
  /** Runs `argv` inside the namespace to completion; never throws for a non-zero exit. */
  run(argv: string[], options?: RunOptions): Promise<CommandResult>;
  /** Runs `argv` inside the namespace and returns its stdout; throws (with stderr) unless it exits 0. */
  check(argv: string[], options?: RunOptions): Promise<string>;
  /** `check`, then JSON.parse of stdout (for `ip -j ...`, `bridge -j ...`). */
  json<T>(argv: string[]): Promise<T>;
  /** Starts `argv` inside the namespace in the background; the caller stops it by its PID. */
  spawn(argv: string[], options?: Omit<Deno.CommandOptions, "args">): Deno.ChildProcess;
  /** Deletes the namespace; safe to call twice. */
  delete(): Promise<void>;
}

const decoder = new TextDecoder();
let counter = 0;

async function execute(argv: string[], options: RunOptions = {}): Promise<CommandResult> {
  const [program, ...args] = argv;
  const child = new Deno.Command(program!, {
    args,
    env: options.env,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

async function checked(argv: string[], options?: RunOptions): Promise<string> {
  const result = await execute(argv, options);
  if (result.code !== 0) {
    throw new Error(
      `${argv.join(" ")} exited ${result.code}: ${result.stderr.trim()} ${result.stdout.trim()}`,
    );
  }
  return result.stdout;
}

function uniqueName(prefix: string): string {
  const random = crypto.getRandomValues(new Uint16Array(1))[0]!.toString(36);
  return `${prefix}${Deno.pid.toString(36)}-${(counter++).toString(36)}-${random}`;
}

/** Creates a uniquely named network namespace with `lo` up. */
export async function createNetns(prefix = "kn-test-"): Promise<Netns> {
  const name = uniqueName(prefix);
  await checked(["ip", "netns", "add", name]);
  let deleted = false;
  const namespace: Netns = {
    name,
    command: (argv) => ["ip", "netns", "exec", name, ...argv],
    run: (argv, options) => execute(namespace.command(argv), options),
    check: (argv, options) => checked(namespace.command(argv), options),
    json: async <T>(argv: string[]) => JSON.parse(await namespace.check(argv)) as T,
    spawn: (argv, options = {}) => {
      const [program, ...args] = namespace.command(argv);
      return new Deno.Command(program!, { ...options, args }).spawn();
    },
    delete: async () => {
      if (deleted) return;
      deleted = true;
      await checked(["ip", "netns", "delete", name]);
    },
    [Symbol.asyncDispose]: () => namespace.delete(),
  };
  try {
    await namespace.check(["ip", "link", "set", "lo", "up"]);
  } catch (error) {
    await namespace.delete();
    throw error;
  }
  return namespace;
}

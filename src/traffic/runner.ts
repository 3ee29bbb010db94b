/**
 * Runs iptables, iptables-restore and nft. Behind an interface so unit tests can record the
 * exact commands and their input, and kernel tests can run them inside a network namespace.
 *
 * Processes are spawned asynchronously (Deno.Command), so the event loop never waits on them,
 * and each is killed after a timeout so a stuck tool cannot stall the resync loop for ever.
 *
 * @module
 */

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  /** Runs `argv` with `stdin` (if any) as its input; resolves for any exit status. */
  run(argv: readonly string[], stdin?: string): Promise<CommandResult>;
}

/** The Debian package that installs each tool this module runs. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  "iptables": "iptables",
  "iptables-restore": "iptables",
  "ip6tables": "iptables",
  "ip6tables-restore": "iptables",
  "iptables-nft": "iptables",
  "iptables-nft-restore": "iptables",
  "ip6tables-nft": "iptables",
  "ip6tables-nft-restore": "iptables",
  "iptables-legacy": "iptables",
  "iptables-legacy-restore": "iptables",
  "ip6tables-legacy": "iptables",
  "ip6tables-legacy-restore": "iptables",
  "nft": "nftables",
};

/** A tool this module needs is not installed. */
export class MissingToolError extends Error {
  override name = "MissingToolError";
  constructor(readonly tool: string) {
    super(
      `${tool} is not installed: install the Debian package "${
        TOOL_PACKAGES[tool] ?? tool
      }" (apt-get install ${TOOL_PACKAGES[tool] ?? tool})`,
    );
  }
}

/** A tool ran but failed. */
export class CommandError extends Error {
  override name = "CommandError";
  constructor(readonly argv: readonly string[], readonly result: CommandResult) {
    super(
      `${argv.join(" ")} exited ${result.code}: ${
        (result.stderr.trim() || result.stdout.trim()).split("\n").slice(0, 4).join(" | ")
      }`,
    );
  }
}

export interface DenoCommandRunnerOptions {
  /** Put before every command, e.g. `["ip", "netns", "exec", NAME]` in tests. */
  prefix?: readonly string[];
  /** Kill a command that has not finished after this long. Default 60 s. */
  timeoutMs?: number;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();
/** How `ip netns exec` reports a program it cannot find. */
const NETNS_EXEC_NOT_FOUND = /exec of "([^"]+)" failed: No such file or directory/;

/** Runs commands with Deno.Command; a program that is not installed is a MissingToolError. */
export class DenoCommandRunner implements CommandRunner {
  readonly #prefix: readonly string[];
  readonly #timeoutMs: number;

  constructor(options: DenoCommandRunnerOptions = {}) {
    this.#prefix = options.prefix ?? [];
    this.#timeoutMs = options.timeoutMs ?? 60_000;
  }

  async run(argv: readonly string[], stdin?: string): Promise<CommandResult> {
    const [program, ...args] = [...this.#prefix, ...argv];
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(program!, {
        args,
        stdin: stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(this.#timeoutMs),
      }).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) throw new MissingToolError(program!);
      throw error;
    }
    if (stdin !== undefined) {
      const writer = child.stdin.getWriter();
      // A tool that exits early closes its stdin; its exit status then tells what happened.
      await writer.write(encoder.encode(stdin)).catch(() => {});
      await writer.close().catch(() => {});
    }
    const output = await child.output();
    const result = {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
    const notFound = this.#prefix.length > 0 ? NETNS_EXEC_NOT_FOUND.exec(result.stderr) : null;
    if (notFound && result.code === 255) throw new MissingToolError(notFound[1]!);
    if (output.signal !== null) {
      result.stderr += `\n(killed by ${output.signal}; the time limit is ${this.#timeoutMs} ms)`;
    }
    return result;
  }
}

/** Runs a command and returns its stdout; a non-zero exit is a CommandError. */
export async function runChecked(
  runner: CommandRunner,
  argv: readonly string[],
  stdin?: string,
): Promise<string> {
  const result = await runner.run(argv, stdin);
  if (result.code !== 0) throw new CommandError(argv, result);
  return result.stdout;
}

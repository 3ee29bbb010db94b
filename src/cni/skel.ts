/**
 * The CNI protocol around a plugin's commands, as the Go library's `skel.PluginMain` (cni v1.3)
 * runs it: environment, stdin, network-name and version checks, dispatch, and the exact output
 * (result or error on stdout, exit 0 or 1, the "about" text on stderr when CNI_COMMAND is unset).
 *
 * It returns the output instead of writing it, so tests can run a whole plugin call in-process.
 *
 * @module
 */
import { type CmdEnv, readCmdEnv } from "./env.ts";
import { CNIError, encodeError, ErrorCode, toCNIError } from "./errors.ts";
import { GoDecoder } from "./go_json.ts";
import { goJSONSyntaxError, SHORTEST_TOO_DEEP } from "./go_json_syntax.ts";
import { goQuote, goQuoteList } from "./json.ts";
import { encodeVersionInfo, SUPPORTED_VERSIONS, versionAtLeast } from "./version.ts";
import { validateNetworkName } from "./validate.ts";

/** Everything a command gets: the environment and the network config from stdin. */
export interface CmdArgs {
  env: CmdEnv;
  /** stdin, parsed (the library has already checked it is JSON with a valid `name`). */
  config: unknown;
  /** The config's cniVersion ("0.1.0" when absent). */
  cniVersion: string;
  /** Writes one line to stderr (diagnostics only; the protocol uses stdout). */
  log(line: string): void;
}

export interface Plugin {
  /** First line of the about text, e.g. "CNI keepnet-ipam plugin version 0.1.0". */
  about: string;
  /** Returns the result JSON to print. */
  add(args: CmdArgs): Promise<string>;
  del(args: CmdArgs): Promise<void>;
  check(args: CmdArgs): Promise<void>;
  gc(args: CmdArgs): Promise<void>;
  status(args: CmdArgs): Promise<void>;
}

export interface PluginIO {
  getenv(name: string): string | undefined;
  /**
   * All of stdin, as bytes (decoded here as UTF-8, a byte-order mark kept, as Go reads it) or
   * as text. Not called for VERSION.
   */
  readStdin(): Promise<Uint8Array | string>;
}

export interface PluginOutput {
  code: number;
  stdout: string;
  stderr: string;
}

function failure(error: unknown): PluginOutput {
  return { code: 1, stdout: encodeError(toCNIError(error)), stderr: "" };
}

function aboutText(plugin: Plugin): string {
  return `${plugin.about}\nCNI protocol versions supported: ${SUPPORTED_VERSIONS.join(", ")}\n`;
}

const encoder = new TextEncoder();

function syntaxError(message: string): CNIError {
  return new CNIError(ErrorCode.DecodingFailure, `error unmarshall network config: ${message}`);
}

/**
 * Parses stdin and checks its `name`, as `skel.validateConfig` does (codes 6 and 7). JSON.parse
 * accepts exactly the texts Go accepts, except nesting deeper than Go's limit; Go's own check
 * runs only to word an error, or for a text long enough to be that deep.
 */
function parseNetworkConfig(stdin: string, bytes?: Uint8Array): unknown {
  let config: unknown;
  try {
    config = JSON.parse(stdin);
  } catch (error) {
    const message = goJSONSyntaxError(bytes ?? encoder.encode(stdin));
    throw syntaxError(message ?? (error as Error).message);
  }
  if (stdin.length >= SHORTEST_TOO_DEEP) {
    const message = goJSONSyntaxError(bytes ?? encoder.encode(stdin));
    if (message !== undefined) throw syntaxError(message);
  }
  const decoder = new GoDecoder();
  let name = "";
  decoder.struct(config, "", 'struct { Name string "json:\\"name\\"" }', {
    name: (value) => (name = decoder.string(value) ?? name),
  });
  try {
    decoder.finish();
  } catch (error) {
    throw new CNIError(
      ErrorCode.DecodingFailure,
      `error unmarshall network config: ${(error as Error).message}`,
    );
  }
  validateNetworkName(name);
  return config;
}

/** `ConfigDecoder.Decode`: the config's cniVersion, "0.1.0" when absent or empty. */
function configVersion(config: unknown): string {
  const decoder = new GoDecoder();
  let version = "";
  decoder.struct(config, "", 'struct { CNIVersion string "json:\\"cniVersion\\"" }', {
    cniVersion: (value) => (version = decoder.string(value) ?? version),
  });
  try {
    decoder.finish();
  } catch (error) {
    throw new CNIError(
      ErrorCode.DecodingFailure,
      `decoding version from network config: ${(error as Error).message}`,
    );
  }
  return version === "" ? "0.1.0" : version;
}

/** The exact-match version check every command passes before it runs. */
function requireSupportedVersion(version: string): void {
  if ((SUPPORTED_VERSIONS as readonly string[]).includes(version)) return;
  throw new CNIError(
    ErrorCode.IncompatibleCNIVersion,
    "incompatible CNI versions",
    `config is ${goQuote(version)}, plugin supports ${goQuoteList(SUPPORTED_VERSIONS)}`,
  );
}

/** CHECK, GC and STATUS also need a minimum config version (and a plugin that is as new). */
function requireVersionFor(command: string, version: string, minimum: string): void {
  let allowed: boolean;
  let pluginIsNewEnough: boolean;
  try {
    allowed = versionAtLeast(version, minimum);
    pluginIsNewEnough = SUPPORTED_VERSIONS.some((supported) => versionAtLeast(supported, version));
  } catch (error) {
    throw new CNIError(ErrorCode.DecodingFailure, (error as Error).message);
  }
  if (!allowed) {
    throw new CNIError(
      ErrorCode.IncompatibleCNIVersion,
      `config version does not allow ${command}`,
    );
  }
  if (!pluginIsNewEnough) {
    throw new CNIError(
      ErrorCode.IncompatibleCNIVersion,
      `plugin version does not allow ${command}`,
    );
  }
}

const MINIMUM_VERSION: Readonly<Record<string, string>> = {
  CHECK: "0.4.0",
  GC: "1.1.0",
  STATUS: "1.1.0",
};

/** Runs one plugin call and returns what to print and the exit code. */
export async function runPlugin(plugin: Plugin, io: PluginIO): Promise<PluginOutput> {
  let env: CmdEnv;
  try {
    env = readCmdEnv((name) => io.getenv(name));
  } catch (error) {
    const noCommand = (io.getenv("CNI_COMMAND") ?? "") === "";
    if (noCommand && error instanceof CNIError && error.code === 4) {
      return { code: 0, stdout: "", stderr: aboutText(plugin) };
    }
    return failure(error);
  }
  if (env.command === "VERSION") return { code: 0, stdout: encodeVersionInfo(), stderr: "" };
  let stderr = "";
  const log = (line: string) => void (stderr += `${line}\n`);
  try {
    let input: Uint8Array | string;
    try {
      input = await io.readStdin();
    } catch (error) {
      throw new CNIError(
        ErrorCode.IOFailure,
        `error reading from stdin: ${(error as Error).message}`,
      );
    }
    const config = typeof input === "string"
      ? parseNetworkConfig(input)
      : parseNetworkConfig(new TextDecoder("utf-8", { ignoreBOM: true }).decode(input), input);
    const command = env.command;
    const handler = ({
      ADD: plugin.add,
      DEL: plugin.del,
      CHECK: plugin.check,
      GC: plugin.gc,
      STATUS: plugin.status,
    } as Record<string, ((args: CmdArgs) => Promise<string | void>) | undefined>)[command];
    if (!handler) {
      throw new CNIError(ErrorCode.InvalidEnvironmentVariables, `unknown CNI_COMMAND: ${command}`);
    }
    const cniVersion = configVersion(config);
    const minimum = MINIMUM_VERSION[command];
    if (minimum) requireVersionFor(command, cniVersion, minimum);
    requireSupportedVersion(cniVersion);
    const stdout = await handler.call(plugin, { env, config, cniVersion, log });
    return { code: 0, stdout: stdout ?? "", stderr };
  } catch (error) {
    return { ...failure(error), stderr };
  }
}

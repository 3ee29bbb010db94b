/**
 * keepnet-ipam run by a person: `keepnet-ipam inspect ...`, `--help`, `--version`. A CNI
 * runtime never passes arguments (CNI_COMMAND and stdin carry everything), so any argument
 * means this command line, and the plugin's start-up path never loads this module.
 *
 * @module
 */
import { goQuote } from "../cni/json.ts";
import { VERSION } from "../version.ts";
import { configuredBindingTTL, DEFAULT_CNI_CONF_DIR } from "./cni_conf_ttl.ts";
import { DEFAULT_DATA_DIR } from "./config.ts";
import { parseGoDuration } from "./duration.ts";
import { goJoinPath } from "./go_text.ts";
import {
  checkNetworkName,
  inspectNetwork,
  networksIn,
  type NetworkView,
  type TTLInfo,
} from "./inspect.ts";
import { renderJSON, renderTables } from "./inspect_render.ts";

export interface CLIOutput {
  code: number;
  stdout: string;
  stderr: string;
}

export const USAGE = `Usage:
  keepnet-ipam inspect [--data-dir DIR] [--json] [--binding-ttl DURATION]
                       [--cni-conf-dir DIR] [NETWORK...]
  keepnet-ipam --help | --version

keepnet-ipam is a CNI IPAM plugin: runtimes run it without arguments, with CNI_COMMAND set.

inspect lists each network's reservations (which container holds which address) and pod
bindings (which pod gets which address back): IP, container, interface, pod, bound or released
since, and until when a released binding is kept. It only reads; it takes the store's lock
shared for the few milliseconds of the read (or reads without it when a call holds it longer).

  --data-dir DIR        where the networks' stores are (default ${DEFAULT_DATA_DIR})
  --json                print one JSON document: {"networks": [...]}
  --binding-ttl D       the networks' bindingTTL (Go duration, e.g. 168h); by default it is read
                        from the network's CNI config in --cni-conf-dir, else shown as unknown
  --cni-conf-dir DIR    where the node's CNI configs are (default ${DEFAULT_CNI_CONF_DIR})
  NETWORK...            only these networks (default: every directory of --data-dir)

Exit status: 0 when every network was read, 1 when one could not be, 2 for a usage error.
`;

interface InspectOptions {
  dataDir: string;
  json: boolean;
  bindingTTL?: string;
  cniConfDir: string;
  networks: string[];
}

class UsageError extends Error {}

const VALUE_FLAGS = ["--data-dir", "--binding-ttl", "--cni-conf-dir"] as const;

function parseInspectArgs(args: string[]): InspectOptions | "help" {
  const options: InspectOptions = {
    dataDir: DEFAULT_DATA_DIR,
    json: false,
    cniConfDir: DEFAULT_CNI_CONF_DIR,
    networks: [],
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--help" || arg === "-h") return "help";
    if (arg === "--json") {
      options.json = true;
      continue;
    }
    if (arg === "--") {
      options.networks.push(...args.slice(i + 1));
      break;
    }
    const [flag, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    if ((VALUE_FLAGS as readonly string[]).includes(flag)) {
      const value = inline ?? args[++i];
      if (value === undefined || value === "") throw new UsageError(`${flag} needs a value`);
      if (flag === "--data-dir") options.dataDir = value;
      else if (flag === "--cni-conf-dir") options.cniConfDir = value;
      else options.bindingTTL = value;
      continue;
    }
    if (arg.startsWith("-")) throw new UsageError(`unknown flag ${goQuote(arg)}`);
    options.networks.push(arg);
  }
  return options;
}

function ttlFromFlag(text: string): TTLInfo {
  let ms: number;
  try {
    ms = parseGoDuration(text);
  } catch (error) {
    throw new UsageError(`--binding-ttl: ${(error as Error).message}`);
  }
  if (!(ms > 0)) throw new UsageError(`--binding-ttl ${goQuote(text)}: it must be positive`);
  return { ms, text, source: "--binding-ttl" };
}

function ttlFor(options: InspectOptions, network: string, flagTTL?: TTLInfo): TTLInfo {
  if (flagTTL) return flagTTL;
  const configured = configuredBindingTTL(options.cniConfDir, network);
  if (!configured) return { text: null, source: "unknown" };
  return { ms: configured.ms, text: configured.text, source: configured.file };
}

async function inspect(options: InspectOptions): Promise<CLIOutput> {
  const flagTTL = options.bindingTTL === undefined ? undefined : ttlFromFlag(options.bindingTTL);
  for (const name of options.networks) {
    try {
      checkNetworkName(name);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const names = options.networks.length > 0 ? options.networks : networksIn(options.dataDir);
  const views: NetworkView[] = [];
  let stderr = "";
  for (const name of names) {
    try {
      const dir = goJoinPath(options.dataDir, name);
      if (!(await Deno.stat(dir)).isDirectory) throw new Error(`${dir} is not a directory`);
      views.push(await inspectNetwork(dir, name, ttlFor(options, name, flagTTL)));
    } catch (error) {
      const message = error instanceof Deno.errors.NotFound
        ? `no store at ${goJoinPath(options.dataDir, name)}`
        : (error as Error).message;
      stderr += `keepnet-ipam inspect: network ${name}: ${message}\n`;
    }
  }
  let stdout: string;
  if (options.json) stdout = renderJSON(views);
  else if (names.length === 0) stdout = `no networks in ${options.dataDir}\n`;
  else stdout = renderTables(views);
  return { code: stderr === "" ? 0 : 1, stdout, stderr };
}

/** Runs the command line `args` (never empty). */
export async function runCLI(args: string[]): Promise<CLIOutput> {
  const [command, ...rest] = args;
  try {
    if (command === "--help" || command === "-h" || command === "help") {
      return { code: 0, stdout: USAGE, stderr: "" };
    }
    if (command === "--version") {
      return { code: 0, stdout: `keepnet-ipam ${VERSION}\n`, stderr: "" };
    }
    if (command !== "inspect") throw new UsageError(`unknown command ${goQuote(command ?? "")}`);
    const options = parseInspectArgs(rest);
    if (options === "help") return { code: 0, stdout: USAGE, stderr: "" };
    return await inspect(options);
  } catch (error) {
    const message = `keepnet-ipam: ${(error as Error).message}\n`;
    if (error instanceof UsageError) {
      return { code: 2, stdout: "", stderr: `${message}Run keepnet-ipam --help for usage.\n` };
    }
    return { code: 1, stdout: "", stderr: message };
  }
}

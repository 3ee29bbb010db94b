/**
 * keepnet-vtepd's command line. Flags carry flanneld's names where flanneld has one; every flag
 * can also come from the environment as `KEEPNET_<NAME>` (e.g. `KEEPNET_KUBE_API_URL`), or as
 * flanneld's `FLANNELD_<NAME>` so an existing flanneld unit file's environment keeps working.
 * Precedence: flag, KEEPNET_*, FLANNELD_*, default. The node name also comes from `NODE_NAME`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { parseIP } from "../net/ip.ts";
import { VERSION } from "../version.ts";

export interface DaemonFlags {
  kubeconfigFile?: string;
  kubeApiUrl?: string;
  nodeName: string;
  /** `--iface`, repeatable: interface names or IPv4 addresses, the first that exists wins. */
  iface: string[];
  publicIP?: string;
  netConfigPath: string;
  subnetFile: string;
  stateDir: string;
  kubeAnnotationPrefix: string;
  healthzIP: string;
  /** 0 disables the health server (flanneld's default). */
  healthzPort: number;
  userAgent: string;
  /** Seconds between full reconciliations of the kernel against the desired state. */
  resyncSeconds: number;
  logLevel: "debug" | "info" | "warn" | "error";
}

export type ParsedFlags =
  | { kind: "run"; flags: DaemonFlags }
  | { kind: "help"; text: string }
  | { kind: "version"; text: string };

export class FlagError extends Error {
  override name = "FlagError";
}

interface FlagSpec {
  description: string;
  default?: string;
  multiple?: boolean;
}

const FLAGS: Record<string, FlagSpec> = {
  "kubeconfig-file": {
    description:
      "kubeconfig file; with neither this nor --kube-api-url the in-cluster config is used",
  },
  "kube-api-url": {
    description: "API server URL, e.g. http://127.0.0.1:10261 for a local yurthub",
  },
  "node-name": { description: "this node's name (also NODE_NAME)" },
  "iface": {
    description:
      "interface (name or IPv4) for the VXLAN underlay; repeatable, first found wins; default: the default route's",
    multiple: true,
  },
  "public-ip": {
    description: "IPv4 address advertised to peers (default: the interface's address)",
  },
  "net-config-path": {
    description: "flannel's net-conf.json",
    default: "/etc/kube-flannel/net-conf.json",
  },
  "subnet-file": {
    description: "where to write flannel's subnet.env",
    default: "/run/flannel/subnet.env",
  },
  "state-dir": {
    description: "directory of the daemon's persistent state",
    default: "/var/lib/keepnet",
  },
  "kube-annotation-prefix": {
    description: "prefix of the node annotations",
    default: "flannel.alpha.coreos.com",
  },
  "healthz-ip": { description: "address of the /healthz and /readyz server", default: "0.0.0.0" },
  "healthz-port": {
    description: "port of the /healthz and /readyz server; 0 disables it",
    default: "0",
  },
  "user-agent": {
    description: "HTTP User-Agent; starting with flanneld/ makes yurthub cache our requests",
    default: `flanneld/keepnet-vtepd-${VERSION}`,
  },
  "resync-seconds": { description: "seconds between full kernel reconciliations", default: "30" },
  "log-level": { description: "debug, info, warn or error", default: "info" },
};

function envName(flag: string, prefix: string): string {
  return `${prefix}_${flag.toUpperCase().replaceAll("-", "_")}`;
}

function usage(): string {
  const lines = [
    `keepnet-vtepd ${VERSION}: flannel-compatible VXLAN VTEP daemon that keeps its MAC`,
    "",
    "Usage: keepnet-vtepd [flags]",
    "",
  ];
  for (const [name, spec] of Object.entries(FLAGS)) {
    const fallback = spec.default !== undefined ? ` (default ${JSON.stringify(spec.default)})` : "";
    lines.push(
      `  --${name}`,
      `      ${spec.description}${fallback}; env ${envName(name, "KEEPNET")}`,
    );
  }
  lines.push("  --help, --version");
  return lines.join("\n");
}

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value < min || value > max) {
    throw new FlagError(
      `--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

/** An IP literal (the health server binds to it; a name would mean a DNS wait at start). */
function ipAddress(name: string, text: string): string {
  if (!parseIP(text)) {
    throw new FlagError(`--${name} must be an IP address, got ${JSON.stringify(text)}`);
  }
  return text;
}

/**
 * Parses argv and the environment; throws FlagError with a message for the user. IPv6 text
 * needs `loadIPv6()` (src/net/ip.ts) to have been awaited.
 */
export function parseFlags(argv: string[], env: (name: string) => string | undefined): ParsedFlags {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        ...Object.fromEntries(
          Object.entries(FLAGS).map((
            [name, spec],
          ) => [name, { type: "string", multiple: spec.multiple ?? false }]),
        ),
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    });
  } catch (error) {
    throw new FlagError((error as Error).message);
  }
  const values = parsed.values as Record<string, string | string[] | boolean | undefined>;
  if (values.help) return { kind: "help", text: usage() };
  if (values.version) return { kind: "version", text: `keepnet-vtepd ${VERSION}` };

  const lookup = (name: string): string | undefined => {
    const value = values[name];
    if (typeof value === "string") return value;
    return env(envName(name, "KEEPNET")) ?? env(envName(name, "FLANNELD")) ?? FLAGS[name]?.default;
  };
  const ifaceValues = values["iface"];
  const ifaceEnv = env(envName("iface", "KEEPNET")) ?? env(envName("iface", "FLANNELD"));
  const iface = Array.isArray(ifaceValues) && ifaceValues.length > 0
    ? ifaceValues
    : (ifaceEnv ?? "").split(",").map((item) => item.trim()).filter((item) => item !== "");

  const nodeName = lookup("node-name") ?? env("NODE_NAME");
  if (!nodeName) throw new FlagError("the node name is required: --node-name or NODE_NAME");
  const logLevel = lookup("log-level")!;
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new FlagError(
      `--log-level must be debug, info, warn or error, got ${JSON.stringify(logLevel)}`,
    );
  }
  const kubeApiUrl = lookup("kube-api-url");
  if (kubeApiUrl !== undefined && !/^https?:\/\/[^/]/.test(kubeApiUrl)) {
    throw new FlagError(
      `--kube-api-url must be an http:// or https:// URL, got ${JSON.stringify(kubeApiUrl)}`,
    );
  }
  return {
    kind: "run",
    flags: {
      kubeconfigFile: lookup("kubeconfig-file"),
      kubeApiUrl,
      nodeName,
      iface,
      publicIP: lookup("public-ip"),
      netConfigPath: lookup("net-config-path")!,
      subnetFile: lookup("subnet-file")!,
      stateDir: lookup("state-dir")!,
      kubeAnnotationPrefix: lookup("kube-annotation-prefix")!,
      healthzIP: ipAddress("healthz-ip", lookup("healthz-ip")!),
      healthzPort: integer("healthz-port", lookup("healthz-port")!, 0, 65535),
      userAgent: lookup("user-agent")!,
      resyncSeconds: integer("resync-seconds", lookup("resync-seconds")!, 1, 86400),
      logLevel: logLevel as DaemonFlags["logLevel"],
    },
  };
}

/**
 * keepnet-vtepd's command line. It takes every flag flanneld takes (main.go, plus the klog flags
 * `-v`, `-vmodule` and `-log_backtrace_at` that flanneld copies in), in the syntax of Go's flag
 * package, so a flanneld DaemonSet's arguments either do here what they do there or stop the
 * daemon with the reason — never silently nothing:
 *
 * - `-name` and `--name` alike; `--name=value`, or `--name value` for all but booleans;
 * - booleans alone (`--ip-masq`) or with Go's values (`--ip-masq=false`, `=0`, `=t`, `=TRUE`…);
 * - a repeated flag: the last value wins, except `--iface` and `--iface-regex`, which collect;
 * - flanneld's etcd subnet manager flags are refused unless they keep their defaults
 *   (keepnet-vtepd is a kube subnet manager only), as is `--kube-subnet-mgr=false`;
 * - an argument that is not a flag is an error (Go stops parsing there and flanneld ignores the
 *   rest, so `--ip-masq false` would silently drop every flag after it).
 *
 * keepnet's own flags (`--node-name`, `--state-dir`, `--user-agent`, `--resync-seconds`,
 * `--log-level`) follow the same syntax. Every flag can also come from the environment as
 * `KEEPNET_<NAME>` (e.g. `KEEPNET_KUBE_API_URL`) or flanneld's `FLANNELD_<NAME>`. Precedence:
 * flag, KEEPNET_*, FLANNELD_*, default; an empty variable counts as unset (as in flanneld).
 *
 * The node name comes from `--node-name` or `NODE_NAME`; without either, from `POD_NAME` and
 * `POD_NAMESPACE` (the pod's `spec.nodeName`: `lookupPodNodeName` in src/kube/pod_node_name.ts).
 *
 * @module
 */
import type { PodRef } from "../kube/pod_node_name.ts";
import { parseIP } from "../net/ip.ts";
import { VERSION } from "../version.ts";
import { compileGoRegexp, GoRegexpError } from "./go_regexp.ts";

export type { PodRef };

export interface DaemonFlags {
  kubeconfigFile?: string;
  kubeApiUrl?: string;
  /**
   * This node's name from `--node-name` or `NODE_NAME`; "" when it is to be looked up from the
   * pod (`podRef`).
   */
  nodeName: string;
  /** Set exactly when `nodeName` is "": the pod whose `spec.nodeName` to use. */
  podRef?: PodRef;
  /** `--iface`, repeatable: interface names or IP addresses, the first that qualifies wins. */
  iface: string[];
  /** `--iface-regex`, repeatable: Go regular expressions, tried after every `--iface`. */
  ifaceRegex: string[];
  /** `--iface-can-reach`: an IP address; the interface the kernel would use to reach it. */
  ifaceCanReach?: string;
  /** `--public-ip`: an IPv4 address. */
  publicIP?: string;
  /** `--public-ipv6`: an IPv6 address. */
  publicIPv6?: string;
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
  /** `--ip-masq`: install flannel's masquerade rules (default false). */
  ipMasq: boolean;
  /** `--ip-masq-fully-random-disable`: MASQUERADE without `--random-fully` (default false). */
  ipMasqFullyRandomDisable: boolean;
  /** `--iptables-resync`: seconds between checks of the masquerade and forward rules (5). */
  iptablesResyncSeconds: number;
  /** `--iptables-forward-rules`: accept the overlay's traffic in FORWARD (default true). */
  iptablesForwardRules: boolean;
  /** `--ip-blackhole-route`: a blackhole route for the own pod CIDR (default false). */
  ipBlackholeRoute: boolean;
  /** `--set-node-network-unavailable`: set NetworkUnavailable=False when ready (default true). */
  setNodeNetworkUnavailable: boolean;
  /**
   * Flags and variables accepted but not acted upon, each a sentence saying why, for the daemon
   * to log at start (e.g. `EVENT_QUEUE_DEPTH`).
   */
  notices: string[];
}

export type ParsedFlags =
  | { kind: "run"; flags: DaemonFlags }
  | { kind: "help"; text: string }
  | { kind: "version"; text: string };

export class FlagError extends Error {
  override name = "FlagError";
}

type FlagKind = "string" | "list" | "bool" | "int";

interface FlagSpec {
  kind: FlagKind;
  description: string;
  default?: string;
  /**
   * flanneld takes this flag but keepnet-vtepd cannot do what it asks: the reason, given when
   * it is set to anything but its default.
   */
  unsupported?: string;
  /** Accepted and not acted upon: the reason, a notice when it is set to anything but "". */
  ignored?: string;
}

const ETCD_ONLY = "it configures flanneld's etcd subnet manager";

const FLAGS: Record<string, FlagSpec> = {
  "kube-subnet-mgr": {
    kind: "bool",
    default: "false",
    description: "accepted for flanneld's DaemonSet: keepnet-vtepd is always a kube subnet manager",
  },
  "kubeconfig-file": {
    kind: "string",
    description:
      "kubeconfig file; with neither this nor --kube-api-url the in-cluster config is used",
  },
  "kube-api-url": {
    kind: "string",
    description: "API server URL, e.g. http://127.0.0.1:10261 for a local yurthub",
  },
  "node-name": { kind: "string", description: "this node's name (also NODE_NAME)" },
  "iface": {
    kind: "list",
    description:
      "interface (name or IP) for the VXLAN underlay; repeatable, the first that qualifies wins",
  },
  "iface-regex": {
    kind: "list",
    description:
      "Go regular expression matched against interface addresses, then names; repeatable, tried after --iface",
  },
  "iface-can-reach": {
    kind: "string",
    description:
      "IP address: use the interface the kernel routes it through (after --iface and --iface-regex)",
  },
  "public-ip": {
    kind: "string",
    description: "IPv4 address advertised to peers (default: the interface's address)",
  },
  "public-ipv6": {
    kind: "string",
    description: "IPv6 address advertised to peers (default: the interface's address)",
  },
  "net-config-path": {
    kind: "string",
    description: "flannel's net-conf.json",
    default: "/etc/kube-flannel/net-conf.json",
  },
  "subnet-file": {
    kind: "string",
    description: "where to write flannel's subnet.env",
    default: "/run/flannel/subnet.env",
  },
  "kube-annotation-prefix": {
    kind: "string",
    description: "prefix of the node annotations",
    default: "flannel.alpha.coreos.com",
  },
  "ip-masq": {
    kind: "bool",
    description: "masquerade traffic from pods to outside the overlay network",
    default: "false",
  },
  "ip-masq-fully-random-disable": {
    kind: "bool",
    description: "masquerade without --random-fully",
    default: "false",
  },
  "iptables-resync": {
    kind: "int",
    description: "seconds between checks (and repairs) of the masquerade and forward rules",
    default: "5",
  },
  "iptables-forward-rules": {
    kind: "bool",
    description: "accept the overlay network's traffic in the FORWARD chain",
    default: "true",
  },
  "ip-blackhole-route": {
    kind: "bool",
    description: "add a blackhole route for this node's pod CIDR",
    default: "false",
  },
  "set-node-network-unavailable": {
    kind: "bool",
    description: "set the node's NetworkUnavailable condition to False once ready",
    default: "true",
  },
  "healthz-ip": {
    kind: "string",
    description: "address of the /healthz and /readyz server",
    default: "0.0.0.0",
  },
  "healthz-port": {
    kind: "int",
    description: "port of the /healthz and /readyz server; 0 disables it",
    default: "0",
  },
  "state-dir": {
    kind: "string",
    description: "directory of the daemon's persistent state",
    default: "/var/lib/keepnet",
  },
  "user-agent": {
    kind: "string",
    description: "HTTP User-Agent; starting with flanneld/ makes yurthub cache our requests",
    default: `flanneld/keepnet-vtepd-${VERSION}`,
  },
  "resync-seconds": {
    kind: "int",
    description: "seconds between full kernel reconciliations",
    default: "30",
  },
  "log-level": { kind: "string", description: "debug, info, warn or error", default: "info" },
  "v": {
    kind: "int",
    description: "klog verbosity, as flanneld: 2 or more logs at debug level unless --log-level",
    default: "0",
  },
  "vmodule": {
    kind: "string",
    description: "klog per-file verbosity: accepted and ignored",
    ignored: "keepnet-vtepd has no per-file log verbosity; use --log-level",
  },
  "log_backtrace_at": {
    kind: "string",
    description: "klog backtrace location: accepted and ignored",
    ignored: "keepnet-vtepd logs no Go backtraces",
  },
  "subnet-lease-renew-margin": {
    kind: "int",
    description: "flanneld etcd mode only: refused unless 60",
    default: "60",
    unsupported: ETCD_ONLY,
  },
  "etcd-endpoints": {
    kind: "string",
    description: "flanneld etcd mode only: refused",
    default: "http://127.0.0.1:4001,http://127.0.0.1:2379",
    unsupported: ETCD_ONLY,
  },
  "etcd-prefix": {
    kind: "string",
    description: "flanneld etcd mode only: refused",
    default: "/coreos.com/network",
    unsupported: ETCD_ONLY,
  },
  "etcd-keyfile": {
    kind: "string",
    description: "flanneld etcd mode only: refused",
    default: "",
    unsupported: ETCD_ONLY,
  },
  "etcd-certfile": {
    kind: "string",
    description: "flanneld etcd mode only: refused",
    default: "",
    unsupported: ETCD_ONLY,
  },
  "etcd-cafile": {
    kind: "string",
    description: "flanneld etcd mode only: refused",
    default: "",
    unsupported: ETCD_ONLY,
  },
  "etcd-username": {
    kind: "string",
    description: "flanneld etcd mode only: refused",
    default: "",
    unsupported: ETCD_ONLY,
  },
  "etcd-password": {
    kind: "string",
    description: "flanneld etcd mode only: refused",
    default: "",
    unsupported: ETCD_ONLY,
  },
  "version": { kind: "bool", description: "print the version and exit", default: "false" },
};

/** Environment variables flanneld reads besides FLANNELD_*, and what keepnet-vtepd does. */
const IGNORED_ENVIRONMENT: Record<string, string> = {
  EVENT_QUEUE_DEPTH:
    "keepnet-vtepd has no event queue to size: node changes are kept per node, the latest winning",
  CONT_WHEN_CACHE_NOT_READY:
    "keepnet-vtepd never exits for a node cache that is not synced: it runs from its local state until the API answers",
};

const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** Kubernetes names: a namespace is a DNS label, a pod name a DNS subdomain. */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const POD_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function envName(flag: string, prefix: string): string {
  return `${prefix}_${flag.toUpperCase().replaceAll("-", "_")}`;
}

function usage(): string {
  const lines = [
    `keepnet-vtepd ${VERSION}: flannel-compatible VXLAN VTEP daemon that keeps its MAC`,
    "",
    "Usage: keepnet-vtepd [flags]   (flanneld's flags and syntax: -flag or --flag, --flag=value)",
    "",
  ];
  for (const [name, spec] of Object.entries(FLAGS)) {
    if (name === "version") continue;
    const fallback = spec.default !== undefined && spec.default !== ""
      ? ` (default ${JSON.stringify(spec.default)})`
      : "";
    lines.push(
      `  --${name}${spec.kind === "bool" ? "[=true|false]" : ""}`,
      `      ${spec.description}${fallback}; env ${envName(name, "KEEPNET")}`,
    );
  }
  lines.push(
    "  --help, --version",
    "",
    "Environment: NODE_NAME, or POD_NAME and POD_NAMESPACE (the node is the pod's spec.nodeName);",
    "every flag as KEEPNET_<FLAG> or flanneld's FLANNELD_<FLAG>.",
  );
  return lines.join("\n");
}

/** Go's strconv.ParseBool. */
function goBool(name: string, text: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  throw new FlagError(`--${name} must be true or false, got ${JSON.stringify(text)}`);
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

/** An IP literal of `family` if given (a name would mean a DNS wait at start). */
function ipAddress(name: string, text: string, family?: 4 | 6): string {
  const ip = parseIP(text);
  if (!ip || (family !== undefined && ip.family !== family)) {
    const what = family === undefined ? "an IP" : family === 4 ? "an IPv4" : "an IPv6";
    throw new FlagError(`--${name} must be ${what} address, got ${JSON.stringify(text)}`);
  }
  return text;
}

interface Scanned {
  values: Map<string, string[]>;
  help: boolean;
}

/** The command line as Go's flag package reads it, checked against FLAGS. */
function scan(argv: string[]): Scanned {
  const values = new Map<string, string[]>();
  let help = false;
  let previousBool: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      const rest = argv.slice(i + 1);
      if (rest.length > 0) throw new FlagError(`unexpected argument ${JSON.stringify(rest[0])}`);
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      const hint = previousBool && /^(true|false|[01tTfF]|TRUE|FALSE|True|False)$/.test(arg)
        ? `: a boolean flag takes its value as --${previousBool}=${arg}`
        : " (flags only)";
      throw new FlagError(`unexpected argument ${JSON.stringify(arg)}${hint}`);
    }
    const body = arg.startsWith("--") ? arg.slice(2) : arg.slice(1);
    if (body === "" || body.startsWith("-") || body.startsWith("=")) {
      throw new FlagError(`bad flag syntax: ${arg}`);
    }
    const equals = body.indexOf("=");
    const name = equals < 0 ? body : body.slice(0, equals);
    let value = equals < 0 ? undefined : body.slice(equals + 1);
    previousBool = undefined;
    if (name === "h" || name === "help") {
      help = true;
      continue;
    }
    const spec = FLAGS[name];
    if (!spec) throw new FlagError(`unknown flag --${name}`);
    if (spec.kind === "bool") {
      if (value === undefined) previousBool = name;
      value = String(goBool(name, value ?? "true"));
    } else if (value === undefined) {
      if (i + 1 >= argv.length) throw new FlagError(`--${name} needs a value`);
      value = argv[++i]!;
    }
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  return { values, help };
}

/**
 * Parses argv and the environment; throws FlagError with a message for the user. IPv6 text
 * needs `loadIPv6()` (src/net/ip.ts) to have been awaited.
 */
export function parseFlags(argv: string[], env: (name: string) => string | undefined): ParsedFlags {
  const { values, help } = scan(argv);
  if (help) return { kind: "help", text: usage() };
  const nonEmpty = (name: string): string | undefined => {
    const value = env(name);
    return value === "" ? undefined : value;
  };
  const fromEnv = (name: string): string | undefined =>
    nonEmpty(envName(name, "KEEPNET")) ?? nonEmpty(envName(name, "FLANNELD"));
  /** The value given (flag, then environment), undefined when given nowhere. */
  const given = (name: string): string | undefined => values.get(name)?.at(-1) ?? fromEnv(name);
  const lookup = (name: string): string | undefined => given(name) ?? FLAGS[name]?.default;
  const bool = (name: string): boolean => goBool(name, lookup(name)!);
  const list = (name: string, split: boolean): string[] => {
    const fromArgs = values.get(name);
    if (fromArgs) return fromArgs;
    const text = fromEnv(name);
    if (text === undefined) return [];
    // A list in one variable: comma-separated for --iface (names and addresses have no
    // commas); one regex for --iface-regex, whose commas are its own.
    return split ? text.split(",").map((item) => item.trim()).filter((item) => item !== "") : [
      text,
    ];
  };

  if (bool("version")) return { kind: "version", text: `keepnet-vtepd ${VERSION}` };
  const notices = checkFlanneldOnly(given);

  // klog's -v, as flanneld's DaemonSets may carry it: its debug messages are at V(2) and up.
  const verbosity = integer("v", lookup("v")!, 0, 2 ** 31 - 1);
  const logLevel = given("log-level") ?? (verbosity >= 2 ? "debug" : "info");
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
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
  const ifaceRegex = list("iface-regex", false);
  for (const pattern of ifaceRegex) {
    try {
      compileGoRegexp(pattern);
    } catch (error) {
      if (!(error instanceof GoRegexpError)) throw error;
      throw new FlagError(
        `--iface-regex ${
          JSON.stringify(pattern)
        } is not a usable regular expression: ${error.message}`,
      );
    }
  }
  const optionalIP = (name: string, family?: 4 | 6) => {
    const text = lookup(name);
    return text === undefined ? undefined : ipAddress(name, text, family);
  };
  for (const [name, reason] of Object.entries(IGNORED_ENVIRONMENT)) {
    const value = env(name);
    if (value !== undefined && value !== "") notices.push(`${name}=${value} is ignored: ${reason}`);
  }

  return {
    kind: "run",
    flags: {
      kubeconfigFile: lookup("kubeconfig-file"),
      kubeApiUrl,
      ...nodeNameSource(lookup("node-name") ?? nonEmpty("NODE_NAME"), nonEmpty),
      iface: list("iface", true),
      ifaceRegex,
      ifaceCanReach: optionalIP("iface-can-reach"),
      publicIP: optionalIP("public-ip", 4),
      publicIPv6: optionalIP("public-ipv6", 6),
      netConfigPath: lookup("net-config-path")!,
      subnetFile: lookup("subnet-file")!,
      stateDir: lookup("state-dir")!,
      kubeAnnotationPrefix: lookup("kube-annotation-prefix")!,
      healthzIP: ipAddress("healthz-ip", lookup("healthz-ip")!),
      healthzPort: integer("healthz-port", lookup("healthz-port")!, 0, 65535),
      userAgent: lookup("user-agent")!,
      resyncSeconds: integer("resync-seconds", lookup("resync-seconds")!, 1, 86400),
      logLevel: logLevel as DaemonFlags["logLevel"],
      ipMasq: bool("ip-masq"),
      ipMasqFullyRandomDisable: bool("ip-masq-fully-random-disable"),
      iptablesResyncSeconds: integer("iptables-resync", lookup("iptables-resync")!, 1, 86400),
      iptablesForwardRules: bool("iptables-forward-rules"),
      ipBlackholeRoute: bool("ip-blackhole-route"),
      setNodeNetworkUnavailable: bool("set-node-network-unavailable"),
      notices,
    },
  };
}

/**
 * flanneld's flags keepnet-vtepd does not act on: refused unless they keep flanneld's default
 * (so nothing a DaemonSet asks for is silently not done), or noted when they only tune logging.
 */
function checkFlanneldOnly(given: (name: string) => string | undefined): string[] {
  const subnetManager = given("kube-subnet-mgr");
  if (subnetManager !== undefined && !goBool("kube-subnet-mgr", subnetManager)) {
    throw new FlagError(
      "--kube-subnet-mgr=false selects flanneld's etcd subnet manager, which keepnet-vtepd does not have (kube subnet manager only): drop the flag or set it true",
    );
  }
  const notices: string[] = [];
  for (const [name, spec] of Object.entries(FLAGS)) {
    const value = given(name);
    if (value === undefined) continue;
    if (spec.unsupported && !sameValue(spec, value)) {
      throw new FlagError(
        `--${name} is not supported by keepnet-vtepd (kube subnet manager only): ${spec.unsupported}`,
      );
    }
    if (spec.ignored && value !== "") notices.push(`--${name} is ignored: ${spec.ignored}`);
  }
  return notices;
}

function sameValue(spec: FlagSpec, value: string): boolean {
  if (spec.kind === "int") return /^[0-9]+$/.test(value) && Number(value) === Number(spec.default);
  return value === spec.default;
}

/** `--node-name`/`NODE_NAME`, else the pod named by POD_NAME and POD_NAMESPACE. */
function nodeNameSource(
  nodeName: string | undefined,
  env: (name: string) => string | undefined,
): Pick<DaemonFlags, "nodeName" | "podRef"> {
  if (nodeName !== undefined) return { nodeName };
  const name = env("POD_NAME");
  const namespace = env("POD_NAMESPACE");
  if (name === undefined && namespace === undefined) {
    throw new FlagError(
      "the node name is required: --node-name or NODE_NAME, or POD_NAME and POD_NAMESPACE (the node is then the pod's spec.nodeName)",
    );
  }
  if (name === undefined || namespace === undefined) {
    const missing = name === undefined ? "POD_NAME" : "POD_NAMESPACE";
    throw new FlagError(
      `NODE_NAME is not set and ${missing} is not either: POD_NAME and POD_NAMESPACE must both be set to look the node name up`,
    );
  }
  if (!POD_NAME.test(name)) {
    throw new FlagError(`POD_NAME ${JSON.stringify(name)} is not a Kubernetes pod name`);
  }
  if (!NAMESPACE_NAME.test(namespace)) {
    throw new FlagError(`POD_NAMESPACE ${JSON.stringify(namespace)} is not a namespace name`);
  }
  return { nodeName: "", podRef: { namespace, name } };
}

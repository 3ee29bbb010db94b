/**
 * The IPAM configuration, loaded exactly as host-local's `allocator.LoadIPAMConfig` does (same
 * Go JSON decoding, same order of checks, same messages), plus keepnet's own keys
 * `ipam.keepPodIP` and `ipam.bindingTTL`, which host-local ignores.
 *
 * @module
 */
import { loadArgs } from "../cni/args.ts";
import { GoDecoder } from "../cni/go_json.ts";
import type { Route } from "../cni/result.ts";
import { versionAtLeast } from "../cni/version.ts";
import { type CIDR, parseCIDR } from "../net/cidr.ts";
import { type IP, parseIP } from "../net/ip.ts";
import { parseGoDuration } from "./duration.ts";
import type { RangeInput } from "./range.ts";
import {
  canonicalizeRangeSet,
  type RangeSet,
  rangeSetFamily,
  rangeSetsOverlap,
} from "./range_set.ts";

export const DEFAULT_DATA_DIR = "/var/lib/cni/networks";

export interface IPAMConfig {
  /** The network's name (top-level `name`): the store directory under dataDir. */
  name: string;
  /** `cniVersion` as written ("" when absent). */
  cniVersion: string;
  /** In order: runtimeConfig.ipRanges, the legacy `subnet` range, `ranges`. Index = rangeID. */
  rangeSets: RangeSet[];
  routes: (Route | null)[];
  /** As configured; "" means the default. */
  dataDir: string;
  resolvConf: string;
  /** CNI_ARGS `IP`, then args.cni.ips, then runtimeConfig.ips; duplicates not yet removed. */
  requestedIPs: IP[];
  /** Give each pod (namespace/name) its previous IP back. Default true. */
  keepPodIP: boolean;
  /** Released bindings older than this (milliseconds) are deleted. */
  bindingTTL?: number;
}

/** An IP in `ips` lists (plugins `pkg/ip.IP`): `<ip>` or `<ip>/<prefix>`, "" = none. */
function parseListIP(text: string): IP | undefined {
  if (text === "") return undefined;
  const ip = text.includes("/") ? parseCIDR(text)?.ip : parseIP(text);
  if (!ip) throw new Error(`invalid IP address ${text}`);
  return ip;
}

/** What the Go struct decode of the network config yields, before any checks. */
interface DecodedNet {
  name: string;
  cniVersion: string;
  ipam?: {
    legacy: RangeInput;
    hasLegacySubnet: boolean;
    routes: (Route | null)[];
    dataDir: string;
    resolvConf: string;
    ranges: RangeInput[][];
  };
  runtimeRanges: RangeInput[][];
  runtimeIPs: (IP | undefined)[];
  argsIPs: (IP | undefined)[];
}

function decodeNet(config: unknown): DecodedNet {
  const d = new GoDecoder();
  const net: DecodedNet = {
    name: "",
    cniVersion: "",
    runtimeRanges: [],
    runtimeIPs: [],
    argsIPs: [],
  };

  const ipField = (assign: (ip: IP | undefined) => void) => (value: unknown) => {
    if (value === null) return assign(undefined);
    const text = d.string(value, "net.IP");
    if (text === undefined) return;
    if (text === "") return assign(undefined);
    const ip = parseIP(text);
    if (!ip) throw new Error(`invalid IP address: ${text}`);
    assign(ip);
  };
  // types.IPNet has its own UnmarshalJSON: every error stops decoding, null included.
  const cidrValue = (value: unknown): CIDR => {
    if (value === null) throw new Error("invalid CIDR address: ");
    if (typeof value !== "string") throw d.fatalTypeError(value, "string");
    const cidr = parseCIDR(value);
    if (!cidr) throw new Error(`invalid CIDR address: ${value}`);
    return cidr;
  };
  const rangeFields = (range: RangeInput, onSubnet?: () => void) => ({
    rangeStart: ipField((ip) => (range.rangeStart = ip)),
    rangeEnd: ipField((ip) => (range.rangeEnd = ip)),
    subnet: (value: unknown) => {
      range.subnet = cidrValue(value);
      onSubnet?.();
    },
    gateway: ipField((ip) => (range.gateway = ip)),
  });
  const rangeSet = (value: unknown): RangeInput[] =>
    d.array(value, "allocator.RangeSet", (item) => {
      const range: RangeInput = {};
      d.struct(item, "Range", "allocator.Range", rangeFields(range));
      return range;
    }) ?? [];
  // Slices: null empties them, a wrong type leaves them as they were (undefined here).
  const rangeSets = (value: unknown): RangeInput[][] | undefined => {
    const sets = d.array(value, "[]allocator.RangeSet", rangeSet);
    return sets === null ? [] : sets;
  };
  const listIPs = (value: unknown): (IP | undefined)[] | undefined => {
    const ips = d.array(value, "[]*ip.IP", (item) => {
      if (item === null) return undefined;
      const text = d.string(item, "*ip.IP");
      return text === undefined ? undefined : parseListIP(text);
    });
    return ips === null ? [] : ips;
  };
  const route = (value: unknown): Route | null => {
    if (value === null) return null;
    return d.nested((inner) => {
      const out: Route = {};
      const int = (value: unknown) => inner.int(value);
      const optionalInt = (value: unknown) => (value === null ? undefined : inner.int(value));
      inner.struct(value, "route", "types.route", {
        dst: (value) => (out.dst = cidrValue(value)),
        gw: (value) => {
          if (value === null) return (out.gw = undefined);
          const text = inner.string(value, "net.IP");
          if (text === undefined) return;
          if (text === "") return (out.gw = undefined);
          const ip = parseIP(text);
          if (!ip) throw new Error(`invalid IP address: ${text}`);
          out.gw = ip;
        },
        mtu: (value) => (out.mtu = int(value) ?? out.mtu),
        advmss: (value) => (out.advmss = int(value) ?? out.advmss),
        priority: (value) => (out.priority = int(value) ?? out.priority),
        table: (value) => (out.table = optionalInt(value)),
        scope: (value) => (out.scope = optionalInt(value)),
      });
      return out;
    });
  };

  d.struct(config, "Net", "allocator.Net", {
    name: (value) => (net.name = d.string(value) ?? net.name),
    cniVersion: (value) => (net.cniVersion = d.string(value) ?? net.cniVersion),
    ipam: (value) => {
      if (value === null) return (net.ipam = undefined);
      const ipam = net.ipam ?? {
        legacy: {},
        hasLegacySubnet: false,
        routes: [],
        dataDir: "",
        resolvConf: "",
        ranges: [],
      };
      const decoded = d.struct(value, "IPAMConfig", "allocator.IPAMConfig", {
        ...rangeFields(ipam.legacy, () => (ipam.hasLegacySubnet = true)),
        Name: (value) => d.string(value),
        type: (value) => d.string(value),
        routes: (value) => {
          const routes = d.array(value, "[]*types.Route", route);
          if (routes !== undefined) ipam.routes = routes ?? [];
        },
        dataDir: (value) => (ipam.dataDir = d.string(value) ?? ipam.dataDir),
        resolvConf: (value) => (ipam.resolvConf = d.string(value) ?? ipam.resolvConf),
        ranges: (value) => (ipam.ranges = rangeSets(value) ?? ipam.ranges),
      });
      if (decoded) net.ipam = ipam;
    },
    runtimeConfig: (value) => {
      d.struct(
        value,
        "",
        'struct { IPRanges []allocator.RangeSet "json:\\"ipRanges,omitempty\\""; IPs []*ip.IP "json:\\"ips,omitempty\\"" }',
        {
          ipRanges: (value) => (net.runtimeRanges = rangeSets(value) ?? net.runtimeRanges),
          ips: (value) => (net.runtimeIPs = listIPs(value) ?? net.runtimeIPs),
        },
      );
    },
    args: (value) => {
      d.struct(value, "", 'struct { A *allocator.IPAMArgs "json:\\"cni\\"" }', {
        cni: (value) => {
          d.struct(value, "IPAMArgs", "allocator.IPAMArgs", {
            ips: (value) => (net.argsIPs = listIPs(value) ?? net.argsIPs),
          });
        },
      });
    },
  });
  d.finish();
  return net;
}

/** Our keys in `ipam`, decoded once host-local's part of the config is known to be valid. */
function decodeKeepOptions(config: unknown): { keepPodIP: boolean; bindingTTL?: number } {
  const d = new GoDecoder();
  let keepPodIP = true;
  let ttlText: string | undefined;
  d.struct(config, "Net", "allocator.Net", {
    ipam: (value) =>
      d.struct(value, "IPAMConfig", "allocator.IPAMConfig", {
        keepPodIP: (value) => (keepPodIP = d.bool(value) ?? keepPodIP),
        bindingTTL: (value) => (ttlText = d.string(value) ?? ttlText),
      }),
  });
  d.finish();
  if (ttlText === undefined || ttlText === "") return { keepPodIP };
  let bindingTTL: number;
  try {
    bindingTTL = parseGoDuration(ttlText);
  } catch (error) {
    throw new Error(`invalid ipam.bindingTTL: ${(error as Error).message}`);
  }
  if (!(bindingTTL > 0)) {
    throw new Error(`invalid ipam.bindingTTL "${ttlText}": it must be a positive duration`);
  }
  return { keepPodIP, bindingTTL };
}

/**
 * Loads the config of one plugin call from the parsed stdin and CNI_ARGS. Throws host-local's
 * messages (reported as code 999).
 */
export function loadIPAMConfig(config: unknown, envArgs: string): IPAMConfig {
  const net = decodeNet(config);
  const ipam = net.ipam;
  if (!ipam) throw new Error("IPAM config missing 'ipam' key");

  const requested: (IP | undefined)[] = [];
  if (envArgs !== "") {
    let fromArgs: IP | undefined;
    // An empty `IP=` leaves an earlier value in place, as Go's UnmarshalText does.
    loadArgs(envArgs, { IP: (value) => (fromArgs = parseListIP(value) ?? fromArgs) });
    if (fromArgs) requested.push(fromArgs);
  }
  requested.push(...net.argsIPs, ...net.runtimeIPs);
  const requestedIPs = requested.map((ip) => {
    if (!ip) throw new Error("cannot understand ip: IP <nil> not v4 nor v6");
    return ip;
  });

  const inputs: RangeInput[][] = [
    ...net.runtimeRanges,
    ...(ipam.hasLegacySubnet ? [[ipam.legacy]] : []),
    ...ipam.ranges,
  ];
  if (inputs.length === 0) throw new Error("no IP ranges specified");
  const rangeSets = inputs.map((input, index) => {
    try {
      return canonicalizeRangeSet(input);
    } catch (error) {
      throw new Error(`invalid range set ${index}: ${(error as Error).message}`);
    }
  });

  const families = rangeSets.map(rangeSetFamily);
  const count = (family: number) => families.filter((f) => f === family).length;
  if ((count(4) > 1 || count(6) > 1) && !versionAtLeast(net.cniVersion, "0.3.0")) {
    throw new Error(
      `CNI version ${net.cniVersion} does not support more than 1 address per family`,
    );
  }
  for (let i = 0; i < rangeSets.length - 1; i++) {
    for (let j = i + 1; j < rangeSets.length; j++) {
      if (rangeSetsOverlap(rangeSets[i]!, rangeSets[j]!)) {
        throw new Error(`range set ${i} overlaps with ${j}`);
      }
    }
  }

  return {
    name: net.name,
    cniVersion: net.cniVersion,
    rangeSets,
    routes: ipam.routes,
    dataDir: ipam.dataDir,
    resolvConf: ipam.resolvConf,
    requestedIPs,
    ...decodeKeepOptions(config),
  };
}

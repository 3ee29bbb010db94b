/**
 * The external (underlay) interface VXLAN packets leave through, chosen as flanneld chooses it
 * (main.go and pkg/ipmatch/match.go, `LookupExtIface`):
 *
 * 1. every `--iface` in order: an interface name, or an address of an enabled family that an
 *    interface holds;
 * 2. then every `--iface-regex` in order: for each regex, first the interfaces' addresses are
 *    matched (interface by interface, in index order), then the interface names;
 * 3. then `--iface-can-reach <ip>`: the interface (and source address) the kernel would use to
 *    send to that address;
 * 4. only when none of the three flags is given: the interface holding `--public-ip` (or, with
 *    no `--public-ip`, `--public-ipv6`) if one is given, else the default route's interface.
 *
 * The result carries the interface's address of each enabled family: an IPv4 address for an
 * IPv4 overlay, an IPv6 one for an IPv6 overlay, both for dual-stack. Both come from the same
 * interface, as in flanneld: a candidate lacking an address of an enabled family does not
 * qualify, and with dual-stack the IPv4 and IPv6 default routes must leave through the same
 * interface, or no interface is chosen (give `--iface` then).
 *
 * Two kinds of failure: UnderlayFlagError for flags that can never work (a bad regex, an
 * `--iface` address of a disabled family) — stop and tell the operator; UnderlayNotFoundError
 * when nothing qualifies yet — an interface, address or route may still come up, so try again.
 *
 * @module
 */
import { type Family, ipEquals, parseIP } from "../net/ip.ts";
import type { Address, Link, Netlink } from "../netlink/mod.ts";
import { compileGoRegexp, GoRegexpError } from "./go_regexp.ts";
import { usableAddresses } from "./interface_addresses.ts";

/** How to pick the interface: flanneld's three flags. */
export interface InterfaceChoice {
  /** `--iface`, repeatable: interface names or IP addresses, the first that qualifies wins. */
  iface: string[];
  /** `--iface-regex`, repeatable: Go regular expressions, tried after every `--iface`. */
  ifaceRegex: string[];
  /** `--iface-can-reach`: an IP address; tried after every regex. */
  ifaceCanReach?: string;
}

export interface UnderlayOptions extends InterfaceChoice {
  /** The overlay carries IPv4 (net-conf EnableIPv4): the interface needs an IPv4 address. */
  ipv4: boolean;
  /** The overlay carries IPv6 (net-conf EnableIPv6): the interface needs an IPv6 address. */
  ipv6: boolean;
  /**
   * `--public-ip` (after a `node-public-ip` annotation, if the caller has read one). With none
   * of the three choice flags, flanneld takes the interface that holds it.
   */
  publicIP?: string;
  /** `--public-ipv6`: the same, used when there is no `publicIP`. */
  publicIPv6?: string;
}

export interface UnderlayInterface {
  index: number;
  name: string;
  mtu: number;
  /** The interface's IPv4 address (the one given or matched, else its best); set when ipv4. */
  address?: string;
  /** The interface's IPv6 address, chosen the same way; set when ipv6. */
  address6?: string;
  /** Why this interface, for the log: `--iface eth1`, `--iface-regex ^eth`, `default route`... */
  chosenBy: string;
}

/** No interface qualifies. */
export class UnderlayError extends Error {
  override name = "UnderlayError";
}

/** The flags can never select an interface as given: report them, do not retry. */
export class UnderlayFlagError extends UnderlayError {
  override name = "UnderlayFlagError";
}

/** Nothing qualifies yet; the interface, its address or the route may come later: retry. */
export class UnderlayNotFoundError extends UnderlayError {
  override name = "UnderlayNotFoundError";
}

export type UnderlayKernel = Pick<
  Netlink,
  "listLinks" | "listAddresses" | "listRoutes" | "lookupRoute"
>;

const RTN_UNICAST = 1;

function familyName(family: Family): string {
  return family === 4 ? "IPv4" : "IPv6";
}

function enabledFamilies(options: { ipv4: boolean; ipv6: boolean }): Family[] {
  return [...(options.ipv4 ? [4 as const] : []), ...(options.ipv6 ? [6 as const] : [])];
}

/**
 * What is wrong with the interface flags as given, before any interface is looked at: an
 * `--iface` address of a family the overlay does not carry, a regex Go would not compile (or
 * that keepnet cannot give Go's meaning), an `--iface-can-reach` that is no IP address. Such a
 * flag is an operator's error, not an interface that may still come up, so the daemon stops
 * with this message instead of waiting. `ipv4` defaults to true (every overlay but IPv6-only).
 * IPv6 text needs `loadIPv6()` (src/net/ip.ts) to have been awaited.
 */
export function ifaceFlagProblem(
  choice: InterfaceChoice & { ipv4?: boolean; ipv6: boolean },
): string | undefined {
  const ipv4 = choice.ipv4 ?? true;
  for (const wanted of choice.iface) {
    if (wanted === "") return "--iface is empty: give an interface name or an IP address";
    const family = parseIP(wanted)?.family;
    if (family === 6 && !choice.ipv6) {
      return `--iface ${wanted} is an IPv6 address, but the overlay is IPv4 only (net-conf EnableIPv6 is false): give an interface name or an IPv4 address`;
    }
    if (family === 4 && !ipv4) {
      return `--iface ${wanted} is an IPv4 address, but the overlay is IPv6 only (net-conf EnableIPv4 is false): give an interface name or an IPv6 address`;
    }
  }
  for (const pattern of choice.ifaceRegex) {
    try {
      compileGoRegexp(pattern);
    } catch (error) {
      if (!(error instanceof GoRegexpError)) throw error;
      return `--iface-regex ${
        JSON.stringify(pattern)
      } is not a usable regular expression: ${error.message}`;
    }
  }
  const canReach = choice.ifaceCanReach;
  if (canReach !== undefined && !parseIP(canReach)) {
    return `--iface-can-reach must be an IP address, got ${JSON.stringify(canReach)}`;
  }
  return undefined;
}

/** One look at the kernel: links in index order and every address. */
interface Snapshot {
  links: Link[];
  addresses: Address[];
  families: Family[];
}

/** A candidate interface and the addresses already fixed by how it was found. */
interface Candidate {
  link: Link;
  fixed: Partial<Record<Family, string>>;
  chosenBy: string;
}

/** The candidate with an address of every enabled family, or why it does not qualify. */
function qualify(snapshot: Snapshot, candidate: Candidate): UnderlayInterface | string {
  const { link, fixed, chosenBy } = candidate;
  if (!(link.mtu > 0)) return `${link.name} has no MTU`;
  const underlay: UnderlayInterface = {
    index: link.index,
    name: link.name,
    mtu: link.mtu,
    chosenBy,
  };
  for (const family of snapshot.families) {
    const address = fixed[family] ?? usableAddresses(snapshot.addresses, link.index, family)[0];
    if (address === undefined) return `${link.name} has no usable ${familyName(family)} address`;
    if (family === 4) underlay.address = address;
    else underlay.address6 = address;
  }
  return underlay;
}

function byAddress(snapshot: Snapshot, text: string, chosenBy: string): Candidate | string {
  const ip = parseIP(text)!;
  const owner = snapshot.addresses.find((address) => {
    const held = parseIP(address.address);
    return held !== undefined && ipEquals(held, ip);
  });
  const link = owner && snapshot.links.find((candidate) => candidate.index === owner.ifindex);
  if (!link) return `no interface has the address ${text}`;
  return { link, fixed: { [ip.family]: owner.address }, chosenBy };
}

function byIface(snapshot: Snapshot, wanted: string): UnderlayInterface | string {
  const chosenBy = `--iface ${wanted}`;
  if (parseIP(wanted)) {
    const candidate = byAddress(snapshot, wanted, chosenBy);
    return typeof candidate === "string" ? candidate : qualify(snapshot, candidate);
  }
  const link = snapshot.links.find((candidate) => candidate.name === wanted);
  if (!link) return `no interface is named ${wanted}`;
  return qualify(snapshot, { link, fixed: {}, chosenBy });
}

/**
 * One regex as flanneld applies it: the addresses of each interface first (for dual-stack both
 * an IPv4 and an IPv6 address of the same interface must match), then the names; the first
 * interface whose name matches is taken even if it has no address yet.
 */
function byRegex(snapshot: Snapshot, pattern: string): UnderlayInterface | string {
  const regex = compileGoRegexp(pattern);
  const chosenBy = `--iface-regex ${pattern}`;
  for (const link of snapshot.links) {
    const fixed: Partial<Record<Family, string>> = {};
    for (const family of snapshot.families) {
      const match = usableAddresses(snapshot.addresses, link.index, family)
        .find((address) => regex.test(address));
      if (match !== undefined) fixed[family] = match;
    }
    if (snapshot.families.every((family) => fixed[family] !== undefined)) {
      return qualify(snapshot, { link, fixed, chosenBy });
    }
  }
  const named = snapshot.links.find((link) => regex.test(link.name));
  if (named) return qualify(snapshot, { link: named, fixed: {}, chosenBy });
  const seen = snapshot.links.map((link) => {
    const addresses = snapshot.families.flatMap((family) =>
      usableAddresses(snapshot.addresses, link.index, family)
    );
    return `${link.name}[${addresses.join(" ")}]`;
  });
  return `no interface address or name matches (interfaces: ${seen.join(", ")})`;
}

function byRoute(
  kernel: UnderlayKernel,
  snapshot: Snapshot,
  target: string,
): UnderlayInterface | string {
  const route = kernel.lookupRoute(target);
  if (!route || route.ifindex === undefined) return `no route to ${target}`;
  const link = snapshot.links.find((candidate) => candidate.index === route.ifindex);
  if (!link) return `the route to ${target} leaves through unknown interface ${route.ifindex}`;
  const fixed: Partial<Record<Family, string>> = {};
  if (route.source !== undefined) fixed[route.family] = route.source;
  return qualify(snapshot, { link, fixed, chosenBy: `--iface-can-reach ${target}` });
}

/** The first default route of a family in the main table, as flanneld takes it. */
function defaultRouteLink(
  kernel: UnderlayKernel,
  snapshot: Snapshot,
  family: Family,
): Link | string {
  const everywhere = family === 4 ? "0.0.0.0/0" : "::/0";
  const route = kernel.listRoutes({ family }).find((candidate) =>
    candidate.dst === everywhere && candidate.type === RTN_UNICAST
  );
  if (!route) return `no ${familyName(family)} default route`;
  if (route.ifindex === undefined) {
    return `the ${familyName(family)} default route has several next hops, so no one interface`;
  }
  const link = snapshot.links.find((candidate) => candidate.index === route.ifindex);
  return link ?? `the ${familyName(family)} default route's interface ${route.ifindex} is gone`;
}

function byDefaultRoute(kernel: UnderlayKernel, snapshot: Snapshot): UnderlayInterface | string {
  const links = snapshot.families.map((family) => defaultRouteLink(kernel, snapshot, family));
  const problem = links.find((link) => typeof link === "string");
  if (problem !== undefined) return problem;
  const [first, second] = links as Link[];
  if (second && second.index !== first!.index) {
    return `the IPv4 default route leaves through ${
      first!.name
    } but the IPv6 one through ${second.name}; flanneld requires one interface for both, as keepnet-vtepd does: give --iface`;
  }
  return qualify(snapshot, { link: first!, fixed: {}, chosenBy: "default route" });
}

function select(kernel: UnderlayKernel, options: UnderlayOptions): UnderlayInterface {
  const families = enabledFamilies(options);
  if (families.length === 0) {
    throw new UnderlayFlagError("neither IPv4 nor IPv6 is enabled: there is no overlay to carry");
  }
  const problem = ifaceFlagProblem(options);
  if (problem) throw new UnderlayFlagError(problem);
  const snapshot: Snapshot = {
    links: [...kernel.listLinks()].sort((a, b) => a.index - b.index),
    addresses: kernel.listAddresses(),
    families,
  };
  const tried: string[] = [];
  const attempt = (
    what: string,
    outcome: UnderlayInterface | string,
  ): UnderlayInterface | undefined => {
    if (typeof outcome !== "string") return outcome;
    tried.push(`${what}: ${outcome}`);
    return undefined;
  };
  const explicit = options.iface.length > 0 || options.ifaceRegex.length > 0 ||
    options.ifaceCanReach !== undefined;
  if (explicit) {
    for (const wanted of options.iface) {
      const found = attempt(`--iface ${wanted}`, byIface(snapshot, wanted));
      if (found) return found;
    }
    for (const pattern of options.ifaceRegex) {
      const found = attempt(`--iface-regex ${pattern}`, byRegex(snapshot, pattern));
      if (found) return found;
    }
    if (options.ifaceCanReach !== undefined) {
      const target = options.ifaceCanReach;
      const found = attempt(`--iface-can-reach ${target}`, byRoute(kernel, snapshot, target));
      if (found) return found;
    }
    throw new UnderlayNotFoundError(`no interface qualifies yet: ${tried.join("; ")}`);
  }
  const publicIP = options.publicIP ?? options.publicIPv6;
  if (publicIP !== undefined) {
    const flag = options.publicIP !== undefined ? "--public-ip" : "--public-ipv6";
    const candidate = parseIP(publicIP) ? byAddress(snapshot, publicIP, flag) : "not an IP address";
    const found = attempt(
      `${flag} ${publicIP}`,
      typeof candidate === "string" ? candidate : qualify(snapshot, candidate),
    );
    if (found) return found;
    throw new UnderlayNotFoundError(
      `${
        tried.join("; ")
      } (without --iface, --iface-regex or --iface-can-reach, flanneld too takes the interface holding the public address)`,
    );
  }
  const found = attempt("default route", byDefaultRoute(kernel, snapshot));
  if (found) return found;
  throw new UnderlayNotFoundError(`no interface qualifies yet: ${tried.join("; ")}`);
}

/**
 * The underlay interface for `options`. Throws UnderlayFlagError (never retry) or
 * UnderlayNotFoundError (retry later) with a message naming every candidate and why it failed.
 * IPv6 text needs `loadIPv6()` (src/net/ip.ts) to have been awaited.
 */
export function findUnderlay(kernel: UnderlayKernel, options: UnderlayOptions): UnderlayInterface {
  return select(kernel, options);
}

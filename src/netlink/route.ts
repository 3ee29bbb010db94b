/**
 * Routes: list (filtered by device, family and table), replace, delete, and look up the route the
 * kernel would use for a destination (`ip route get`).
 *
 * Ownership: our `rtnl_route` objects are put in `finally`; a nexthop belongs to us until
 * `rtnl_route_add_nexthop` hands it to the route (freed with it), so it is freed by hand only if
 * building it fails first. `rtnl_route_set_dst` and `rtnl_route_nh_set_gateway` take their own
 * reference on the nl_addr, so ours is put right after. A looked-up route is ours to put; cache
 * objects belong to the cache.
 *
 * @module
 */
import { type CIDR, formatCIDR } from "../net/cidr.ts";
import { type Family, formatIP, type IP } from "../net/ip.ts";
import { drainCache, dumpToCache } from "./cache.ts";
import {
  AF_UNSPEC,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RT_TABLE_UNSPEC,
  RTN_BLACKHOLE,
  RTN_UNSPEC,
  RTNH_F_ONLINK,
  RTPROT_BOOT,
  RTPROT_UNSPEC,
} from "./constants.ts";
import { isUnreachable } from "./errors.ts";
import {
  requireFamily,
  requireIfindex,
  requireInteger,
  requireIP,
  requireNetworkCIDR,
} from "./input.ts";
import {
  afOf,
  buildIPAddr,
  familyOfAf,
  readAddrBytes,
  readIP,
  readPrefixLength,
} from "./nladdr.ts";
import { pointerIn, pointerSlot } from "./outparam.ts";
import type { NetlinkSocket } from "./socket.ts";
import type { Route, RouteFilter, RouteLookup, RouteNexthop, RouteSpec } from "./types.ts";

const UINT32_MAX = 0xffffffff;

function readNexthops(
  socket: NetlinkSocket,
  route: Deno.PointerObject,
  family: Family,
): RouteNexthop[] {
  const lib = socket.lib;
  const nexthops: RouteNexthop[] = [];
  const count = lib.rtnl_route_get_nnexthops(route);
  for (let i = 0; i < count; i++) {
    const nexthop = lib.rtnl_route_nexthop_n(route, i);
    if (nexthop === null) continue;
    const entry: RouteNexthop = { flags: lib.rtnl_route_nh_get_flags(nexthop) };
    const gatewayAddr = lib.rtnl_route_nh_get_gateway(nexthop);
    const gateway = readAddrBytes(lib, gatewayAddr).length > 0
      ? readIP(lib, gatewayAddr, family)
      : undefined;
    if (gateway) entry.gateway = formatIP(gateway);
    const ifindex = lib.rtnl_route_nh_get_ifindex(nexthop);
    if (ifindex > 0) entry.ifindex = ifindex;
    nexthops.push(entry);
  }
  return nexthops;
}

function readRoute(socket: NetlinkSocket, route: Deno.PointerObject): Route | undefined {
  const lib = socket.lib;
  const family = familyOfAf(lib.rtnl_route_get_family(route));
  if (family === undefined) return undefined;
  const dstAddr = lib.rtnl_route_get_dst(route);
  if (dstAddr === null) return undefined;
  const dst = readIP(lib, dstAddr, family);
  if (!dst) return undefined;
  const flags = lib.rtnl_route_get_flags(route);
  const nexthops = readNexthops(socket, route, family);
  const onlink = ((flags | (nexthops[0]?.flags ?? 0)) & RTNH_F_ONLINK) !== 0;
  const result: Route = {
    family,
    dst: `${formatIP(dst)}/${readPrefixLength(lib, dstAddr)}`,
    onlink,
    flags,
    protocol: lib.rtnl_route_get_protocol(route),
    scope: lib.rtnl_route_get_scope(route),
    table: lib.rtnl_route_get_table(route),
    type: lib.rtnl_route_get_type(route),
    metric: lib.rtnl_route_get_priority(route),
    nexthops,
  };
  const only = nexthops.length === 1 ? nexthops[0] : undefined;
  if (only?.gateway !== undefined) result.gateway = only.gateway;
  if (only?.ifindex !== undefined) result.ifindex = only.ifindex;
  return result;
}

/** Routes of one table (default main; 0 for all), optionally of one family and device. */
export function listRoutes(socket: NetlinkSocket, filter: RouteFilter = {}): Route[] {
  const lib = socket.lib;
  const family = requireFamily(filter.family);
  const ifindex = filter.ifindex === undefined ? undefined : requireIfindex(filter.ifindex);
  const table = requireInteger(filter.table ?? RT_TABLE_MAIN, 0, UINT32_MAX, "route table");
  const af = family === undefined ? AF_UNSPEC : afOf(family);
  const cache = dumpToCache(
    socket,
    "list routes",
    (sk, slot) => lib.rtnl_route_alloc_cache(sk, af, 0, slot),
  );
  return drainCache(socket, cache, (object) => {
    if (table !== RT_TABLE_UNSPEC && lib.rtnl_route_get_table(object) !== table) return undefined;
    const route = readRoute(socket, object);
    if (!route || (family !== undefined && route.family !== family)) return undefined;
    if (ifindex !== undefined && !route.nexthops.some((nh) => nh.ifindex === ifindex)) {
      return undefined;
    }
    return route;
  });
}

/** A route request after validation. */
interface RouteRequest {
  dst: CIDR;
  gateway?: IP;
  ifindex?: number;
  onlink: boolean;
  table: number;
  protocol: number;
  metric?: number;
  blackhole: boolean;
  exclusive: boolean;
}

function validateRoute(spec: RouteSpec, forDelete: boolean): RouteRequest {
  const dst = requireNetworkCIDR(spec.dst, "route dst");
  const request: RouteRequest = {
    dst,
    onlink: spec.onlink === true,
    table: requireInteger(spec.table ?? RT_TABLE_MAIN, 1, UINT32_MAX, "route table"),
    protocol: requireInteger(spec.protocol ?? RTPROT_BOOT, 0, 255, "route protocol"),
    blackhole: spec.type === "blackhole",
    exclusive: spec.exclusive === true,
  };
  if (spec.type !== undefined && spec.type !== "unicast" && spec.type !== "blackhole") {
    throw new TypeError(`route type ${JSON.stringify(spec.type)} is not unicast or blackhole`);
  }
  if (spec.gateway !== undefined) {
    const gateway = requireIP(spec.gateway, "route gateway");
    if (gateway.family !== dst.ip.family) {
      throw new TypeError(`route gateway ${spec.gateway} is not of the family of ${spec.dst}`);
    }
    request.gateway = gateway;
  }
  if (spec.ifindex !== undefined) request.ifindex = requireIfindex(spec.ifindex, "route ifindex");
  if (spec.metric !== undefined) {
    request.metric = requireInteger(spec.metric, 0, UINT32_MAX, "route metric");
  }
  if (request.blackhole && (request.gateway !== undefined || request.ifindex !== undefined)) {
    throw new TypeError(`blackhole route ${spec.dst} takes no gateway or device`);
  }
  if (
    !forDelete && !request.blackhole && request.gateway === undefined &&
    request.ifindex === undefined
  ) {
    throw new TypeError(`route ${spec.dst} needs a gateway, an ifindex or both`);
  }
  if (!forDelete && request.onlink && (!request.gateway || request.ifindex === undefined)) {
    throw new TypeError(`onlink route ${spec.dst} needs both a gateway and an ifindex`);
  }
  return request;
}

function describe(verb: string, request: RouteRequest): string {
  const action = verb === "replace" && request.exclusive ? "add" : verb;
  let text = `${action} route ${request.blackhole ? "blackhole " : ""}${formatCIDR(request.dst)}`;
  if (request.gateway) text += ` via ${formatIP(request.gateway)}`;
  if (request.ifindex !== undefined) text += ` dev ${request.ifindex}`;
  if (request.onlink) text += " onlink";
  if (request.table !== RT_TABLE_MAIN) text += ` table ${request.table}`;
  return text;
}

/** Builds the nexthop and hands it to `route`, which then owns it. */
function addNexthop(
  socket: NetlinkSocket,
  route: Deno.PointerObject,
  request: RouteRequest,
): void {
  const lib = socket.lib;
  const nexthop = lib.rtnl_route_nh_alloc();
  if (nexthop === null) throw new RangeError("libnl could not allocate a nexthop");
  try {
    if (request.ifindex !== undefined) lib.rtnl_route_nh_set_ifindex(nexthop, request.ifindex);
    if (request.gateway) {
      const gateway = buildIPAddr(lib, request.gateway);
      try {
        lib.rtnl_route_nh_set_gateway(nexthop, gateway);
      } finally {
        lib.nl_addr_put(gateway);
      }
    }
    // libnl copies a single nexthop's flags into rtm_flags, where the kernel looks for ONLINK.
    if (request.onlink) lib.rtnl_route_nh_set_flags(nexthop, RTNH_F_ONLINK);
  } catch (error) {
    lib.rtnl_route_nh_free(nexthop);
    throw error;
  }
  lib.rtnl_route_add_nexthop(route, nexthop);
}

function sendRoute(
  socket: NetlinkSocket,
  request: RouteRequest,
  verb: "replace" | "delete",
): void {
  const lib = socket.lib;
  const operation = describe(verb, request);
  const route = lib.rtnl_route_alloc();
  if (route === null) throw new RangeError(`${operation}: libnl could not allocate a route`);
  try {
    const dst = buildIPAddr(lib, request.dst.ip, request.dst.prefix);
    try {
      socket.check(operation, lib.rtnl_route_set_dst(route, dst));
    } finally {
      lib.nl_addr_put(dst);
    }
    lib.rtnl_route_set_table(route, request.table);
    if (request.metric !== undefined) lib.rtnl_route_set_priority(route, request.metric);
    if (verb === "delete") {
      // Match any protocol and scope, so routes added by `ip`, flannel or us all qualify.
      lib.rtnl_route_set_protocol(route, RTPROT_UNSPEC);
      lib.rtnl_route_set_scope(route, RT_SCOPE_NOWHERE);
    } else {
      lib.rtnl_route_set_protocol(route, request.protocol);
      lib.rtnl_route_set_scope(
        route,
        request.gateway || request.blackhole ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
      );
    }
    if (request.blackhole) lib.rtnl_route_set_type(route, RTN_BLACKHOLE);
    // A delete matches routes of any type (libnl would ask for unicast only).
    else if (verb === "delete") lib.rtnl_route_set_type(route, RTN_UNSPEC);
    if (request.gateway || request.ifindex !== undefined) {
      addNexthop(socket, route, verb === "delete" ? { ...request, onlink: false } : request);
    }
    socket.request(
      operation,
      (sk) =>
        verb === "delete" ? lib.rtnl_route_delete(sk, route, 0) : lib.rtnl_route_add(
          sk,
          route,
          request.exclusive ? NLM_F_CREATE | NLM_F_EXCL : NLM_F_CREATE | NLM_F_REPLACE,
        ),
    );
  } finally {
    lib.rtnl_route_put(route);
  }
}

/** `ip route replace [blackhole] <dst> [via <gateway>] [dev <ifindex>] [onlink] [table N] [metric N]`. */
export function replaceRoute(socket: NetlinkSocket, spec: RouteSpec): void {
  sendRoute(socket, validateRoute(spec, false), "replace");
}

/** `ip route del <dst> [via <gateway>] [dev <ifindex>] [table N]`; ESRCH when no route matches. */
export function deleteRoute(socket: NetlinkSocket, spec: RouteSpec): void {
  sendRoute(socket, validateRoute(spec, true), "delete");
}

/** `ip route get <ip>`; undefined when the kernel has no route (ENETUNREACH, EHOSTUNREACH). */
export function lookupRoute(socket: NetlinkSocket, ipText: string): RouteLookup | undefined {
  const lib = socket.lib;
  const ip = requireIP(ipText, "route lookup destination");
  const operation = `look up route to ${formatIP(ip)}`;
  const slot = pointerSlot();
  const target = buildIPAddr(lib, ip);
  try {
    socket.request(operation, (sk) => lib.rtnl_route_lookup(sk, target, slot));
  } catch (error) {
    if (isUnreachable(error)) return undefined;
    throw error;
  } finally {
    lib.nl_addr_put(target);
  }
  const route = pointerIn(slot);
  if (route === null) throw new Error(`${operation}: libnl returned no route`);
  try {
    const nexthop = readNexthops(socket, route, ip.family)[0];
    const result: RouteLookup = {
      family: ip.family,
      dst: formatIP(ip),
      table: lib.rtnl_route_get_table(route),
      type: lib.rtnl_route_get_type(route),
      scope: lib.rtnl_route_get_scope(route),
    };
    if (nexthop?.gateway !== undefined) result.gateway = nexthop.gateway;
    if (nexthop?.ifindex !== undefined) result.ifindex = nexthop.ifindex;
    const source = readIP(lib, lib.rtnl_route_get_pref_src(route), ip.family);
    if (source) result.source = formatIP(source);
    return result;
  } finally {
    lib.rtnl_route_put(route);
  }
}

/**
 * Neighbour (ARP/NDP) entries and forwarding-database (FDB) entries; both are RTM_*NEIGH
 * objects, FDB entries with family AF_BRIDGE.
 *
 * Ownership: our `rtnl_neigh` objects are put in `finally`; the `*_set_dst`/`*_set_lladdr`
 * setters take their own reference on the nl_addr, so ours is put right after. Cache objects
 * belong to the cache.
 *
 * @module
 */
import { formatIP, type IP } from "../net/ip.ts";
import { drainCache, dumpToNamedCache } from "./cache.ts";
import {
  AF_BRIDGE,
  AF_UNSPEC,
  NLM_F_CREATE,
  NLM_F_REPLACE,
  NTF_SELF,
  NUD_PERMANENT,
} from "./constants.ts";
import { requireFamily, requireIfindex, requireIP, requireMAC } from "./input.ts";
import { macFromBytes } from "../net/mac.ts";
import { buildIPAddr, buildMACAddr, bytesToIP, familyOfAf, readAddrBytes } from "./nladdr.ts";
import type { NetlinkSocket } from "./socket.ts";
import type {
  FdbDeleteSpec,
  FdbEntry,
  FdbFilter,
  FdbSpec,
  Neighbour,
  NeighbourFilter,
  NeighbourSpec,
} from "./types.ts";

const MAC_LENGTH = 6;
const NEIGH_CACHE = "route/neigh";

/** What to put into a neighbour request; absent fields are not sent. */
interface NeighbourTemplate {
  ifindex: number;
  dst?: IP;
  mac?: Uint8Array;
  /** AF_BRIDGE for FDB entries; set after dst, because libnl refuses a dst of another family. */
  bridge?: boolean;
  flags?: number;
  state?: number;
}

/** Builds a neighbour object from `template`, runs `send` with it, then puts it. */
function withNeighbour(
  socket: NetlinkSocket,
  operation: string,
  template: NeighbourTemplate,
  send: (socket: Deno.PointerObject, neighbour: Deno.PointerObject) => number,
): void {
  const lib = socket.lib;
  const neighbour = lib.rtnl_neigh_alloc();
  if (neighbour === null) {
    throw new RangeError(`${operation}: libnl could not allocate a neighbour`);
  }
  try {
    lib.rtnl_neigh_set_ifindex(neighbour, template.ifindex);
    if (template.dst !== undefined) {
      const dst = buildIPAddr(lib, template.dst);
      try {
        socket.check(operation, lib.rtnl_neigh_set_dst(neighbour, dst));
      } finally {
        lib.nl_addr_put(dst);
      }
    }
    if (template.bridge) lib.rtnl_neigh_set_family(neighbour, AF_BRIDGE);
    if (template.mac !== undefined) {
      const lladdr = buildMACAddr(lib, template.mac);
      try {
        lib.rtnl_neigh_set_lladdr(neighbour, lladdr);
      } finally {
        lib.nl_addr_put(lladdr);
      }
    }
    if (template.flags !== undefined) lib.rtnl_neigh_set_flags(neighbour, template.flags);
    if (template.state !== undefined) lib.rtnl_neigh_set_state(neighbour, template.state);
    socket.request(operation, (sk) => send(sk, neighbour));
  } finally {
    lib.rtnl_neigh_put(neighbour);
  }
}

function macOf(socket: NetlinkSocket, object: Deno.PointerObject): string | undefined {
  const bytes = readAddrBytes(socket.lib, socket.lib.rtnl_neigh_get_lladdr(object));
  return bytes.length === MAC_LENGTH ? macFromBytes(bytes) : undefined;
}

function ipOf(socket: NetlinkSocket, object: Deno.PointerObject): string | undefined {
  const bytes = readAddrBytes(socket.lib, socket.lib.rtnl_neigh_get_dst(object));
  if (bytes.length === 0) return undefined;
  const ip = bytesToIP(bytes, 4);
  return ip ? formatIP(ip) : undefined;
}

/** ARP and NDP entries (`ip neigh show`), optionally of one device or family. */
export function listNeighbours(socket: NetlinkSocket, filter: NeighbourFilter = {}): Neighbour[] {
  const lib = socket.lib;
  const wantedFamily = requireFamily(filter.family);
  const wantedIfindex = filter.ifindex === undefined ? undefined : requireIfindex(filter.ifindex);
  // AF_UNSPEC dumps the ARP and NDP tables; FDB entries need an AF_BRIDGE dump (listFdb).
  const cache = dumpToNamedCache(socket, "list neighbours", NEIGH_CACHE, AF_UNSPEC);
  return drainCache(socket, cache, (object): Neighbour | undefined => {
    const family = familyOfAf(lib.rtnl_neigh_get_family(object));
    if (family === undefined || (wantedFamily !== undefined && family !== wantedFamily)) {
      return undefined;
    }
    const ifindex = lib.rtnl_neigh_get_ifindex(object);
    if (wantedIfindex !== undefined && ifindex !== wantedIfindex) return undefined;
    const ip = ipOf(socket, object);
    if (ip === undefined) return undefined;
    const entry: Neighbour = {
      ifindex,
      family,
      ip,
      state: lib.rtnl_neigh_get_state(object),
      flags: lib.rtnl_neigh_get_flags(object),
    };
    const mac = macOf(socket, object);
    if (mac !== undefined) entry.mac = mac;
    return entry;
  });
}

/** `ip neigh replace <ip> lladdr <mac> dev <ifindex> nud permanent`. */
export function replaceNeighbour(socket: NetlinkSocket, spec: NeighbourSpec): void {
  const ifindex = requireIfindex(spec.ifindex);
  const dst = requireIP(spec.ip, "neighbour ip");
  const mac = requireMAC(spec.mac, "neighbour mac");
  withNeighbour(
    socket,
    `replace neighbour ${spec.ip} lladdr ${spec.mac} on link ${ifindex}`,
    { ifindex, dst, mac, state: NUD_PERMANENT },
    (sk, neighbour) => socket.lib.rtnl_neigh_add(sk, neighbour, NLM_F_CREATE | NLM_F_REPLACE),
  );
}

/** `ip neigh del <ip> dev <ifindex>`; ENOENT when there is no such entry. */
export function deleteNeighbour(
  socket: NetlinkSocket,
  spec: { ifindex: number; ip: string },
): void {
  const ifindex = requireIfindex(spec.ifindex);
  const dst = requireIP(spec.ip, "neighbour ip");
  withNeighbour(
    socket,
    `delete neighbour ${spec.ip} on link ${ifindex}`,
    { ifindex, dst },
    (sk, neighbour) => socket.lib.rtnl_neigh_delete(sk, neighbour, 0),
  );
}

/** FDB entries (`bridge fdb show`), optionally of one device. */
export function listFdb(socket: NetlinkSocket, filter: FdbFilter = {}): FdbEntry[] {
  const lib = socket.lib;
  const wantedIfindex = filter.ifindex === undefined ? undefined : requireIfindex(filter.ifindex);
  const cache = dumpToNamedCache(socket, "list fdb", NEIGH_CACHE, AF_BRIDGE);
  return drainCache(socket, cache, (object): FdbEntry | undefined => {
    if (lib.rtnl_neigh_get_family(object) !== AF_BRIDGE) return undefined;
    const ifindex = lib.rtnl_neigh_get_ifindex(object);
    if (wantedIfindex !== undefined && ifindex !== wantedIfindex) return undefined;
    const mac = macOf(socket, object);
    if (mac === undefined) return undefined;
    const entry: FdbEntry = {
      ifindex,
      mac,
      flags: lib.rtnl_neigh_get_flags(object),
      state: lib.rtnl_neigh_get_state(object),
    };
    const dst = ipOf(socket, object);
    if (dst !== undefined) entry.dst = dst;
    return entry;
  });
}

/** `bridge fdb replace <mac> dev <ifindex> dst <dst> self permanent`. */
export function replaceFdb(socket: NetlinkSocket, spec: FdbSpec): void {
  const ifindex = requireIfindex(spec.ifindex);
  const mac = requireMAC(spec.mac, "fdb mac");
  const dst = requireIP(spec.dst, "fdb dst");
  withNeighbour(
    socket,
    `replace fdb ${spec.mac} dst ${spec.dst} on link ${ifindex}`,
    { ifindex, dst, bridge: true, mac, flags: NTF_SELF, state: NUD_PERMANENT },
    (sk, neighbour) => socket.lib.rtnl_neigh_add(sk, neighbour, NLM_F_CREATE | NLM_F_REPLACE),
  );
}

/**
 * `bridge fdb del <mac> dev <ifindex> [dst <dst>] self`: with a dst only that remote goes,
 * without one the whole entry. ENOENT when the device has no entry for the MAC; a dst the entry
 * does not have is silently a no-op (the kernel's VXLAN driver, as for `bridge fdb del`).
 */
export function deleteFdb(socket: NetlinkSocket, spec: FdbDeleteSpec): void {
  const ifindex = requireIfindex(spec.ifindex);
  const mac = requireMAC(spec.mac, "fdb mac");
  const template: NeighbourTemplate = { ifindex, bridge: true, mac, flags: NTF_SELF };
  if (spec.dst !== undefined) template.dst = requireIP(spec.dst, "fdb dst");
  const remote = spec.dst === undefined ? "" : ` dst ${spec.dst}`;
  withNeighbour(
    socket,
    `delete fdb ${spec.mac}${remote} on link ${ifindex}`,
    template,
    (sk, neighbour) => socket.lib.rtnl_neigh_delete(sk, neighbour, 0),
  );
}

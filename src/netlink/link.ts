/**
 * Links: list and read back (with VXLAN attributes), create VXLAN devices, set up/down, MAC and
 * MTU, delete.
 *
 * Ownership: link objects from `rtnl_link_alloc`, `rtnl_link_vxlan_alloc` and
 * `rtnl_link_get_kernel` are ours and dropped with `rtnl_link_put` in `finally`; objects in a
 * link cache belong to the cache. `rtnl_link_set_addr` and `rtnl_link_vxlan_set_local` copy or
 * reference the address, so our nl_addr is put right after. `rtnl_link_vxlan_get_local` builds a
 * new nl_addr that we put.
 *
 * @module
 */
import { formatIP } from "../net/ip.ts";
import { drainCache, dumpToCache } from "./cache.ts";
import {
  AF_UNSPEC,
  IFF_UP,
  NLM_F_CREATE,
  NLM_F_EXCL,
  OPER_STATES,
  RTNL_LINK_VXLAN_F_GBP,
  VXLAN_ID_MAX,
} from "./constants.ts";
import { isNoDevice } from "./errors.ts";
import {
  requireIfindex,
  requireInteger,
  requireInterfaceName,
  requireIP,
  requireMAC,
} from "./input.ts";
import { macFromBytes } from "../net/mac.ts";
import { buildIPAddr, buildMACAddr, readAddrBytes, readIP } from "./nladdr.ts";
import { cString, pointerIn, pointerSlot, u32Slot } from "./outparam.ts";
import type { NetlinkSocket } from "./socket.ts";
import type { Link, OperState, VxlanAttributes, VxlanSpec } from "./types.ts";

const MAC_LENGTH = 6;
const MTU_MIN = 68;
const MTU_MAX = 65535;

function cText(pointer: Deno.PointerValue): string | undefined {
  return pointer === null ? undefined : Deno.UnsafePointerView.getCString(pointer);
}

function readVxlan(socket: NetlinkSocket, link: Deno.PointerObject): VxlanAttributes {
  const lib = socket.lib;
  const number = u32Slot();
  const vni = lib.rtnl_link_vxlan_get_id(link, number) >= 0 ? number[0]! : 0;
  const port = lib.rtnl_link_vxlan_get_port(link, number) >= 0 ? number[0]! : 0;
  const underlay = lib.rtnl_link_vxlan_get_link(link, number) >= 0 && number[0]! > 0
    ? number[0]!
    : undefined;
  const learning = lib.rtnl_link_vxlan_get_learning(link) > 0;
  const getFlags = lib.rtnl_link_vxlan_get_flags;
  const gbp = getFlags !== null && getFlags(link, number) >= 0 &&
    (number[0]! & RTNL_LINK_VXLAN_F_GBP) !== 0;

  let local: string | undefined;
  const slot = pointerSlot();
  if (lib.rtnl_link_vxlan_get_local(link, slot) >= 0) {
    const addr = pointerIn(slot);
    try {
      const ip = readIP(lib, addr, 4);
      if (ip) local = formatIP(ip);
    } finally {
      if (addr !== null) lib.nl_addr_put(addr);
    }
  }
  const attributes: VxlanAttributes = { vni, port, learning, gbp };
  if (local !== undefined) attributes.local = local;
  if (underlay !== undefined) attributes.underlay = underlay;
  return attributes;
}

/** Copies a libnl link object into a plain Link. */
export function readLink(socket: NetlinkSocket, link: Deno.PointerObject): Link {
  const lib = socket.lib;
  const flags = lib.rtnl_link_get_flags(link);
  const result: Link = {
    index: lib.rtnl_link_get_ifindex(link),
    name: cText(lib.rtnl_link_get_name(link)) ?? "",
    mtu: lib.rtnl_link_get_mtu(link),
    flags,
    up: (flags & IFF_UP) !== 0,
    operState: (OPER_STATES[lib.rtnl_link_get_operstate(link)] ?? "UNKNOWN") as OperState,
  };
  const kind = cText(lib.rtnl_link_get_type(link));
  if (kind !== undefined) result.kind = kind;
  const mac = readAddrBytes(lib, lib.rtnl_link_get_addr(link));
  if (mac.length === MAC_LENGTH) result.mac = macFromBytes(mac);
  const master = lib.rtnl_link_get_master(link);
  if (master > 0) result.master = master;
  if (lib.rtnl_link_is_vxlan(link)) result.vxlan = readVxlan(socket, link);
  return result;
}

export function listLinks(socket: NetlinkSocket): Link[] {
  const lib = socket.lib;
  const operation = "list links";
  const cache = dumpToCache(
    socket,
    operation,
    (sk, slot) => lib.rtnl_link_alloc_cache(sk, AF_UNSPEC, slot),
  );
  return drainCache(socket, cache, (link) => readLink(socket, link));
}

/** The link with this name or index, or undefined when the kernel has none (ENODEV). */
export function getLink(socket: NetlinkSocket, nameOrIndex: string | number): Link | undefined {
  const lib = socket.lib;
  const byName = typeof nameOrIndex === "string";
  const index = byName ? 0 : requireIfindex(nameOrIndex, "link index");
  const name = byName ? cString(requireInterfaceName(nameOrIndex, "link name")) : null;
  const operation = byName ? `get link "${nameOrIndex}"` : `get link ${nameOrIndex}`;
  const slot = pointerSlot();
  try {
    socket.requestLarge(operation, (sk) => lib.rtnl_link_get_kernel(sk, index, name, slot));
  } catch (error) {
    if (isNoDevice(error)) return undefined;
    throw error;
  }
  const link = pointerIn(slot);
  if (link === null) return undefined;
  try {
    return readLink(socket, link);
  } finally {
    lib.rtnl_link_put(link);
  }
}

function setVxlanAttributes(
  socket: NetlinkSocket,
  link: Deno.PointerObject,
  spec: VxlanSpec,
  operation: string,
): void {
  const lib = socket.lib;
  socket.check(operation, lib.rtnl_link_vxlan_set_id(link, spec.vni));
  if (spec.port !== undefined && spec.port > 0) {
    socket.check(operation, lib.rtnl_link_vxlan_set_port(link, spec.port));
  }
  if (spec.local !== undefined) {
    const local = buildIPAddr(lib, requireIP(spec.local, "vxlan local"));
    try {
      socket.check(operation, lib.rtnl_link_vxlan_set_local(link, local));
    } finally {
      lib.nl_addr_put(local);
    }
  }
  if (spec.underlay !== undefined) {
    socket.check(operation, lib.rtnl_link_vxlan_set_link(link, spec.underlay));
  }
  socket.check(operation, lib.rtnl_link_vxlan_set_learning(link, spec.learning ? 1 : 0));
  if (spec.gbp) {
    const setFlags = lib.rtnl_link_vxlan_set_flags;
    if (setFlags === null) {
      throw new Error(`${operation}: this libnl cannot set GBP (needs rtnl_link_vxlan_set_flags)`);
    }
    socket.check(operation, setFlags(link, RTNL_LINK_VXLAN_F_GBP, 1));
  }
}

function validateVxlanSpec(spec: VxlanSpec): Uint8Array {
  requireInterfaceName(spec.name, "vxlan name");
  const mac = requireMAC(spec.mac, "vxlan mac");
  requireInteger(spec.vni, 0, VXLAN_ID_MAX, "vxlan vni");
  if (spec.mtu !== undefined) requireInteger(spec.mtu, MTU_MIN, MTU_MAX, "vxlan mtu");
  if (spec.port !== undefined) requireInteger(spec.port, 0, 65535, "vxlan port");
  if (spec.local !== undefined) requireIP(spec.local, "vxlan local");
  if (spec.underlay !== undefined) requireIfindex(spec.underlay, "vxlan underlay");
  return mac;
}

/**
 * Creates a VXLAN device in one RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL (an existing name fails
 * with EEXIST), MAC included so the kernel marks it NET_ADDR_SET, and returns it as read back.
 */
export function createVxlan(socket: NetlinkSocket, spec: VxlanSpec): Link {
  const lib = socket.lib;
  const mac = validateVxlanSpec(spec);
  const operation = `create vxlan "${spec.name}"`;
  const link = lib.rtnl_link_vxlan_alloc();
  if (link === null) throw new RangeError(`${operation}: libnl could not allocate a link`);
  try {
    lib.rtnl_link_set_name(link, cString(spec.name));
    const address = buildMACAddr(lib, mac);
    try {
      lib.rtnl_link_set_addr(link, address);
    } finally {
      lib.nl_addr_put(address);
    }
    if (spec.mtu !== undefined) lib.rtnl_link_set_mtu(link, spec.mtu);
    setVxlanAttributes(socket, link, spec, operation);
    socket.request(operation, (sk) => lib.rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL));
  } finally {
    lib.rtnl_link_put(link);
  }
  const created = getLink(socket, spec.name);
  if (!created) throw new Error(`${operation}: the device vanished right after creation`);
  return created;
}

/**
 * Sends one change to an existing link. libnl only needs the index from the original, so no
 * read-back precedes the change.
 */
function changeLink(
  socket: NetlinkSocket,
  index: number,
  operation: string,
  describe: (changes: Deno.PointerObject) => void,
): void {
  const lib = socket.lib;
  requireIfindex(index, "link index");
  const original = lib.rtnl_link_alloc();
  const changes = lib.rtnl_link_alloc();
  try {
    if (original === null || changes === null) {
      throw new RangeError(`${operation}: libnl could not allocate a link`);
    }
    lib.rtnl_link_set_ifindex(original, index);
    describe(changes);
    socket.request(operation, (sk) => lib.rtnl_link_change(sk, original, changes, 0));
  } finally {
    if (original !== null) lib.rtnl_link_put(original);
    if (changes !== null) lib.rtnl_link_put(changes);
  }
}

/** Sets or clears IFF_UP. */
export function setLinkUp(socket: NetlinkSocket, index: number, up: boolean): void {
  const lib = socket.lib;
  changeLink(socket, index, `set link ${index} ${up ? "up" : "down"}`, (changes) => {
    if (up) lib.rtnl_link_set_flags(changes, IFF_UP);
    else lib.rtnl_link_unset_flags(changes, IFF_UP);
  });
}

export function setLinkMac(socket: NetlinkSocket, index: number, mac: string): void {
  const lib = socket.lib;
  const octets = requireMAC(mac, "link mac");
  changeLink(socket, index, `set MAC of link ${index} to ${mac}`, (changes) => {
    const address = buildMACAddr(lib, octets);
    try {
      lib.rtnl_link_set_addr(changes, address);
    } finally {
      lib.nl_addr_put(address);
    }
  });
}

export function setLinkMtu(socket: NetlinkSocket, index: number, mtu: number): void {
  requireInteger(mtu, MTU_MIN, MTU_MAX, "link mtu");
  changeLink(
    socket,
    index,
    `set MTU of link ${index} to ${mtu}`,
    (changes) => socket.lib.rtnl_link_set_mtu(changes, mtu),
  );
}

/** Deletes the link; ENODEV when there is none. */
export function deleteLink(socket: NetlinkSocket, index: number): void {
  const lib = socket.lib;
  requireIfindex(index, "link index");
  const operation = `delete link ${index}`;
  const link = lib.rtnl_link_alloc();
  if (link === null) throw new RangeError(`${operation}: libnl could not allocate a link`);
  try {
    lib.rtnl_link_set_ifindex(link, index);
    socket.request(operation, (sk) => lib.rtnl_link_delete(sk, link));
  } finally {
    lib.rtnl_link_put(link);
  }
}

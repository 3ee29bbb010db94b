/**
 * Interface addresses: list (filtered by device and family), add, delete.
 *
 * Ownership: our `rtnl_addr` objects are put in `finally`; `rtnl_addr_set_local` takes its own
 * reference on the nl_addr, so ours is put right after. Objects of the address cache belong to
 * the cache.
 *
 * @module
 */
import { formatCIDR } from "../net/cidr.ts";
import { formatIP } from "../net/ip.ts";
import { drainCache, dumpToCache } from "./cache.ts";
import { requireCIDR, requireFamily, requireIfindex } from "./input.ts";
import { buildIPAddr, familyOfAf, readIP } from "./nladdr.ts";
import type { NetlinkSocket } from "./socket.ts";
import type { Address, AddressFilter } from "./types.ts";

export function listAddresses(socket: NetlinkSocket, filter: AddressFilter = {}): Address[] {
  const lib = socket.lib;
  const wantedFamily = requireFamily(filter.family);
  const wantedIfindex = filter.ifindex === undefined ? undefined : requireIfindex(filter.ifindex);
  const cache = dumpToCache(
    socket,
    "list addresses",
    (sk, slot) => lib.rtnl_addr_alloc_cache(sk, slot),
  );
  return drainCache(socket, cache, (object): Address | undefined => {
    const family = familyOfAf(lib.rtnl_addr_get_family(object));
    if (family === undefined || (wantedFamily !== undefined && family !== wantedFamily)) {
      return undefined;
    }
    const ifindex = lib.rtnl_addr_get_ifindex(object);
    if (wantedIfindex !== undefined && ifindex !== wantedIfindex) return undefined;
    const ip = readIP(lib, lib.rtnl_addr_get_local(object), family);
    if (!ip) return undefined;
    return {
      ifindex,
      family,
      address: formatIP(ip),
      prefixLength: lib.rtnl_addr_get_prefixlen(object),
      scope: lib.rtnl_addr_get_scope(object),
      flags: lib.rtnl_addr_get_flags(object),
    };
  });
}

/** Sends RTM_NEWADDR or RTM_DELADDR for `cidr` on `ifindex`. */
function changeAddress(
  socket: NetlinkSocket,
  ifindex: number,
  cidrText: string,
  verb: "add" | "delete",
): void {
  const lib = socket.lib;
  requireIfindex(ifindex);
  const cidr = requireCIDR(cidrText, "address");
  const operation = `${verb} address ${formatCIDR(cidr)} on link ${ifindex}`;
  const address = lib.rtnl_addr_alloc();
  if (address === null) throw new RangeError(`${operation}: libnl could not allocate an address`);
  try {
    lib.rtnl_addr_set_ifindex(address, ifindex);
    const local = buildIPAddr(lib, cidr.ip, cidr.prefix);
    try {
      // Also sets the prefix length from the nl_addr.
      socket.check(operation, lib.rtnl_addr_set_local(address, local));
    } finally {
      lib.nl_addr_put(local);
    }
    socket.request(
      operation,
      (sk) =>
        verb === "add" ? lib.rtnl_addr_add(sk, address, 0) : lib.rtnl_addr_delete(sk, address, 0),
    );
  } finally {
    lib.rtnl_addr_put(address);
  }
}

/** `ip addr add <cidr> dev <ifindex>`; EEXIST when the device has it already. */
export function addAddress(socket: NetlinkSocket, ifindex: number, cidr: string): void {
  changeAddress(socket, ifindex, cidr, "add");
}

/** `ip addr del <cidr> dev <ifindex>`; EADDRNOTAVAIL when the device does not have it. */
export function deleteAddress(socket: NetlinkSocket, ifindex: number, cidr: string): void {
  changeAddress(socket, ifindex, cidr, "delete");
}

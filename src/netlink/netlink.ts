/**
 * `openNetlink()`: the libnl-backed implementation of the `Netlink` interface, one rtnetlink
 * socket per instance. Every call is synchronous FFI on the calling (JS) thread, so the kernel
 * state it sees and changes is that of the network namespace the process runs in.
 *
 * @module
 */
import { addAddress, deleteAddress, listAddresses } from "./address.ts";
import { DEFAULT_LIBNL_PATHS, type LibnlPaths, loadLibnl } from "./library.ts";
import {
  createVxlan,
  deleteLink,
  getLink,
  listLinks,
  setLinkMac,
  setLinkMtu,
  setLinkUp,
} from "./link.ts";
import {
  deleteFdb,
  deleteNeighbour,
  listFdb,
  listNeighbours,
  replaceFdb,
  replaceNeighbour,
} from "./neighbour.ts";
import { deleteRoute, listRoutes, lookupRoute, replaceRoute } from "./route.ts";
import { NetlinkSocket } from "./socket.ts";
import type {
  Address,
  AddressFilter,
  FdbDeleteSpec,
  FdbEntry,
  FdbFilter,
  FdbSpec,
  Link,
  Neighbour,
  NeighbourFilter,
  NeighbourSpec,
  Netlink,
  Route,
  RouteFilter,
  RouteLookup,
  RouteSpec,
  VxlanSpec,
} from "./types.ts";

export interface OpenNetlinkOptions {
  /** Library files to load instead of the sonames (tests). */
  libraries?: LibnlPaths;
}

class LibnlNetlink implements Netlink {
  readonly #socket: NetlinkSocket;

  constructor(socket: NetlinkSocket) {
    this.#socket = socket;
  }

  listLinks(): Link[] {
    return listLinks(this.#socket);
  }
  getLink(nameOrIndex: string | number): Link | undefined {
    return getLink(this.#socket, nameOrIndex);
  }
  createVxlan(spec: VxlanSpec): Link {
    return createVxlan(this.#socket, spec);
  }
  setLinkUp(index: number): void {
    setLinkUp(this.#socket, index, true);
  }
  setLinkDown(index: number): void {
    setLinkUp(this.#socket, index, false);
  }
  setLinkMac(index: number, mac: string): void {
    setLinkMac(this.#socket, index, mac);
  }
  setLinkMtu(index: number, mtu: number): void {
    setLinkMtu(this.#socket, index, mtu);
  }
  deleteLink(index: number): void {
    deleteLink(this.#socket, index);
  }

  listAddresses(filter?: AddressFilter): Address[] {
    return listAddresses(this.#socket, filter);
  }
  addAddress(ifindex: number, cidr: string): void {
    addAddress(this.#socket, ifindex, cidr);
  }
  deleteAddress(ifindex: number, cidr: string): void {
    deleteAddress(this.#socket, ifindex, cidr);
  }

  listNeighbours(filter?: NeighbourFilter): Neighbour[] {
    return listNeighbours(this.#socket, filter);
  }
  replaceNeighbour(spec: NeighbourSpec): void {
    replaceNeighbour(this.#socket, spec);
  }
  deleteNeighbour(spec: { ifindex: number; ip: string }): void {
    deleteNeighbour(this.#socket, spec);
  }

  listFdb(filter?: FdbFilter): FdbEntry[] {
    return listFdb(this.#socket, filter);
  }
  replaceFdb(spec: FdbSpec): void {
    replaceFdb(this.#socket, spec);
  }
  deleteFdb(spec: FdbDeleteSpec): void {
    deleteFdb(this.#socket, spec);
  }

  listRoutes(filter?: RouteFilter): Route[] {
    return listRoutes(this.#socket, filter);
  }
  replaceRoute(spec: RouteSpec): void {
    replaceRoute(this.#socket, spec);
  }
  deleteRoute(spec: RouteSpec): void {
    deleteRoute(this.#socket, spec);
  }
  lookupRoute(ip: string): RouteLookup | undefined {
    return lookupRoute(this.#socket, ip);
  }

  localPort(): number {
    return this.#socket.localPort();
  }

  close(): void {
    this.#socket.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Loads libnl (once per process) and opens an rtnetlink socket. Close it with `close()` or a
 * `using` declaration. Throws LibnlLoadError when the libraries are missing.
 */
export function openNetlink(options: OpenNetlinkOptions = {}): Netlink {
  const lib = loadLibnl(options.libraries ?? DEFAULT_LIBNL_PATHS);
  return new LibnlNetlink(new NetlinkSocket(lib));
}

/**
 * An in-memory kernel behind the `Netlink` interface, for unit tests of the daemon's logic
 * without root. It keeps the rules of the real one that the daemon depends on, each checked
 * against Linux in the netlink tests:
 *
 * - a VXLAN device refuses a multicast or all-zero MAC (EADDRNOTAVAIL) and an MTU above its
 *   underlay's minus the 50-byte VXLAN overhead (EINVAL); names are unique (EEXIST);
 * - deleting a device takes its addresses, neighbours, FDB entries and routes with it; taking
 *   it down takes its routes; an onlink route needs the device up (ENETDOWN);
 * - neighbour and FDB replace are idempotent; a VXLAN FDB entry has one remote per MAC here;
 *   deleting what is absent fails with ENOENT (neighbour, FDB) or ESRCH (route);
 * - every change is announced as a `KernelChange`, stamped with `localPort()` when made through
 *   this interface for the kinds the real kernel stamps (neighbours, routes), 0 otherwise;
 *   changes made "by someone else" go through `outside`;
 * - routes of either family (the family is the destination's); a lookup takes the longest
 *   matching prefix of the main table and answers the device's preferred address as `source`.
 *
 * @module
 */
import { cidrContains, formatCIDR, networkAddress, parseCIDR } from "../../src/net/cidr.ts";
import { isUsableUnicastMAC } from "../../src/net/mac.ts";
import { parseIP } from "../../src/net/ip.ts";
import {
  type Address,
  Errno,
  type FdbDeleteSpec,
  type FdbEntry,
  type FdbSpec,
  type KernelChange,
  type Link,
  type Neighbour,
  type NeighbourSpec,
  type Netlink,
  NetlinkError,
  NTF_SELF,
  NUD_PERMANENT,
  type Route,
  type RouteLookup,
  type RouteSpec,
  RT_TABLE_MAIN,
  type VxlanSpec,
} from "../../src/netlink/mod.ts";
import type { ChangeSource } from "../../src/vtepd/drift_watch.ts";

const IFF_UP = 0x1;
const IFA_F_PERMANENT = 0x80;
const VXLAN_OVERHEAD = 50;
const LOCAL_PORT = 4242;

function familyOf(route: StoredRoute): 4 | 6 {
  return parseCIDR(route.dst)!.ip.family;
}

function fail(operation: string, errno: number): never {
  throw new NetlinkError({
    operation,
    libnlCode: 1,
    libnlMessage: "fake kernel",
    kernelErrno: errno,
  });
}

/** A queue of kernel changes, read as the monitor is read. */
class ChangeQueue implements ChangeSource<KernelChange> {
  #pending: KernelChange[] = [];
  #waiting: ((batch: KernelChange[] | "closed") => void) | undefined;
  #closed = false;

  push(change: KernelChange): void {
    if (this.#closed) return;
    this.#pending.push(change);
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      // Delivered on a later turn, as notifications arrive after the request returned.
      queueMicrotask(() => waiting(this.#pending.splice(0)));
    }
  }

  next(): Promise<KernelChange[] | "closed"> {
    if (this.#closed) return Promise.resolve("closed");
    if (this.#pending.length > 0) return Promise.resolve(this.#pending.splice(0));
    return new Promise((resolve) => this.#waiting = resolve);
  }

  close(): void {
    this.#closed = true;
    this.#waiting?.("closed");
    this.#waiting = undefined;
  }
}

interface StoredRoute {
  /** Normalised prefix; its address family is the route's. */
  dst: string;
  gateway?: string;
  /** Absent for a blackhole route. */
  ifindex?: number;
  /** `RTN_*`: 1 unicast, 6 blackhole. */
  type?: number;
  onlink: boolean;
  table: number;
  scope: number;
}

export class FakeKernel implements Netlink {
  readonly #links = new Map<number, Link>();
  readonly #addresses: Address[] = [];
  readonly #neighbours = new Map<string, Neighbour>();
  readonly #fdb = new Map<string, FdbEntry>();
  readonly #routes = new Map<string, StoredRoute>();
  readonly #queues = new Set<ChangeQueue>();
  #nextIndex = 1;
  /** Calls made through the Netlink interface, e.g. `replaceRoute 10.244.2.0/24` (tests count them). */
  readonly calls: string[] = [];
  /** Makes the next matching call fail once with this errno (tests). */
  failNext: { call: string; errno: number } | undefined;
  /** Runs before every call through the Netlink interface (tests check ordering with it). */
  beforeCall: ((description: string) => void) | undefined;

  /** `lo` and `eth0` (192.168.1.1/24, MTU 1500) with a default route via 192.168.1.254. */
  constructor(options: { underlayMtu?: number } = {}) {
    this.#addLink({ name: "lo", mtu: 65536, flags: IFF_UP | 0x8, up: true, operState: "UNKNOWN" });
    const eth0 = this.#addLink({
      name: "eth0",
      kind: "veth",
      mac: "02:00:00:00:00:01",
      mtu: options.underlayMtu ?? 1500,
      flags: IFF_UP,
      up: true,
      operState: "UP",
    });
    this.#addresses.push({
      ifindex: eth0.index,
      family: 4,
      address: "192.168.1.1",
      prefixLength: 24,
      scope: 0,
      flags: 0x80,
    });
    this.#routes.set(`254 192.168.1.0/24`, {
      dst: "192.168.1.0/24",
      ifindex: eth0.index,
      onlink: false,
      table: RT_TABLE_MAIN,
      scope: 253,
    });
    this.#routes.set(`254 0.0.0.0/0`, {
      dst: "0.0.0.0/0",
      gateway: "192.168.1.254",
      ifindex: eth0.index,
      onlink: false,
      table: RT_TABLE_MAIN,
      scope: 0,
    });
  }

  /** Kernel change notifications from now on. */
  changes(): ChangeSource<KernelChange> {
    const queue = new ChangeQueue();
    this.#queues.add(queue);
    return queue;
  }

  #announce(change: KernelChange): void {
    for (const queue of this.#queues) queue.push(change);
  }

  #linkChange(link: Link, action: "new" | "del", senderPort: number): void {
    this.#announce({
      kind: "link",
      action,
      ifindex: link.index,
      name: link.name,
      mac: link.mac,
      mtu: link.mtu,
      flags: link.flags,
      senderPort,
    });
  }

  #call(description: string): void {
    this.calls.push(description);
    this.beforeCall?.(description);
    const failure = this.failNext;
    if (failure && description.startsWith(failure.call)) {
      this.failNext = undefined;
      fail(description, failure.errno);
    }
  }

  #addLink(link: Omit<Link, "index">): Link {
    const created = { ...link, index: this.#nextIndex++ };
    this.#links.set(created.index, created);
    return created;
  }

  #linkOrFail(index: number, operation: string): Link {
    const link = this.#links.get(index);
    if (!link) fail(operation, Errno.ENODEV);
    return link;
  }

  #maxMtu(link: Link): number {
    const underlay = link.vxlan?.underlay;
    const lower = underlay === undefined ? undefined : this.#links.get(underlay);
    return lower ? lower.mtu - VXLAN_OVERHEAD : 65535;
  }

  // ---- links ----

  listLinks(): Link[] {
    return [...this.#links.values()].map((link) => structuredClone(link));
  }

  getLink(nameOrIndex: string | number): Link | undefined {
    const link = typeof nameOrIndex === "number"
      ? this.#links.get(nameOrIndex)
      : [...this.#links.values()].find((candidate) => candidate.name === nameOrIndex);
    return link ? structuredClone(link) : undefined;
  }

  createVxlan(spec: VxlanSpec): Link {
    this.#call(`createVxlan ${spec.name}`);
    const operation = `create vxlan "${spec.name}"`;
    if ([...this.#links.values()].some((link) => link.name === spec.name)) {
      fail(operation, Errno.EEXIST);
    }
    if (!isUsableUnicastMAC(spec.mac)) fail(operation, Errno.EADDRNOTAVAIL);
    const lower = spec.underlay === undefined ? undefined : this.#links.get(spec.underlay);
    const maxMtu = lower ? lower.mtu - VXLAN_OVERHEAD : 65535;
    if (spec.mtu !== undefined && (spec.mtu > maxMtu || spec.mtu < 68)) {
      fail(operation, Errno.EINVAL);
    }
    const link = this.#addLink({
      name: spec.name,
      kind: "vxlan",
      mac: spec.mac,
      mtu: spec.mtu ?? maxMtu,
      flags: 0,
      up: false,
      operState: "DOWN",
      vxlan: {
        vni: spec.vni,
        port: spec.port || 8472,
        local: spec.local,
        underlay: spec.underlay,
        learning: spec.learning ?? false,
        gbp: spec.gbp ?? false,
      },
    });
    this.#linkChange(link, "new", 0);
    return structuredClone(link);
  }

  setLinkUp(index: number): void {
    this.#call(`setLinkUp ${index}`);
    const link = this.#linkOrFail(index, "set link up");
    link.up = true;
    link.flags |= IFF_UP;
    link.operState = "UNKNOWN";
    this.#linkChange(link, "new", 0);
  }

  setLinkDown(index: number): void {
    this.#call(`setLinkDown ${index}`);
    this.#setDown(this.#linkOrFail(index, "set link down"), 0);
  }

  #setDown(link: Link, senderPort: number): void {
    link.up = false;
    link.flags &= ~IFF_UP;
    link.operState = "DOWN";
    this.#linkChange(link, "new", senderPort);
    for (const [key, route] of [...this.#routes]) {
      if (route.ifindex === link.index) this.#dropRoute(key, route, 0);
    }
  }

  setLinkMac(index: number, mac: string): void {
    this.#call(`setLinkMac ${index}`);
    const link = this.#linkOrFail(index, "set MAC");
    if (!isUsableUnicastMAC(mac)) fail("set MAC", Errno.EADDRNOTAVAIL);
    link.mac = mac;
    this.#linkChange(link, "new", 0);
  }

  setLinkMtu(index: number, mtu: number): void {
    this.#call(`setLinkMtu ${index}`);
    const link = this.#linkOrFail(index, `set MTU ${mtu}`);
    if (mtu > this.#maxMtu(link) || mtu < 68) fail(`set MTU ${mtu}`, Errno.EINVAL);
    link.mtu = mtu;
    this.#linkChange(link, "new", 0);
  }

  deleteLink(index: number): void {
    this.#call(`deleteLink ${index}`);
    this.#deleteLink(this.#linkOrFail(index, "delete link"));
  }

  #deleteLink(link: Link): void {
    for (const [key, route] of [...this.#routes]) {
      if (route.ifindex === link.index) this.#dropRoute(key, route, 0);
    }
    for (const [key, neighbour] of [...this.#neighbours]) {
      if (neighbour.ifindex === link.index) this.#dropNeighbour(key, neighbour, 0);
    }
    for (const [key, entry] of [...this.#fdb]) {
      if (entry.ifindex === link.index) this.#dropFdb(key, entry, 0);
    }
    for (let i = this.#addresses.length - 1; i >= 0; i--) {
      if (this.#addresses[i]!.ifindex === link.index) this.#addresses.splice(i, 1);
    }
    this.#links.delete(link.index);
    this.#linkChange(link, "del", 0);
  }

  // ---- addresses ----

  listAddresses(filter: { ifindex?: number; family?: 4 | 6 } = {}): Address[] {
    return this.#addresses.filter((address) =>
      (filter.ifindex === undefined || address.ifindex === filter.ifindex) &&
      (filter.family === undefined || address.family === filter.family)
    ).map((address) => ({ ...address }));
  }

  addAddress(ifindex: number, cidr: string): void {
    this.#call(`addAddress ${cidr}`);
    this.#linkOrFail(ifindex, "add address");
    const parsed = parseCIDR(cidr)!;
    const address = formatCIDR(parsed).split("/")[0]!;
    if (this.#addresses.some((a) => a.ifindex === ifindex && a.address === address)) {
      fail(`add address ${cidr}`, Errno.EEXIST);
    }
    this.#addresses.push({
      ifindex,
      family: parsed.ip.family,
      address,
      prefixLength: parsed.prefix,
      scope: 0,
      flags: 0x80,
    });
  }

  deleteAddress(ifindex: number, cidr: string): void {
    this.#call(`deleteAddress ${cidr}`);
    const address = cidr.split("/")[0];
    const index = this.#addresses.findIndex((a) => a.ifindex === ifindex && a.address === address);
    if (index < 0) fail(`delete address ${cidr}`, Errno.EADDRNOTAVAIL);
    this.#addresses.splice(index, 1);
  }

  // ---- neighbours ----

  listNeighbours(filter: { ifindex?: number; family?: 4 | 6 } = {}): Neighbour[] {
    return [...this.#neighbours.values()].filter((entry) =>
      (filter.ifindex === undefined || entry.ifindex === filter.ifindex) &&
      (filter.family === undefined || entry.family === filter.family)
    ).map((entry) => ({ ...entry }));
  }

  replaceNeighbour(spec: NeighbourSpec): void {
    this.#call(`replaceNeighbour ${spec.ip}`);
    this.#putNeighbour(spec, LOCAL_PORT);
  }

  #putNeighbour(spec: NeighbourSpec, senderPort: number): void {
    this.#linkOrFail(spec.ifindex, `replace neighbour ${spec.ip}`);
    const entry: Neighbour = {
      ifindex: spec.ifindex,
      family: 4,
      ip: spec.ip,
      mac: spec.mac,
      state: NUD_PERMANENT,
      flags: 0,
    };
    this.#neighbours.set(`${spec.ifindex} ${spec.ip}`, entry);
    this.#announce({ kind: "neighbour", action: "new", ...entry, mac: spec.mac, senderPort });
  }

  deleteNeighbour(spec: { ifindex: number; ip: string }): void {
    this.#call(`deleteNeighbour ${spec.ip}`);
    const key = `${spec.ifindex} ${spec.ip}`;
    const entry = this.#neighbours.get(key);
    if (!entry) fail(`delete neighbour ${spec.ip}`, Errno.ENOENT);
    this.#dropNeighbour(key, entry, LOCAL_PORT);
  }

  #dropNeighbour(key: string, entry: Neighbour, senderPort: number): void {
    this.#neighbours.delete(key);
    this.#announce({ kind: "neighbour", action: "del", ...entry, senderPort });
  }

  // ---- FDB ----

  listFdb(filter: { ifindex?: number } = {}): FdbEntry[] {
    return [...this.#fdb.values()].filter((entry) =>
      filter.ifindex === undefined || entry.ifindex === filter.ifindex
    ).map((entry) => ({ ...entry }));
  }

  replaceFdb(spec: FdbSpec): void {
    this.#call(`replaceFdb ${spec.mac}`);
    this.#putFdb(spec, 0);
  }

  #putFdb(spec: FdbSpec, senderPort: number): void {
    this.#linkOrFail(spec.ifindex, `replace fdb ${spec.mac}`);
    const entry: FdbEntry = {
      ifindex: spec.ifindex,
      mac: spec.mac,
      dst: spec.dst,
      flags: NTF_SELF,
      state: NUD_PERMANENT,
    };
    this.#fdb.set(`${spec.ifindex} ${spec.mac}`, entry);
    this.#announce({ kind: "fdb", action: "new", ...entry, senderPort });
  }

  deleteFdb(spec: FdbDeleteSpec): void {
    this.#call(`deleteFdb ${spec.mac}`);
    const key = `${spec.ifindex} ${spec.mac}`;
    const entry = this.#fdb.get(key);
    if (!entry) fail(`delete fdb ${spec.mac}`, Errno.ENOENT);
    // A dst the entry does not have is a silent no-op, as in the kernel.
    if (spec.dst !== undefined && spec.dst !== entry.dst) return;
    this.#dropFdb(key, entry, 0);
  }

  #dropFdb(key: string, entry: FdbEntry, senderPort: number): void {
    this.#fdb.delete(key);
    this.#announce({ kind: "fdb", action: "del", ...entry, senderPort });
  }

  // ---- routes ----

  listRoutes(filter: { ifindex?: number; family?: 4 | 6; table?: number } = {}): Route[] {
    const table = filter.table ?? RT_TABLE_MAIN;
    return [...this.#routes.values()].filter((route) =>
      (table === 0 || route.table === table) &&
      (filter.ifindex === undefined || route.ifindex === filter.ifindex) &&
      (filter.family === undefined || familyOf(route) === filter.family)
    ).map((route) => this.#asRoute(route));
  }

  #asRoute(route: StoredRoute): Route {
    const result: Route = {
      family: familyOf(route),
      dst: route.dst,
      ifindex: route.ifindex,
      onlink: route.onlink,
      flags: route.onlink ? 4 : 0,
      protocol: 3,
      scope: route.scope,
      table: route.table,
      type: route.type ?? 1,
      metric: 0,
      nexthops: [{ gateway: route.gateway, ifindex: route.ifindex, flags: route.onlink ? 4 : 0 }],
    };
    if (route.gateway !== undefined) result.gateway = route.gateway;
    return result;
  }

  replaceRoute(spec: RouteSpec): void {
    this.#call(`replaceRoute ${spec.dst}`);
    this.#putRoute(spec, LOCAL_PORT);
  }

  #putRoute(spec: RouteSpec, senderPort: number): void {
    const operation = `replace route ${spec.dst}`;
    if (spec.type === "blackhole") {
      const table = spec.table ?? RT_TABLE_MAIN;
      const dst = formatCIDR(parseCIDR(spec.dst)!);
      if (spec.exclusive && this.#routes.has(`${table} ${dst}`)) fail(operation, Errno.EEXIST);
      this.#routes.set(`${table} ${dst}`, { dst, onlink: false, table, scope: 0, type: 6 });
      return;
    }
    let ifindex = spec.ifindex;
    if (ifindex !== undefined) {
      const link = this.#linkOrFail(ifindex, operation);
      if (spec.onlink && !link.up) fail(operation, Errno.ENETDOWN);
    }
    if (!spec.onlink && spec.gateway !== undefined) {
      const via = this.lookupRoute(spec.gateway);
      if (!via || via.gateway !== undefined) fail(operation, Errno.ENETUNREACH);
      ifindex ??= via.ifindex;
    }
    if (ifindex === undefined) fail(operation, Errno.EINVAL);
    const table = spec.table ?? RT_TABLE_MAIN;
    const route: StoredRoute = {
      dst: formatCIDR(parseCIDR(spec.dst)!),
      ifindex,
      onlink: spec.onlink ?? false,
      table,
      scope: 0,
    };
    if (spec.gateway !== undefined) route.gateway = spec.gateway;
    this.#routes.set(`${table} ${route.dst}`, route);
    this.#announce({
      kind: "route",
      action: "new",
      family: familyOf(route),
      dst: route.dst,
      gateway: route.gateway,
      ifindex,
      table,
      flags: route.onlink ? 4 : 0,
      senderPort,
    });
  }

  deleteRoute(spec: RouteSpec): void {
    this.#call(`deleteRoute ${spec.dst}`);
    const key = `${spec.table ?? RT_TABLE_MAIN} ${spec.dst}`;
    const route = this.#routes.get(key);
    if (
      !route || (spec.gateway !== undefined && route.gateway !== spec.gateway) ||
      (spec.ifindex !== undefined && route.ifindex !== spec.ifindex)
    ) {
      fail(`delete route ${spec.dst}`, Errno.ESRCH);
    }
    this.#dropRoute(key, route, LOCAL_PORT);
  }

  #dropRoute(key: string, route: StoredRoute, senderPort: number): void {
    this.#routes.delete(key);
    this.#announce({
      kind: "route",
      action: "del",
      family: familyOf(route),
      dst: route.dst,
      gateway: route.gateway,
      ifindex: route.ifindex,
      table: route.table,
      flags: route.onlink ? 4 : 0,
      senderPort,
    });
  }

  lookupRoute(ip: string): RouteLookup | undefined {
    const address = parseIP(ip);
    if (!address) return undefined;
    let best: StoredRoute | undefined;
    let bestPrefix = -1;
    for (const route of this.#routes.values()) {
      if (route.table !== RT_TABLE_MAIN) continue;
      const cidr = parseCIDR(route.dst)!;
      if (cidrContains(cidr, address) && cidr.prefix > bestPrefix) {
        best = route;
        bestPrefix = cidr.prefix;
      }
    }
    if (!best) return undefined;
    const lookup: RouteLookup = {
      family: address.family,
      dst: ip,
      ifindex: best.ifindex,
      table: RT_TABLE_MAIN,
      type: best.type ?? 1,
      scope: best.scope,
    };
    if (best.gateway !== undefined) lookup.gateway = best.gateway;
    const source = best.ifindex === undefined
      ? undefined
      : this.#sourceFor(best.ifindex, address.family);
    if (source !== undefined) lookup.source = source;
    return lookup;
  }

  /** The kernel's pick of a source address: the device's first global one of the family. */
  #sourceFor(ifindex: number, family: 4 | 6): string | undefined {
    const own = this.#addresses.filter((a) => a.ifindex === ifindex && a.family === family);
    return (own.find((a) => a.scope === 0) ?? own[0])?.address;
  }

  localPort(): number {
    return LOCAL_PORT;
  }

  close(): void {
    for (const queue of this.#queues) queue.close();
    this.#queues.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Changes made by someone else (an operator, udev, another program): not stamped as ours. */
  readonly outside = {
    deleteLink: (name: string): void => {
      const link = [...this.#links.values()].find((candidate) => candidate.name === name);
      if (link) this.#deleteLink(link);
    },
    setLinkMac: (name: string, mac: string): void => {
      const link = [...this.#links.values()].find((candidate) => candidate.name === name)!;
      link.mac = mac;
      this.#linkChange(link, "new", 0);
    },
    setLinkMtu: (name: string, mtu: number): void => {
      const link = [...this.#links.values()].find((candidate) => candidate.name === name)!;
      link.mtu = mtu;
      this.#linkChange(link, "new", 0);
    },
    setLinkDown: (name: string): void => {
      this.#setDown([...this.#links.values()].find((candidate) => candidate.name === name)!, 0);
    },
    deleteNeighbour: (ifindex: number, ip: string): void => {
      const key = `${ifindex} ${ip}`;
      const entry = this.#neighbours.get(key);
      if (entry) this.#dropNeighbour(key, entry, 0);
    },
    deleteFdb: (ifindex: number, mac: string): void => {
      const key = `${ifindex} ${mac}`;
      const entry = this.#fdb.get(key);
      if (entry) this.#dropFdb(key, entry, 0);
    },
    deleteRoute: (dst: string): void => {
      const key = `${RT_TABLE_MAIN} ${dst}`;
      const route = this.#routes.get(key);
      if (route) this.#dropRoute(key, route, 0);
    },
    /** A route someone else added (e.g. through another device). */
    addRoute: (spec: RouteSpec): void => this.#putRoute(spec, 0),
    replaceNeighbour: (spec: NeighbourSpec): void => this.#putNeighbour(spec, 0),
    replaceFdb: (spec: FdbSpec): void => this.#putFdb(spec, 0),
    /**
     * A second underlay device with its own subnet, for routes "of another device". Without a
     * CIDR it has no address yet (an interface still coming up).
     */
    addDevice: (name: string, cidr?: string): Link => {
      const link = this.#addLink({
        name,
        kind: "dummy",
        mac: "02:00:00:00:00:99",
        mtu: 1500,
        flags: IFF_UP,
        up: true,
        operState: "UNKNOWN",
      });
      if (cidr !== undefined) this.outside.addAddress(name, cidr);
      return structuredClone(link);
    },
    /**
     * An address someone else added, with its connected route as the kernel adds one. IPv4 or
     * IPv6; `scope` (default 0, global) and `flags` (`IFA_F_*`, default permanent) as the kernel
     * reports them, e.g. 253 for a link-local address, 0x20 deprecated, 0x01 temporary.
     */
    addAddress: (name: string, cidr: string, options: { scope?: number; flags?: number } = {}) => {
      const link = [...this.#links.values()].find((candidate) => candidate.name === name)!;
      const parsed = parseCIDR(cidr)!;
      this.#addresses.push({
        ifindex: link.index,
        family: parsed.ip.family,
        address: formatCIDR(parsed).split("/")[0]!,
        prefixLength: parsed.prefix,
        scope: options.scope ?? 0,
        flags: options.flags ?? IFA_F_PERMANENT,
      });
      const network = formatCIDR({ ...parsed, ip: networkAddress(parsed) });
      this.#routes.set(`254 ${network}`, {
        dst: network,
        ifindex: link.index,
        onlink: false,
        table: RT_TABLE_MAIN,
        scope: 253,
      });
    },
    /** Removes an address (and nothing else), as `ip addr del` by someone else. */
    deleteAddress: (name: string, address: string): void => {
      const link = [...this.#links.values()].find((candidate) => candidate.name === name)!;
      const index = this.#addresses.findIndex((a) =>
        a.ifindex === link.index && a.address === address
      );
      if (index >= 0) this.#addresses.splice(index, 1);
    },
  };
}

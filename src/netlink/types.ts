/**
 * The data the netlink binding reads and writes, as plain values: IPs and CIDRs in Go's canonical
 * text (`10.244.1.0`, `10.244.0.0/16`, `fd00::1`), MACs as lower-case colon-separated octets,
 * interfaces by index. And `Netlink`, the narrow interface the daemon programs the kernel with,
 * so its logic can run against a fake in unit tests.
 *
 * @module
 */
import type { Family } from "../net/ip.ts";
import type { OPER_STATES } from "./constants.ts";

export type OperState = (typeof OPER_STATES)[number];

/** VXLAN attributes of a link, as the kernel reports them. */
export interface VxlanAttributes {
  vni: number;
  /** UDP destination port (the kernel reports its default, 8472, when none was set). */
  port: number;
  /** Source address of the encapsulated packets, when set. */
  local?: string;
  /** Index of the underlay device, when set. */
  underlay?: number;
  learning: boolean;
  /** Group-based-policy extension. */
  gbp: boolean;
}

export interface Link {
  index: number;
  name: string;
  /** `IFLA_INFO_KIND` (`vxlan`, `veth`, `bridge`, `dummy`, ...); absent for devices without one. */
  kind?: string;
  /** Absent for devices without a link-layer address. */
  mac?: string;
  mtu: number;
  /** `IFF_*` flags. */
  flags: number;
  /** Administratively up (`IFF_UP`). */
  up: boolean;
  operState: OperState;
  /** Index of the master device (bridge, bond), when enslaved. */
  master?: number;
  /** Present exactly when `kind` is `vxlan`. */
  vxlan?: VxlanAttributes;
}

/** A VXLAN device to create in one RTM_NEWLINK request. */
export interface VxlanSpec {
  /** Device name, e.g. `flannel.1`. */
  name: string;
  /** Given at creation so the kernel marks it NET_ADDR_SET and udev leaves it alone. */
  mac: string;
  /** Default: the kernel's (underlay MTU − 50, − 70 for IPv6; 1500 without an underlay). */
  mtu?: number;
  vni: number;
  /** UDP destination port; 0 or absent sends none, leaving the kernel default (8472). */
  port?: number;
  /** IPv4 or IPv6 source address. */
  local?: string;
  /** Index of the underlay device. */
  underlay?: number;
  /** Default false (`nolearning`), as flannel. */
  learning?: boolean;
  /** Default false. */
  gbp?: boolean;
}

export interface Address {
  ifindex: number;
  family: Family;
  /** The interface's own address (`IFA_LOCAL`). */
  address: string;
  prefixLength: number;
  /** `RT_SCOPE_*`: 0 universe, 253 link, 254 host. */
  scope: number;
  /** `IFA_F_*` flags. */
  flags: number;
}

export interface AddressFilter {
  ifindex?: number;
  family?: Family;
}

export interface Neighbour {
  ifindex: number;
  family: Family;
  ip: string;
  /** Absent while unresolved (INCOMPLETE, FAILED). */
  mac?: string;
  /** `NUD_*` state bits, e.g. 0x80 NUD_PERMANENT. */
  state: number;
  /** `NTF_*` flags. */
  flags: number;
}

export interface NeighbourFilter {
  ifindex?: number;
  family?: Family;
}

/** `ip neigh replace <ip> lladdr <mac> dev <ifindex> nud permanent`. */
export interface NeighbourSpec {
  ifindex: number;
  ip: string;
  mac: string;
}

/** One forwarding-database entry of a device (`bridge fdb show`). */
export interface FdbEntry {
  ifindex: number;
  mac: string;
  /** Remote VTEP address (`NDA_DST`), for VXLAN entries that have one. */
  dst?: string;
  /** `NTF_*` flags, e.g. 0x02 NTF_SELF. */
  flags: number;
  /** `NUD_*` state bits. */
  state: number;
}

export interface FdbFilter {
  ifindex?: number;
}

/** `bridge fdb replace <mac> dev <ifindex> dst <dst> self permanent`. */
export interface FdbSpec {
  ifindex: number;
  mac: string;
  dst: string;
}

/** The entry to delete; without `dst` the whole entry for the MAC goes. */
export interface FdbDeleteSpec {
  ifindex: number;
  mac: string;
  dst?: string;
}

export interface RouteNexthop {
  gateway?: string;
  ifindex?: number;
  /** `RTNH_F_*` flags, e.g. 0x4 RTNH_F_ONLINK. */
  flags: number;
}

export interface Route {
  family: Family;
  /** Destination prefix; `0.0.0.0/0` or `::/0` for a default route. */
  dst: string;
  /** Gateway of the only nexthop, if any. */
  gateway?: string;
  /** Output device of the only nexthop, if any. */
  ifindex?: number;
  /** RTNH_F_ONLINK is set on the route or its nexthop. */
  onlink: boolean;
  /** `RTM_F_*`/`RTNH_F_*` flags of the route. */
  flags: number;
  /** `RTPROT_*`: 2 kernel, 3 boot, 4 static, ... */
  protocol: number;
  /** `RT_SCOPE_*`. */
  scope: number;
  table: number;
  /** `RTN_*`: 1 unicast, 2 local, 3 broadcast, ... */
  type: number;
  /** Route priority (`metric`). */
  metric: number;
  /** Every nexthop (one for ordinary routes, several for multipath). */
  nexthops: RouteNexthop[];
}

export interface RouteFilter {
  /** Only routes with a nexthop through this device. */
  ifindex?: number;
  family?: Family;
  /** Routing table; default 254 (main), 0 for all tables. */
  table?: number;
}

/**
 * A route to add or replace, or to delete. For `replaceRoute` give a gateway, a device or both:
 * `{dst, gateway, ifindex, onlink: true}` is flannel's VXLAN route, `{dst, gateway}` its
 * DirectRouting route (the kernel picks the device).
 */
export interface RouteSpec {
  dst: string;
  gateway?: string;
  ifindex?: number;
  /** Set RTNH_F_ONLINK: the gateway is on the device's link, no on-link check (device must be up). */
  onlink?: boolean;
  /** Default 254 (main). */
  table?: number;
  /** `RTPROT_*`; default 3 (boot), as `ip route` and flannel. Ignored by `deleteRoute`. */
  protocol?: number;
  /** Route priority; default 0. */
  metric?: number;
  /**
   * `blackhole`: packets to `dst` are dropped here (`ip route replace blackhole <dst>`), needing
   * no gateway or device. Default `unicast`.
   */
  type?: "unicast" | "blackhole";
  /** Create only (`ip route add`): fail with EEXIST when `dst` already has a route. */
  exclusive?: boolean;
}

/** The route the kernel would use for one destination (`ip route get`). */
export interface RouteLookup {
  family: Family;
  /** The destination looked up. */
  dst: string;
  gateway?: string;
  ifindex?: number;
  /** The source address the kernel would send from (`src` in `ip route get`). */
  source?: string;
  table: number;
  /** `RTN_*`: 1 unicast, 2 local, ... */
  type: number;
  scope: number;
}

/** Programs the kernel's links, addresses, neighbours, FDB and routes. Synchronous. */
export interface Netlink extends Disposable {
  /** Every link. */
  listLinks(): Link[];
  /** The link with this name or index; undefined when there is none. */
  getLink(nameOrIndex: string | number): Link | undefined;
  /** Creates a VXLAN device (fails with EEXIST if the name is taken) and returns it as read back. */
  createVxlan(spec: VxlanSpec): Link;
  setLinkUp(index: number): void;
  setLinkDown(index: number): void;
  setLinkMac(index: number, mac: string): void;
  setLinkMtu(index: number, mtu: number): void;
  deleteLink(index: number): void;

  listAddresses(filter?: AddressFilter): Address[];
  /** Adds `<ip>/<prefix>` to a device; fails with EEXIST when present. */
  addAddress(ifindex: number, cidr: string): void;
  /** Fails with EADDRNOTAVAIL when absent. */
  deleteAddress(ifindex: number, cidr: string): void;

  listNeighbours(filter?: NeighbourFilter): Neighbour[];
  /** Idempotent: creates or replaces a permanent entry. */
  replaceNeighbour(spec: NeighbourSpec): void;
  /** Fails with ENOENT when absent. */
  deleteNeighbour(spec: { ifindex: number; ip: string }): void;

  listFdb(filter?: FdbFilter): FdbEntry[];
  /** Idempotent: creates or replaces a permanent `self` entry (a new dst replaces the old). */
  replaceFdb(spec: FdbSpec): void;
  /**
   * Fails with ENOENT when the device has no entry for the MAC. A `dst` the entry does not have
   * is a silent no-op (kernel behaviour), so compare with `listFdb` first when it matters.
   */
  deleteFdb(spec: FdbDeleteSpec): void;

  listRoutes(filter?: RouteFilter): Route[];
  /** Idempotent: creates or replaces the route for `dst` in its table. */
  replaceRoute(spec: RouteSpec): void;
  /** Deletes the route for `dst` (matching gateway/device/metric when given); ESRCH when absent. */
  deleteRoute(spec: RouteSpec): void;
  /** The route the kernel would pick for `ip`; undefined when it has none (unreachable). */
  lookupRoute(ip: string): RouteLookup | undefined;

  /**
   * The port id of this socket. The kernel puts it in the `nlmsg_pid` of some of the change
   * notifications our requests cause (KernelChange.senderPort; which ones: monitor.ts).
   */
  localPort(): number;

  /** Frees the socket. Later calls throw. */
  close(): void;
}

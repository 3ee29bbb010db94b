/**
 * A typed binding of libnl-3 / libnl-route-3 over Deno FFI: VXLAN links, addresses, neighbour and
 * FDB entries, routes, and a monitor of the kernel's change notifications for them. No
 * `ip`/`bridge` subprocesses. Failures throw `NetlinkError` carrying the kernel's errno.
 *
 * ```ts
 * using netlink = openNetlink();
 * const vtep = netlink.createVxlan({ name: "flannel.1", mac: "02:42:0a:f4:01:00", vni: 1 });
 * netlink.setLinkUp(vtep.index);
 * ```
 *
 * @module
 */
export { openNetlink, type OpenNetlinkOptions } from "./netlink.ts";
export {
  type KernelMonitor,
  type KernelMonitorOptions,
  MONITOR_GROUPS,
  type MonitorGroup,
  openKernelMonitor,
} from "./monitor.ts";
export {
  type ChangeAction,
  type FdbChange,
  type KernelChange,
  type LinkChange,
  type NeighbourChange,
  parseKernelChanges,
  type RouteChange,
} from "./changes.ts";
export {
  Errno,
  errnoName,
  isExists,
  isNoDevice,
  isNotFound,
  isUnreachable,
  LibnlLoadError,
  NetlinkError,
} from "./errors.ts";
export { DEFAULT_LIBNL_PATHS, type LibnlPaths } from "./library.ts";
export {
  IFF_UP,
  NTF_SELF,
  NUD_PERMANENT,
  RT_TABLE_MAIN,
  RTNH_F_ONLINK,
  RTPROT_BOOT,
} from "./constants.ts";
export type {
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
  OperState,
  Route,
  RouteFilter,
  RouteLookup,
  RouteNexthop,
  RouteSpec,
  VxlanAttributes,
  VxlanSpec,
} from "./types.ts";

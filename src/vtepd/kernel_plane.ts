/**
 * Reads the overlay's data plane back from the kernel and applies reconcile plans to it, through
 * the netlink interface. Only entries the overlay owns are read: permanent neighbours and `self`
 * FDB entries of the VXLAN device, and routes into the cluster network through a gateway that
 * are either on the device or (DirectRouting) via a known peer's public IP — never another
 * device's routes, and never the node's own pod subnet.
 *
 * @module
 */
import { type CIDR, cidrContains, parseCIDR } from "../net/cidr.ts";
import { isUsableUnicastMAC } from "../net/mac.ts";
import {
  isNotFound,
  type Netlink,
  NTF_SELF,
  NUD_PERMANENT,
  RT_TABLE_MAIN,
} from "../netlink/mod.ts";
import type { Logger } from "../log/log.ts";
import type { DataPlane } from "./desired.ts";
import type { Plan } from "./plan.ts";

export interface PlaneContext {
  /** Index of the VXLAN device. */
  ifindex: number;
  network: CIDR;
  /** The own pod CIDR (`10.244.1.0/24`): its routes belong to the CNI bridge, not to us. */
  ownSubnet: string;
}

export type PlaneKernel = Pick<
  Netlink,
  | "listNeighbours"
  | "replaceNeighbour"
  | "deleteNeighbour"
  | "listFdb"
  | "replaceFdb"
  | "deleteFdb"
  | "listRoutes"
  | "replaceRoute"
  | "deleteRoute"
  | "lookupRoute"
>;

/**
 * The overlay's entries in the kernel. `peerGateways` are the public IPs of known peers: a route
 * via one of them on another device is a DirectRouting route of ours.
 */
export function readDataPlane(
  kernel: PlaneKernel,
  context: PlaneContext,
  peerGateways: ReadonlySet<string> = new Set(),
): DataPlane {
  const neighbours = kernel.listNeighbours({ ifindex: context.ifindex, family: 4 })
    .filter((entry) => (entry.state & NUD_PERMANENT) !== 0 && entry.mac !== undefined)
    .map((entry) => ({ ip: entry.ip, mac: entry.mac! }));
  const fdb = kernel.listFdb({ ifindex: context.ifindex })
    .filter((entry) =>
      entry.dst !== undefined && (entry.flags & NTF_SELF) !== 0 && isUsableUnicastMAC(entry.mac)
    )
    .map((entry) => ({ mac: entry.mac, dst: entry.dst! }));
  const routes = kernel.listRoutes({ family: 4, table: RT_TABLE_MAIN })
    .filter((route) => {
      if (route.gateway === undefined || route.dst === context.ownSubnet) return false;
      if (route.ifindex !== context.ifindex && !peerGateways.has(route.gateway)) {
        return false;
      }
      const dst = parseCIDR(route.dst);
      return dst !== undefined && cidrContains(context.network, dst.ip);
    })
    .map((route) => ({
      dst: route.dst,
      gateway: route.gateway!,
      onlink: route.onlink && route.ifindex === context.ifindex,
    }));
  return { neighbours, fdb, routes };
}

/** True when `ip` is reached without a gateway (flannel's DirectRouting test). */
export function isOnLink(kernel: Pick<Netlink, "lookupRoute">, ip: string): boolean {
  const route = kernel.lookupRoute(ip);
  return route !== undefined && route.gateway === undefined && route.type === 1;
}

export type EntryKind = "neighbour" | "fdb" | "route";

export interface ApplyResult {
  changed: number;
  failed: number;
  /** Successful changes by kind of entry. */
  byKind: Record<EntryKind, number>;
}

/**
 * Applies a plan in flannel's order: neighbour, FDB, then the route (so the kernel never ARPs
 * for the gateway); removals route first. A failure is logged and the rest goes on: the next
 * reconciliation retries it. Removing what is already gone is not a failure.
 */
export function applyPlan(
  kernel: PlaneKernel,
  context: PlaneContext,
  plan: Plan,
  log: Logger,
): ApplyResult {
  const result: ApplyResult = { changed: 0, failed: 0, byKind: { neighbour: 0, fdb: 0, route: 0 } };
  const attempt = (kind: EntryKind, what: string, operation: () => void, removal = false) => {
    try {
      operation();
      result.changed++;
      result.byKind[kind]++;
    } catch (error) {
      if (removal && isNotFound(error)) return;
      result.failed++;
      log.warn("kernel update failed", { what, error });
    }
  };
  const ifindex = context.ifindex;
  for (const entry of plan.neighbours.replace) {
    attempt(
      "neighbour",
      `neighbour ${entry.ip}`,
      () => kernel.replaceNeighbour({ ifindex, ...entry }),
    );
  }
  for (const entry of plan.fdb.replace) {
    attempt("fdb", `fdb ${entry.mac}`, () => kernel.replaceFdb({ ifindex, ...entry }));
  }
  for (const entry of plan.routes.replace) {
    attempt("route", `route ${entry.dst}`, () =>
      kernel.replaceRoute(
        entry.onlink
          ? { dst: entry.dst, gateway: entry.gateway, ifindex, onlink: true }
          : { dst: entry.dst, gateway: entry.gateway },
      ));
  }
  for (const entry of plan.routes.remove) {
    attempt(
      "route",
      `remove route ${entry.dst}`,
      () => kernel.deleteRoute({ dst: entry.dst, gateway: entry.gateway }),
      true,
    );
  }
  for (const entry of plan.neighbours.remove) {
    attempt(
      "neighbour",
      `remove neighbour ${entry.ip}`,
      () => kernel.deleteNeighbour({ ifindex, ip: entry.ip }),
      true,
    );
  }
  for (const entry of plan.fdb.remove) {
    attempt(
      "fdb",
      `remove fdb ${entry.mac}`,
      () => kernel.deleteFdb({ ifindex, mac: entry.mac, dst: entry.dst }),
      true,
    );
  }
  return result;
}

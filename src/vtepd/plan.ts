/**
 * Level-triggered reconciliation: compares the desired data plane with what the kernel has and
 * says what to replace and what to remove. Entries the daemon does not know about are removed
 * only when the peer table is authoritative (a fresh, complete node list), never from a stale
 * view; entries it knows it programmed for a changed or deleted peer are always removed.
 *
 * @module
 */
import type { DataPlane, FdbEntry, NeighbourEntry, RouteEntry } from "./desired.ts";

export interface Changes<T> {
  replace: T[];
  remove: T[];
}

export interface Plan {
  neighbours: Changes<NeighbourEntry>;
  fdb: Changes<FdbEntry>;
  routes: Changes<RouteEntry>;
}

export interface PlanOptions {
  /** Remove kernel entries that no peer wants (only with an authoritative peer table). */
  removeUnknown: boolean;
  /** Entries previously programmed for peers that changed or left: removed unless desired. */
  stale?: DataPlane;
}

const fdbKey = (entry: FdbEntry) => `${entry.mac} ${entry.dst}`;

function planNeighbours(
  desired: NeighbourEntry[],
  observed: NeighbourEntry[],
  options: PlanOptions,
): Changes<NeighbourEntry> {
  const want = new Map(desired.map((entry) => [entry.ip, entry]));
  const have = new Map(observed.map((entry) => [entry.ip, entry]));
  const replace = desired.filter((entry) => have.get(entry.ip)?.mac !== entry.mac);
  const staleIPs = new Set(options.stale?.neighbours.map((entry) => entry.ip));
  const remove = observed.filter((entry) =>
    !want.has(entry.ip) && (options.removeUnknown || staleIPs.has(entry.ip))
  );
  return { replace, remove };
}

function planFdb(
  desired: FdbEntry[],
  observed: FdbEntry[],
  options: PlanOptions,
): Changes<FdbEntry> {
  const wantByMac = new Map(desired.map((entry) => [entry.mac, entry]));
  const have = new Set(observed.map(fdbKey));
  // REPLACE on a MAC rewrites its first remote, so a wanted MAC with a wrong dst is replaced, and
  // any further remotes of that MAC are removed.
  const replace = desired.filter((entry) => !have.has(fdbKey(entry)));
  const staleKeys = new Set(options.stale?.fdb.map(fdbKey));
  const remove = observed.filter((entry) => {
    const wanted = wantByMac.get(entry.mac);
    if (wanted) return wanted.dst !== entry.dst && have.has(fdbKey(wanted));
    return options.removeUnknown || staleKeys.has(fdbKey(entry));
  });
  return { replace, remove };
}

function planRoutes(
  desired: RouteEntry[],
  observed: RouteEntry[],
  options: PlanOptions,
): Changes<RouteEntry> {
  const want = new Map(desired.map((entry) => [entry.dst, entry]));
  const have = new Map(observed.map((entry) => [entry.dst, entry]));
  const replace = desired.filter((entry) => {
    const current = have.get(entry.dst);
    return current?.gateway !== entry.gateway || current.onlink !== entry.onlink;
  });
  const staleDsts = new Set(options.stale?.routes.map((entry) => entry.dst));
  const remove = observed.filter((entry) =>
    !want.has(entry.dst) && (options.removeUnknown || staleDsts.has(entry.dst))
  );
  return { replace, remove };
}

export function planReconcile(desired: DataPlane, observed: DataPlane, options: PlanOptions): Plan {
  return {
    neighbours: planNeighbours(desired.neighbours, observed.neighbours, options),
    fdb: planFdb(desired.fdb, observed.fdb, options),
    routes: planRoutes(desired.routes, observed.routes, options),
  };
}

export function isEmptyPlan(plan: Plan): boolean {
  return [plan.neighbours, plan.fdb, plan.routes].every((changes) =>
    changes.replace.length === 0 && changes.remove.length === 0
  );
}

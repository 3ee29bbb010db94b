/**
 * Keeps the kernel's overlay entries equal to what the peer table asks for. It is the backend's
 * half of the daemon: it never decides which peers exist (peer_table.ts does), only what their
 * entries are and how to get the kernel there.
 *
 * - `apply` programs one peer change incrementally (a handful of netlink calls, so an annotation
 *   change reaches the kernel in well under a millisecond), removing exactly the entries the
 *   peer had before when it changed or left.
 * - `reconcile` reads the kernel back and repairs every difference. Entries of peers the table
 *   no longer has are removed; entries nobody ever asked for are removed only when the caller
 *   says the table is complete (right after an authoritative list).
 *
 * @module
 */
import type { Peer } from "../kube/peer.ts";
import type { Logger } from "../log/log.ts";
import type { PeerChange } from "./peer_table.ts";
import { type DataPlane, type DesiredOptions, peerDataPlane } from "./desired.ts";
import {
  applyPlan,
  type ApplyResult,
  type EntryKind,
  isOnLink,
  type PlaneContext,
  type PlaneKernel,
  readDataPlane,
} from "./kernel_plane.ts";
import { isEmptyPlan, planReconcile } from "./plan.ts";

const EMPTY: DataPlane = { neighbours: [], fdb: [], routes: [] };

export interface ReconcilerOptions {
  directRouting: boolean;
  log: Logger;
}

export interface ReconcileReport {
  peers: number;
  changed: number;
  failed: number;
  /** Entries no peer wants were looked for and removed. */
  collectedGarbage: boolean;
  /** Entries changed, by kind. */
  byKind: Record<EntryKind, number>;
}

export interface ReconcileOptions {
  /** The table is complete (an authoritative list just came): unknown entries may go. */
  collectGarbage: boolean;
}

function merge(planes: Iterable<DataPlane>): DataPlane {
  const merged: DataPlane = { neighbours: [], fdb: [], routes: [] };
  for (const plane of planes) {
    merged.neighbours.push(...plane.neighbours);
    merged.fdb.push(...plane.fdb);
    merged.routes.push(...plane.routes);
  }
  return merged;
}

export class Reconciler {
  readonly #kernel: PlaneKernel;
  readonly #context: () => PlaneContext | undefined;
  readonly #options: ReconcilerOptions;
  /** What was last programmed for each peer, so a change can remove exactly the old entries. */
  #programmed = new Map<string, DataPlane>();
  #failures = 0;

  /** `context` returns undefined while the device is not configured; nothing is applied then. */
  constructor(
    kernel: PlaneKernel,
    context: () => PlaneContext | undefined,
    options: ReconcilerOptions,
  ) {
    this.#kernel = kernel;
    this.#context = context;
    this.#options = options;
  }

  /** Kernel updates that failed since the start (each is retried by a later pass). */
  get failures(): number {
    return this.#failures;
  }

  #desiredOptions(): DesiredOptions {
    return {
      directRouting: this.#options.directRouting,
      isOnLink: (ip) => isOnLink(this.#kernel, ip),
    };
  }

  /** Programs one change of the peer table; undefined while the device is not there. */
  apply(change: PeerChange): ApplyResult | undefined {
    const context = this.#context();
    if (!context) return undefined;
    const name = change.peer.name;
    const wanted = change.kind === "remove"
      ? EMPTY
      : peerDataPlane(change.peer, this.#desiredOptions());
    const previous = change.kind === "upsert" ? change.previous : change.peer;
    const before = this.#programmed.get(name) ??
      (previous ? peerDataPlane(previous, this.#desiredOptions()) : EMPTY);
    const plan = planReconcile(wanted, before, { removeUnknown: false, stale: before });
    // The old entries may not be in the kernel any more; re-asserting the wanted ones is cheap.
    plan.neighbours.replace = wanted.neighbours;
    plan.fdb.replace = wanted.fdb;
    plan.routes.replace = wanted.routes;
    const result = applyPlan(this.#kernel, context, plan, this.#options.log);
    this.#failures += result.failed;
    if (wanted === EMPTY) this.#programmed.delete(name);
    else this.#programmed.set(name, wanted);
    this.#options.log.info(wanted === EMPTY ? "peer removed" : "peer programmed", {
      peer: name,
      changed: result.changed,
      failed: result.failed,
    });
    return result;
  }

  /** Reads the kernel back and makes it match `peers`. */
  reconcile(peers: ReadonlyMap<string, Peer>, options: ReconcileOptions): ReconcileReport {
    const report: ReconcileReport = {
      peers: peers.size,
      changed: 0,
      failed: 0,
      collectedGarbage: options.collectGarbage,
      byKind: { neighbour: 0, fdb: 0, route: 0 },
    };
    const context = this.#context();
    if (!context) return report;
    const desiredOptions = this.#desiredOptions();
    const perPeer = new Map(
      [...peers.values()].map((peer) => [peer.name, peerDataPlane(peer, desiredOptions)]),
    );
    const desired = merge(perPeer.values());
    // Entries programmed for peers the table no longer has are removed even without garbage
    // collection: the table itself said they must go.
    const stale = merge(
      [...this.#programmed].filter(([name]) => !perPeer.has(name)).map(([, plane]) => plane),
    );
    const gateways = new Set([...peers.values()].map((peer) => peer.publicIP));
    const observed = readDataPlane(this.#kernel, context, gateways);
    const plan = planReconcile(desired, observed, {
      removeUnknown: options.collectGarbage,
      stale,
    });
    if (!isEmptyPlan(plan)) {
      const result = applyPlan(this.#kernel, context, plan, this.#options.log);
      report.changed = result.changed;
      report.failed = result.failed;
      this.#failures += result.failed;
      report.byKind = result.byKind;
    }
    this.#programmed = perPeer;
    return report;
  }
}

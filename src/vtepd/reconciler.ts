/**
 * Keeps the kernel's overlay entries equal to what the peer table asks for.
 *
 * Peer events are applied incrementally (a handful of netlink calls, so an annotation change
 * reaches the kernel in well under a millisecond); a full reconciliation reads the kernel back,
 * repairs drift, and — only when the peer table is authoritative (it came from a fresh,
 * complete node list) — removes entries no peer wants. A table restored from local state or a
 * stale cache never tears anything down.
 *
 * @module
 */
import type { Logger } from "../log/log.ts";
import { type DataPlane, type DesiredOptions, peerDataPlane, type PeerLease } from "./desired.ts";
import {
  applyPlan,
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
  removedUnknown: boolean;
}

function samePeer(a: PeerLease, b: PeerLease): boolean {
  return a.podCIDR === b.podCIDR && a.publicIP === b.publicIP && a.mac === b.mac;
}

export class Reconciler {
  #kernel: PlaneKernel;
  #context: () => PlaneContext | undefined;
  #options: ReconcilerOptions;
  #peers = new Map<string, PeerLease>();
  /** What was last programmed for each peer, so a change can remove exactly the old entries. */
  #programmed = new Map<string, DataPlane>();
  #authoritative = false;

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

  get peers(): ReadonlyMap<string, PeerLease> {
    return this.#peers;
  }

  /** Whether the table came from a complete node list, so unknown kernel entries may go. */
  get authoritative(): boolean {
    return this.#authoritative;
  }

  #desiredOptions(): DesiredOptions {
    return {
      directRouting: this.#options.directRouting,
      isOnLink: (ip) => isOnLink(this.#kernel, ip),
    };
  }

  /** Replaces the whole table and reconciles fully. */
  replaceAll(peers: Iterable<PeerLease>, authoritative: boolean): ReconcileReport {
    this.#peers = new Map([...peers].map((peer) => [peer.name, peer]));
    this.#authoritative ||= authoritative;
    return this.reconcile({ removeUnknown: authoritative });
  }

  /** Adds or updates one peer; applies only its own entries. */
  upsert(peer: PeerLease): void {
    const previous = this.#peers.get(peer.name);
    this.#peers.set(peer.name, peer);
    if (previous && samePeer(previous, peer) && this.#programmed.has(peer.name)) return;
    this.#applyPeer(peer.name, peerDataPlane(peer, this.#desiredOptions()));
  }

  /** Removes one peer and its entries. */
  remove(name: string): void {
    if (!this.#peers.delete(name)) return;
    this.#applyPeer(name, EMPTY);
  }

  #applyPeer(name: string, wanted: DataPlane): void {
    const context = this.#context();
    if (!context) return;
    const before = this.#programmed.get(name) ?? EMPTY;
    const plan = planReconcile(wanted, before, { removeUnknown: false, stale: before });
    // The old entries may not be in the kernel any more; re-asserting the wanted ones is cheap.
    plan.neighbours.replace = wanted.neighbours;
    plan.fdb.replace = wanted.fdb;
    plan.routes.replace = wanted.routes;
    const result = applyPlan(this.#kernel, context, plan, this.#options.log);
    if (wanted === EMPTY) this.#programmed.delete(name);
    else this.#programmed.set(name, wanted);
    this.#options.log.info(wanted === EMPTY ? "peer removed" : "peer programmed", {
      peer: name,
      changed: result.changed,
      failed: result.failed,
    });
  }

  /**
   * Reads the kernel back and repairs every difference. Unknown entries are removed only when
   * asked and the table is authoritative.
   */
  reconcile(options: { removeUnknown?: boolean } = {}): ReconcileReport {
    const removeUnknown = (options.removeUnknown ?? true) && this.#authoritative;
    const report = {
      peers: this.#peers.size,
      changed: 0,
      failed: 0,
      removedUnknown: removeUnknown,
    };
    const context = this.#context();
    if (!context) return report;
    const desiredOptions = this.#desiredOptions();
    const perPeer = new Map(
      [...this.#peers.values()].map((peer) => [peer.name, peerDataPlane(peer, desiredOptions)]),
    );
    const desired: DataPlane = { neighbours: [], fdb: [], routes: [] };
    for (const entries of perPeer.values()) {
      desired.neighbours.push(...entries.neighbours);
      desired.fdb.push(...entries.fdb);
      desired.routes.push(...entries.routes);
    }
    const stale: DataPlane = { neighbours: [], fdb: [], routes: [] };
    for (const [name, entries] of this.#programmed) {
      if (perPeer.has(name)) continue;
      stale.neighbours.push(...entries.neighbours);
      stale.fdb.push(...entries.fdb);
      stale.routes.push(...entries.routes);
    }
    const observed = readDataPlane(this.#kernel, context);
    const plan = planReconcile(desired, observed, { removeUnknown, stale });
    if (!isEmptyPlan(plan)) {
      const result = applyPlan(this.#kernel, context, plan, this.#options.log);
      report.changed = result.changed;
      report.failed = result.failed;
    }
    this.#programmed = perPeer;
    return report;
  }
}

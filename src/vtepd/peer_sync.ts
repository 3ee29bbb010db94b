/**
 * Carries what the node informer reports into the peer table, then onto disk, then into the
 * kernel — in that order, so the state file never lags what the kernel has: a reboot at any
 * moment after a peer was programmed brings it back offline. The table changes synchronously
 * with each report; the disk and kernel work runs in one queue, batched (a burst of events costs
 * one state write), and the kernel waits for the disk at most `persistDeadlineMs`, so a hung
 * disk slows the data plane down but never stops it.
 *
 * @module
 */
import type { FlannelAnnotationKeys } from "../kube/annotations.ts";
import type { NodeView } from "../kube/node.ts";
import type { NodeInformerHandlers, SyncInfo } from "../kube/node_informer.ts";
import { type Families, IPV4_ONLY, nodeToPeer, type Peer } from "../kube/peer.ts";
import type { Logger } from "../log/log.ts";
import type { PeerChange, PeerTable, PeerTableSnapshot } from "./peer_table.ts";
import type { Reconciler, ReconcileReport } from "./reconciler.ts";
import { settlesWithin } from "./deadline.ts";

export interface PeerSyncOptions {
  selfName: string;
  keys: FlannelAnnotationKeys;
  table: PeerTable;
  /** One per overlay family the cluster runs. */
  reconcilers: Reconciler[];
  /** The overlay families the cluster runs. Default IPv4 only. */
  families?: Families;
  /** Writes the state file with the table as it is now; resolves once it is on disk. */
  persist: () => Promise<void>;
  /** How long the kernel waits for the state file. Default 100 ms. */
  persistDeadlineMs?: number;
  log: Logger;
  /** Every view of the own Node object that lists and events bring. */
  onOwnNode?: (node: NodeView) => void;
  /** After each full pass over the kernel. */
  onReconciled?: (report: ReconcileReport) => void;
  /** Once a node list is in the table, on disk and in the kernel: its garbage can go. */
  afterList?: () => void;
}

/** One piece of work for the queue. */
interface Work {
  /** Incremental changes to program (ignored when `full` is set: a full pass covers them). */
  changes: PeerChange[];
  /** Write the state file first. */
  persist: boolean;
  /** Read the whole kernel back; `collectGarbage` when the table was just proven complete. */
  full?: { collectGarbage: boolean };
  /** Told the report of the full pass that did this work. */
  done?: (report: ReconcileReport | undefined) => void;
}

/** The reports of every family's pass as one. */
function mergeReports(
  reports: ReconcileReport[],
  peers: number,
  collectGarbage: boolean,
): ReconcileReport {
  const merged: ReconcileReport = {
    peers,
    changed: 0,
    failed: 0,
    collectedGarbage: collectGarbage,
    byKind: { neighbour: 0, fdb: 0, route: 0 },
  };
  for (const report of reports) {
    merged.changed += report.changed;
    merged.failed += report.failed;
    for (const kind of ["neighbour", "fdb", "route"] as const) {
      merged.byKind[kind] += report.byKind[kind];
    }
  }
  return merged;
}

export class PeerSync implements NodeInformerHandlers {
  readonly #options: PeerSyncOptions;
  readonly #table: PeerTable;
  #queue: Work[] = [];
  #draining = false;
  #idle: (() => void)[] = [];
  /** Problems already logged per node, so a bad node is reported once per distinct problem. */
  #peerErrors = new Map<string, string>();
  #lastSync: { at: Date; authoritative: boolean } | undefined;

  constructor(options: PeerSyncOptions) {
    this.#options = options;
    this.#table = options.table;
  }

  /** When the last list came and whether it could remove peers. */
  get lastSync(): Readonly<{ at: Date; authoritative: boolean }> | undefined {
    return this.#lastSync;
  }

  /**
   * The table saved before a restart, into the table (programmed by the next `reprogram`, once
   * the device is there): nothing is removed, nothing written.
   */
  restore(snapshot: PeerTableSnapshot): void {
    this.#table.restore(snapshot);
    this.#options.log.info("peers restored from local state", {
      peers: this.#table.peers.size,
      resourceVersion: snapshot.resourceVersion,
    });
  }

  /**
   * A full pass over the kernel for the table as it is (boot, periodic resync, repair), in the
   * queue's order: a change not yet on disk is written before the pass programs it.
   */
  reprogram(): Promise<ReconcileReport | undefined> {
    return new Promise((done) =>
      this.#enqueue({ changes: [], persist: false, full: { collectGarbage: false }, done })
    );
  }

  /** Resolves once every queued change is on disk and in the kernel. */
  settled(): Promise<void> {
    if (!this.#draining && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  onSync(nodes: ReadonlyMap<string, NodeView>, info: SyncInfo): void {
    const peers: Peer[] = [];
    for (const node of nodes.values()) {
      if (node.name === this.#options.selfName) {
        this.#options.onOwnNode?.(node);
        continue;
      }
      const peer = this.#peerOf(node);
      if (peer) peers.push(peer);
    }
    const outcome = this.#table.sync({
      peers,
      names: new Set(nodes.keys()),
      resourceVersion: info.resourceVersion,
    });
    this.#lastSync = { at: new Date(), authoritative: outcome.authoritative };
    const fields = {
      peers: this.#table.peers.size,
      changed: outcome.changes.length,
      removed: outcome.changes.filter((change) => change.kind === "remove").length,
      resourceVersion: info.resourceVersion,
    };
    if (outcome.authoritative) this.#options.log.info("node list applied", fields);
    else {
      this.#options.log.warn("node list applied without removing anything", {
        ...fields,
        reason: outcome.reason,
      });
    }
    this.#enqueue({
      changes: outcome.changes,
      persist: outcome.changes.length > 0,
      full: { collectGarbage: outcome.authoritative },
      done: () => this.#options.afterList?.(),
    });
  }

  onUpsert(node: NodeView): void {
    if (node.name === this.#options.selfName) {
      if (node.resourceVersion) this.#table.observe(node.resourceVersion);
      this.#options.onOwnNode?.(node);
      return;
    }
    const peer = this.#peerOf(node);
    if (!peer) {
      // Not a peer (any more): its last good entries stay; only a deletion removes them.
      if (node.resourceVersion) this.#table.observe(node.resourceVersion);
      return;
    }
    const conflicts = this.#conflictKey();
    const change = this.#table.upsert(peer);
    if (change) this.#enqueueChange(change, conflicts);
  }

  onDelete(node: NodeView): void {
    if (node.name === this.#options.selfName) return;
    this.#peerErrors.delete(node.name);
    const conflicts = this.#conflictKey();
    const change = this.#table.remove(node.name, node.resourceVersion || undefined);
    if (change) this.#enqueueChange(change, conflicts);
  }

  /** Which peers are left out for a taken MAC, as one comparable value. */
  #conflictKey(): string {
    return [...this.#table.conflicts.keys()].sort().join(",");
  }

  /**
   * One change from a watch event. It is programmed on its own, unless it touched a VTEP MAC
   * conflict (who owns a MAC may have changed): then a full pass sorts out every peer of it.
   */
  #enqueueChange(change: PeerChange, conflictsBefore: string): void {
    const name = change.peer.name;
    const mine = (key: string) => key.startsWith(`${name}/`);
    const touched = [...this.#table.conflicts.keys()].some(mine) ||
      conflictsBefore !== this.#conflictKey() || conflictsBefore.split(",").some(mine);
    if (touched) {
      this.#enqueue({ changes: [], persist: true, full: { collectGarbage: false } });
    } else this.#enqueue({ changes: [change], persist: true });
  }

  onBookmark(resourceVersion: string): void {
    this.#table.observe(resourceVersion);
  }

  /** The node as a peer, or undefined when it is not one (logged once per distinct problem). */
  #peerOf(node: NodeView): Peer | undefined {
    const decision = nodeToPeer(
      node,
      this.#options.keys,
      this.#options.selfName,
      this.#options.families ?? IPV4_ONLY,
    );
    if ("ignored" in decision) return undefined;
    const problem = "ok" in decision ? decision.problems?.join("; ") : decision.error;
    if (problem === undefined) {
      if (this.#peerErrors.delete(node.name)) {
        this.#options.log.info("peer usable again", { peer: node.name });
      }
    } else if (this.#peerErrors.get(node.name) !== problem) {
      this.#peerErrors.set(node.name, problem);
      this.#options.log.warn(
        "ok" in decision ? "peer usable in part" : "skipping malformed peer",
        { peer: node.name, reason: problem },
      );
    }
    return "ok" in decision ? decision.ok : undefined;
  }

  #enqueue(work: Work): void {
    this.#queue.push(work);
    if (this.#draining) return;
    this.#draining = true;
    this.#drain().catch((error) =>
      this.#options.log.error("programming peers failed; the next resync retries", { error })
    );
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0);
        if (batch.some((work) => work.persist)) await this.#persistBounded();
        const full = batch.filter((work) => work.full);
        if (full.length > 0) {
          const collectGarbage = full.some((work) => work.full!.collectGarbage);
          const started = performance.now();
          let report: ReconcileReport;
          try {
            const peers = this.#table.programmable();
            report = mergeReports(
              this.#options.reconcilers.map((reconciler) =>
                reconciler.reconcile(peers, { collectGarbage })
              ),
              peers.size,
              collectGarbage,
            );
          } catch (error) {
            for (const work of full) work.done?.(undefined);
            throw error;
          }
          for (const work of full) work.done?.(report);
          if (report.changed > 0 || report.failed > 0 || collectGarbage) {
            this.#options.log.info("kernel reconciled with the peer table", {
              peers: report.peers,
              changed: report.changed,
              failed: report.failed,
              collectedGarbage: report.collectedGarbage,
              ms: Math.round(performance.now() - started),
            });
          }
          this.#options.onReconciled?.(report);
        } else {
          for (const work of batch) {
            for (const change of work.changes) {
              for (const reconciler of this.#options.reconcilers) reconciler.apply(change);
            }
          }
        }
      }
    } finally {
      this.#draining = false;
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  async #persistBounded(): Promise<void> {
    const deadline = this.#options.persistDeadlineMs ?? 100;
    if (!await settlesWithin(this.#options.persist(), deadline)) {
      this.#options.log.warn("the state file is slow to write; programming the kernel anyway", {
        waitedMs: deadline,
      });
    }
  }
}

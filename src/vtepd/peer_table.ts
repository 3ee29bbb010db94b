/**
 * The peer table: every other node this node's overlay reaches, and the rules for changing it.
 * It is the subnet manager's half of the daemon (what flannel's kube subnet manager does), kept
 * apart from the kernel and the API so the rules can be tested on their own:
 *
 * - Anything may add or update a peer: a list from the API, a list from a stale cache, a watch
 *   event, the state file at boot. A peer is never updated from an older view of its Node than
 *   the one already applied (per-node resourceVersion).
 * - Only two things remove a peer: a DELETED event on a live watch, and an authoritative list.
 *   A list is authoritative when it contains this node (a cache that never saw us is not the
 *   cluster) and is not older than the newest resourceVersion already seen (a yurthub answering
 *   from a snapshot taken before a node joined would otherwise remove that node). Authority is
 *   a property of one list: the next list is judged afresh.
 * - The newest resourceVersion seen (lists, events, bookmarks) is remembered, and saved with the
 *   peers, so a stale cache is recognised after a reboot as well.
 * - A VTEP MAC belongs to the first peer that advertised it. A peer advertising a MAC another
 *   peer already uses, or this node's own (a cloned disk, a bad image), stays in the table but is
 *   not programmed, and is reported: an FDB entry that flipped between two nodes on every change
 *   would break both.
 *
 * @module
 */
import type { Logger } from "../log/log.ts";
import type { Peer } from "../kube/peer.ts";
import { compareResourceVersions } from "./resource_version.ts";

/** A complete node list as the table needs it. */
export interface NodeListView {
  /** The usable peers in the list (not the own node, not nodes outside the overlay). */
  peers: readonly Peer[];
  /** Every node name in the list; a listed node that is no usable peer keeps its old entry. */
  names: ReadonlySet<string>;
  resourceVersion: string;
}

export type PeerChange =
  | { kind: "upsert"; peer: Peer; previous?: Peer }
  | { kind: "remove"; peer: Peer };

export interface SyncOutcome {
  /** The list was allowed to remove peers. */
  authoritative: boolean;
  /** Why it was not, for the log. */
  reason?: string;
  changes: PeerChange[];
}

/** What the state file keeps of the table. */
export interface PeerTableSnapshot {
  peers: Peer[];
  /** The newest resourceVersion seen. */
  resourceVersion?: string;
}

export interface PeerTableOptions {
  selfName: string;
  log: Logger;
}

/** A peer left out of the kernel because its VTEP MAC is taken. */
export interface MacConflict {
  node: string;
  mac: string;
  /** The peer that advertised the MAC first, or this node. */
  owner: string;
}

/** Whether two peers need the same kernel entries. */
export function samePeer(a: Peer, b: Peer): boolean {
  return a.podCIDR === b.podCIDR && a.publicIP === b.publicIP && a.mac === b.mac;
}

export class PeerTable {
  readonly #selfName: string;
  readonly #log: Logger;
  #peers = new Map<string, Peer>();
  #resourceVersion: string | undefined;
  #warnedIncomparable = false;
  #ownMAC: string | undefined;
  /** When each peer began advertising its current MAC: the earliest claim owns it. */
  #claims = new Map<string, number>();
  #nextClaim = 0;
  #conflicts = new Map<string, MacConflict>();

  constructor(options: PeerTableOptions) {
    this.#selfName = options.selfName;
    this.#log = options.log;
  }

  get peers(): ReadonlyMap<string, Peer> {
    return this.#peers;
  }

  /** The peers whose entries belong in the kernel: all but those whose MAC is taken. */
  programmable(): ReadonlyMap<string, Peer> {
    if (this.#conflicts.size === 0) return this.#peers;
    return new Map([...this.#peers].filter(([name]) => !this.#conflicts.has(name)));
  }

  /** Peers left out of the kernel because another node already uses their VTEP MAC. */
  get conflicts(): ReadonlyMap<string, MacConflict> {
    return this.#conflicts;
  }

  /** This node's own VTEP MAC: a peer advertising it is a conflict too. */
  setOwnMAC(mac: string): void {
    this.#ownMAC = mac;
    this.#findConflicts();
  }

  /** The newest resourceVersion seen, if any. */
  get resourceVersion(): string | undefined {
    return this.#resourceVersion;
  }

  snapshot(): PeerTableSnapshot {
    const snapshot: PeerTableSnapshot = {
      peers: [...this.#peers.values()].sort((a, b) => a.name < b.name ? -1 : 1),
    };
    if (this.#resourceVersion !== undefined) snapshot.resourceVersion = this.#resourceVersion;
    return snapshot;
  }

  /** The table saved before a restart: peers to program at once, and the version they had. */
  restore(snapshot: PeerTableSnapshot): PeerChange[] {
    if (snapshot.resourceVersion !== undefined) this.observe(snapshot.resourceVersion);
    const changes: PeerChange[] = [];
    for (const peer of snapshot.peers) {
      if (peer.name === this.#selfName) continue;
      const change = this.#put(peer);
      if (change) changes.push(change);
    }
    this.#findConflicts();
    return changes;
  }

  /** A complete node list (from the API or a cache): adds and updates, and removes if allowed. */
  sync(list: NodeListView): SyncOutcome {
    const reason = this.#whyNotAuthoritative(list);
    this.observe(list.resourceVersion);
    const changes: PeerChange[] = [];
    for (const peer of list.peers) {
      const change = this.#put(peer);
      if (change) changes.push(change);
    }
    if (reason === undefined) {
      for (const peer of [...this.#peers.values()]) {
        if (!list.names.has(peer.name)) {
          this.#delete(peer.name);
          changes.push({ kind: "remove", peer });
        }
      }
    }
    this.#findConflicts();
    return reason === undefined
      ? { authoritative: true, changes }
      : { authoritative: false, reason, changes };
  }

  /** An ADDED or MODIFIED event of a live watch. */
  upsert(peer: Peer): PeerChange | undefined {
    if (peer.resourceVersion !== undefined) this.observe(peer.resourceVersion);
    if (peer.name === this.#selfName) return undefined;
    const change = this.#put(peer);
    this.#findConflicts();
    return change;
  }

  /** A DELETED event of a live watch. */
  remove(name: string, resourceVersion?: string): PeerChange | undefined {
    if (resourceVersion !== undefined) this.observe(resourceVersion);
    const peer = this.#peers.get(name);
    if (!peer) return undefined;
    this.#delete(name);
    this.#findConflicts();
    return { kind: "remove", peer };
  }

  #delete(name: string): void {
    this.#peers.delete(name);
    this.#claims.delete(name);
  }

  /** Recomputes which peers' MACs are taken, and reports each new conflict once. */
  #findConflicts(): void {
    const owners = new Map<string, string>();
    const byClaim = [...this.#peers.values()].sort((a, b) =>
      this.#claims.get(a.name)! - this.#claims.get(b.name)!
    );
    const conflicts = new Map<string, MacConflict>();
    for (const peer of byClaim) {
      const owner = peer.mac === this.#ownMAC ? "this node" : owners.get(peer.mac);
      if (owner === undefined) owners.set(peer.mac, peer.name);
      else conflicts.set(peer.name, { node: peer.name, mac: peer.mac, owner });
    }
    for (const [name, conflict] of conflicts) {
      const known = this.#conflicts.get(name);
      if (known?.mac === conflict.mac && known.owner === conflict.owner) continue;
      this.#log.error(
        conflict.owner === "this node"
          ? "a peer advertises this node's own VTEP MAC; leaving it out of the kernel"
          : "two nodes advertise the same VTEP MAC; the first keeps it, the other is left out",
        { mac: conflict.mac, owner: conflict.owner, node: conflict.node },
      );
    }
    for (const name of this.#conflicts.keys()) {
      if (!conflicts.has(name) && this.#peers.has(name)) {
        this.#log.info("peer's VTEP MAC is its own again; programming it", { node: name });
      }
    }
    this.#conflicts = conflicts;
  }

  /** A resourceVersion the API handed out (a list, an event, a bookmark). */
  observe(resourceVersion: string): void {
    if (resourceVersion === "") return;
    if (this.#resourceVersion === undefined) {
      this.#resourceVersion = resourceVersion;
      return;
    }
    const order = this.#compare(resourceVersion, this.#resourceVersion);
    if (order === 1 || order === undefined) this.#resourceVersion = resourceVersion;
  }

  #whyNotAuthoritative(list: NodeListView): string | undefined {
    if (list.names.size === 0) return "the node list is empty";
    if (!list.names.has(this.#selfName)) return "the node list lacks this node";
    const known = this.#resourceVersion;
    if (known !== undefined && this.#compare(list.resourceVersion, known) === -1) {
      return `the node list (resourceVersion ${list.resourceVersion}) is older than what was already seen (${known})`;
    }
    return undefined;
  }

  #compare(a: string, b: string): -1 | 0 | 1 | undefined {
    const order = compareResourceVersions(a, b);
    if (order === undefined && !this.#warnedIncomparable) {
      this.#warnedIncomparable = true;
      this.#log.warn(
        "resourceVersions are not unsigned integers; a stale cache cannot be told by its version",
        { a, b },
      );
    }
    return order;
  }

  /** Adds or updates a peer unless what is known of it is newer; returns what changed. */
  #put(peer: Peer): PeerChange | undefined {
    const previous = this.#peers.get(peer.name);
    if (!previous) {
      this.#peers.set(peer.name, peer);
      this.#claims.set(peer.name, this.#nextClaim++);
      return { kind: "upsert", peer };
    }
    if (
      previous.resourceVersion !== undefined && peer.resourceVersion !== undefined &&
      compareResourceVersions(peer.resourceVersion, previous.resourceVersion) === -1
    ) {
      return undefined;
    }
    this.#peers.set(peer.name, peer);
    if (previous.mac !== peer.mac) this.#claims.set(peer.name, this.#nextClaim++);
    return samePeer(previous, peer) ? undefined : { kind: "upsert", peer, previous };
  }
}

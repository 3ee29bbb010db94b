/**
 * keepnet-vtepd's life cycle: the wiring of the parts, each of which lives in its own module.
 * Data flows one way: the peer table (from local state at boot, then from the API) → the state
 * file → the kernel. The API is never on the data plane's critical path once the node has a
 * lease:
 *
 *  1. state file → MAC, lease, peer table and newest resourceVersion, if this node had them (a
 *     reboot); otherwise the own Node object from the API (retried until it answers);
 *  2. the VXLAN device with the kept MAC, its address, then subnet.env — ready;
 *  3. the peers from local state are programmed (nothing removed), then list+watch of Nodes
 *     keeps the table current under the rules of peer_table.ts, written through to the state
 *     file before the kernel (peer_sync.ts);
 *  4. in the background, for the life of the daemon: flannel's annotations and the
 *     NetworkUnavailable condition on the own node; repair of kernel drift from the kernel's
 *     change notifications (drift_watch.ts), and a periodic full resync as a backstop.
 *
 * @module
 */
import type { Logger } from "../log/log.ts";
import { formatCIDR, networkAddress } from "../net/cidr.ts";
import { formatIP, nextIP } from "../net/ip.ts";
import type { KernelChange, Netlink } from "../netlink/mod.ts";
import {
  decodeBackendData,
  type FlannelAnnotationKeys,
  flannelAnnotations,
} from "../kube/annotations.ts";
import type { NodeApi } from "../kube/api.ts";
import { Backoff, sleep } from "../kube/backoff.ts";
import { ipv4PodCIDR, type NodeView } from "../kube/node.ts";
import { NodeInformer } from "../kube/node_informer.ts";
import { NodePublisher } from "../kube/publisher.ts";
import {
  type DeviceChange,
  type DeviceSpec,
  disableAcceptRA,
  ensureDevice,
  findDevice,
  vxlanMTU,
} from "./device.ts";
import { type ChangeSource, DriftWatch } from "./drift_watch.ts";
import { repairReason } from "./drift_rules.ts";
import type { EntryKind } from "./kernel_plane.ts";
import { type Lease, leaseFrom } from "./lease.ts";
import { chooseVtepMAC, type MacSource } from "./mac_choice.ts";
import type { NetConf } from "./netconf.ts";
import { PeerSync } from "./peer_sync.ts";
import { PeerTable } from "./peer_table.ts";
import { Reconciler, type ReconcileReport } from "./reconciler.ts";
import { compareResourceVersions } from "./resource_version.ts";
import { settlesWithin } from "./deadline.ts";
import { readTextBounded, SMALL_FILE_LIMIT } from "./read_config.ts";
import { loadState, type StateLoad, type VtepState } from "./state.ts";
import { StateStore, type StateStoreHealth } from "./state_store.ts";
import { renderSubnetEnv, type SubnetEnv, writeSubnetEnv } from "./subnet_env.ts";
import { findUnderlay, type Underlay } from "./underlay.ts";

export interface DaemonOptions {
  nodeName: string;
  netConf: NetConf;
  keys: FlannelAnnotationKeys;
  iface: string[];
  publicIP?: string;
  subnetFile: string;
  stateDir: string;
  resyncSeconds: number;
  machineId?: string;
  /** How long the kernel waits for the state file before programming a change. Default 100. */
  persistDeadlineMs?: number;
}

export interface DaemonDeps {
  netlink: Netlink;
  api: NodeApi;
  log: Logger;
  /** The kernel's change notifications; without them drift waits for the periodic resync. */
  kernelChanges?: ChangeSource<KernelChange>;
  /** Writes the state file (tests inject a failing disk). Default: state.ts's `saveState`. */
  writeState?: (stateDir: string, state: VtepState) => Promise<void>;
  /** Called once, when the data plane first becomes ready (systemd's READY=1). */
  onReady?: (summary: string) => void;
}

/** What the daemon repaired, by kind, since it started. */
export type RepairKind = "device" | "mac" | "mtu" | "address" | "up" | EntryKind;

export interface DaemonStatus {
  /** Device configured and subnet.env written: pods on this node can get a network. */
  ready: boolean;
  device: boolean;
  subnetEnv: boolean;
  peers: number;
  macSource: MacSource | undefined;
  apiReachable: boolean;
  /** The last node list, and whether it could remove peers. */
  lastSync: { at: Date; authoritative: boolean } | undefined;
  state: StateStoreHealth;
  repairs: Record<RepairKind, number>;
  /** Repair passes started by kernel change notifications. */
  driftPasses: number;
  /** Peers left out of the kernel because another node already uses their VTEP MAC. */
  duplicateMacPeers: number;
  /** Peers whose entries belong in the kernel (all but duplicate-MAC ones). */
  peersProgrammed: number;
  /** Netlink requests that failed (device attributes, peer entries); each is retried. */
  netlinkErrors: number;
}

/** A fatal configuration problem: the daemon cannot work until an operator fixes it. */
export class DaemonConfigError extends Error {
  override name = "DaemonConfigError";
}

/** How long start-up waits for the MAC to be on disk before advertising it anyway. */
const MAC_PERSIST_DEADLINE_MS = 5000;

const DEVICE_REPAIRS: Record<DeviceChange, RepairKind> = {
  created: "device",
  recreated: "device",
  mtu: "mtu",
  mac: "mac",
  address: "address",
  up: "up",
};

export class VtepDaemon {
  readonly #options: DaemonOptions;
  readonly #netlink: Netlink;
  readonly #api: NodeApi;
  readonly #log: Logger;
  readonly #deviceName: string;
  readonly #table: PeerTable;
  readonly #store: StateStore;
  readonly #reconciler: Reconciler;
  readonly #peerSync: PeerSync;
  readonly #stop = new AbortController();
  readonly #kernelChanges: ChangeSource<KernelChange> | undefined;
  readonly #onReady: ((summary: string) => void) | undefined;
  #readyAnnounced = false;
  #deviceErrors = 0;

  #state: StateLoad = { kind: "missing" };
  #underlay: Underlay | undefined;
  #mac = "";
  #macSource: MacSource | undefined;
  #lease: Lease | undefined;
  #ifindex: number | undefined;
  #subnetEnvWritten = false;
  /** The newest resourceVersion of the own Node seen: an older view is a stale cache's. */
  #ownNodeVersion = "";
  #informer: NodeInformer | undefined;
  #publisher: NodePublisher | undefined;
  #drift: DriftWatch<KernelChange> | undefined;
  #resyncTimer: ReturnType<typeof setTimeout> | undefined;
  #repairs: Record<RepairKind, number> = {
    device: 0,
    mac: 0,
    mtu: 0,
    address: 0,
    up: 0,
    neighbour: 0,
    fdb: 0,
    route: 0,
  };

  constructor(options: DaemonOptions, deps: DaemonDeps) {
    this.#options = options;
    this.#netlink = deps.netlink;
    this.#api = deps.api;
    this.#log = deps.log;
    this.#kernelChanges = deps.kernelChanges;
    this.#onReady = deps.onReady;
    this.#deviceName = `flannel.${options.netConf.backend.vni}`;
    this.#table = new PeerTable({ selfName: options.nodeName, log: deps.log });
    this.#store = new StateStore({
      stateDir: options.stateDir,
      log: deps.log,
      write: deps.writeState,
    });
    this.#reconciler = new Reconciler(deps.netlink, () => this.#planeContext(), {
      directRouting: options.netConf.backend.directRouting,
      log: deps.log,
    });
    this.#peerSync = new PeerSync({
      selfName: options.nodeName,
      keys: options.keys,
      table: this.#table,
      reconciler: this.#reconciler,
      persist: () => this.#persist(),
      persistDeadlineMs: options.persistDeadlineMs,
      log: deps.log,
      onOwnNode: (node) => this.#onOwnNode(node),
    });
  }

  /** Device configured and subnet.env written: pods on this node can get a network. */
  ready(): boolean {
    return this.#ifindex !== undefined && this.#subnetEnvWritten;
  }

  get mac(): string {
    return this.#mac;
  }

  /** The peer table as it is now. */
  get peers(): PeerTable["peers"] {
    return this.#table.peers;
  }

  status(): DaemonStatus {
    return {
      ready: this.ready(),
      device: this.#ifindex !== undefined,
      subnetEnv: this.#subnetEnvWritten,
      peers: this.#table.peers.size,
      macSource: this.#macSource,
      apiReachable: this.#informer?.connected ?? false,
      lastSync: this.#peerSync.lastSync,
      state: this.#store.health,
      repairs: { ...this.#repairs },
      driftPasses: this.#drift?.passes ?? 0,
      duplicateMacPeers: this.#table.conflicts.size,
      peersProgrammed: this.#ifindex === undefined ? 0 : this.#table.programmable().size,
      netlinkErrors: this.#reconciler.failures + this.#deviceErrors,
    };
  }

  /** Resolves once every peer change so far is on disk and in the kernel (tests, shutdown). */
  settled(): Promise<void> {
    return this.#peerSync.settled();
  }

  #planeContext() {
    if (this.#ifindex === undefined || !this.#lease) return undefined;
    return {
      ifindex: this.#ifindex,
      network: this.#options.netConf.network,
      ownSubnet: formatCIDR(this.#lease.podCIDR),
    };
  }

  /** Brings the data plane up, then keeps it in shape in the background. */
  async start(): Promise<void> {
    const started = performance.now();
    this.#state = loadState(this.#options.stateDir);
    if (this.#state.kind === "invalid") {
      this.#log.warn("ignoring unusable state file", { reason: this.#state.reason });
    }
    this.#underlay = await this.#waitForUnderlay();
    const mtu = vxlanMTU(this.#options.netConf.backend.mtu, this.#underlay);
    if (mtu.warning) this.#log.warn(mtu.warning);
    const saved = this.#usableState();
    let ownNode: NodeView | undefined;
    this.#lease = saved?.lease ? this.#savedLease(saved.lease.podCIDR) : undefined;
    if (!this.#lease) {
      const fetched = await this.#fetchOwnLease();
      if (!fetched) return; // stopped while waiting
      [ownNode, this.#lease] = fetched;
    }
    if (saved?.peers || saved?.resourceVersion) {
      this.#peerSync.restore({ peers: saved.peers ?? [], resourceVersion: saved.resourceVersion });
    }
    this.#chooseMAC(ownNode);
    // The MAC must be on disk before it is advertised: peers that are offline when it changes
    // would keep sending to the old one.
    if (!await settlesWithin(this.#persist(), MAC_PERSIST_DEADLINE_MS)) {
      this.#log.error("the VTEP MAC is not on disk yet; advertising it anyway", {
        mac: this.#mac,
      });
    }
    try {
      this.#configureDevice();
    } catch (error) {
      this.#deviceErrors += 1;
      // Not fatal: the resync (and every kernel change) tries again.
      this.#log.error("cannot configure the VXLAN device yet; will retry", { error });
    }
    if (this.#ifindex !== undefined) await this.#writeSubnetEnv();
    this.#announceReady(started);
    if (this.#table.peers.size > 0) await this.#peerSync.reprogram();
    this.#startPublisher();
    this.#startInformer();
    this.#startDriftWatch();
    this.#scheduleResync();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    clearTimeout(this.#resyncTimer);
    await Promise.all([this.#informer?.stop(), this.#publisher?.stop(), this.#drift?.stop()]);
    await this.#peerSync.settled();
    // The newest resourceVersion is saved with peer changes only; saving it on the way out
    // lets the next start tell a stale cache by it more often. A last save is worth a short
    // wait: it may hold the newest peers.
    const newer = this.#store.latest?.resourceVersion !== this.#table.resourceVersion;
    if (this.#lease && this.#mac !== "" && newer) {
      this.#persist();
    }
    await settlesWithin(this.#store.flush(), 2000);
    await this.#store.close();
    // The data plane stays in place: pods keep working while the daemon is away.
  }

  /** Logs (and tells systemd) the first time pods on this node can get a network. */
  #announceReady(started?: number): void {
    if (this.#readyAnnounced || !this.ready()) return;
    this.#readyAnnounced = true;
    const podCIDR = formatCIDR(this.#lease!.podCIDR);
    this.#log.info("data plane ready", {
      device: this.#deviceName,
      mac: this.#mac,
      podCIDR,
      ms: started === undefined ? undefined : Math.round(performance.now() - started),
    });
    try {
      this.#onReady?.(`data plane ready: ${this.#deviceName} ${this.#mac}, pod CIDR ${podCIDR}`);
    } catch (error) {
      this.#log.error("cannot tell systemd the daemon is ready", { error });
    }
  }

  #usableState(): VtepState | undefined {
    if (this.#state.kind !== "loaded") return undefined;
    const state = this.#state.state;
    if (state.nodeName !== this.#options.nodeName) return undefined;
    if (state.machineId && this.#options.machineId && state.machineId !== this.#options.machineId) {
      return undefined;
    }
    return state;
  }

  #publicIP(): string {
    return this.#options.publicIP ?? this.#underlay!.address;
  }

  /** The lease from the state file, or undefined (with a warning) when it does not fit. */
  #savedLease(podCIDR: string): Lease | undefined {
    const lease = leaseFrom(podCIDR, this.#publicIP(), this.#options.netConf.network, "state file");
    if ("error" in lease) {
      this.#log.warn("ignoring the saved lease; asking the API", { reason: lease.error });
      return undefined;
    }
    this.#log.info("lease restored from local state", { podCIDR: formatCIDR(lease.ok.podCIDR) });
    return lease.ok;
  }

  async #waitForUnderlay(): Promise<Underlay> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 10_000 });
    for (;;) {
      try {
        const underlay = findUnderlay(this.#netlink, this.#options.iface);
        this.#log.info("underlay interface", { ...underlay });
        return underlay;
      } catch (error) {
        this.#log.warn("no usable underlay interface yet", { error });
        if (!await sleep(backoff.next(), this.#stop.signal)) throw error;
      }
    }
  }

  /** The own Node and a usable lease from it, retried until both come (undefined if stopped). */
  async #fetchOwnLease(): Promise<[NodeView, Lease] | undefined> {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
    let lastProblem = "";
    for (;;) {
      let problem: string;
      try {
        const node = await this.#api.getNode(this.#options.nodeName, this.#stop.signal);
        const lease = this.#leaseOf(node);
        if ("ok" in lease) {
          this.#ownNodeVersion = node.resourceVersion;
          return [node, lease.ok];
        }
        problem = lease.error;
      } catch (error) {
        if (this.#stop.signal.aborted) return undefined;
        problem = `cannot get own Node object yet (no local state to start from): ${
          error instanceof Error ? error.message : String(error)
        }`;
      }
      if (problem !== lastProblem) {
        this.#log.warn("waiting for a usable lease from the API", {
          node: this.#options.nodeName,
          problem,
        });
        lastProblem = problem;
      }
      if (!await sleep(backoff.next(), this.#stop.signal)) return undefined;
    }
  }

  #leaseOf(node: NodeView): { ok: Lease } | { error: string } {
    const podCIDR = ipv4PodCIDR(node);
    if ("error" in podCIDR) return { error: `node ${node.name}: ${podCIDR.error}` };
    return leaseFrom(
      podCIDR.ok,
      this.#publicIP(),
      this.#options.netConf.network,
      `node ${node.name}`,
    );
  }

  #chooseMAC(ownNode: NodeView | undefined): void {
    const device = findDevice(this.#netlink, this.#deviceName);
    const annotation = ownNode?.annotations[this.#options.keys.backendData];
    const decoded = annotation === undefined ? undefined : decodeBackendData(annotation);
    const choice = chooseVtepMAC({
      nodeName: this.#options.nodeName,
      machineId: this.#options.machineId,
      state: this.#state,
      deviceMAC: device?.kind === "vxlan" ? device.mac : undefined,
      annotationMAC: decoded && "ok" in decoded ? decoded.ok.mac : undefined,
    });
    this.#mac = choice.mac;
    this.#macSource = choice.source;
    this.#table.setOwnMAC(choice.mac);
    this.#log.info("VTEP MAC chosen", { mac: choice.mac, source: choice.source });
    for (const reason of choice.skipped) this.#log.warn("MAC source skipped", { reason });
  }

  /** The state file's content now: MAC, lease, peer table, newest resourceVersion. */
  #stateNow(): VtepState {
    const lease = this.#lease!;
    const table = this.#table.snapshot();
    const state: VtepState = {
      nodeName: this.#options.nodeName,
      vtepMAC: this.#mac,
      vni: this.#options.netConf.backend.vni,
      lease: { podCIDR: formatCIDR(lease.podCIDR), publicIP: lease.publicIP },
      peers: table.peers,
      updatedAt: new Date().toISOString(),
    };
    if (this.#options.machineId) state.machineId = this.#options.machineId;
    if (table.resourceVersion !== undefined) state.resourceVersion = table.resourceVersion;
    return state;
  }

  /** Saves the state as it is now; resolves once it is on disk. Never rejects. */
  #persist(): Promise<void> {
    return this.#store.save(this.#stateNow());
  }

  #deviceSpec(): DeviceSpec {
    const { backend, network } = this.#options.netConf;
    const underlay = this.#underlay!;
    return {
      name: this.#deviceName,
      mac: this.#mac,
      mtu: vxlanMTU(backend.mtu, underlay).mtu,
      vni: backend.vni,
      port: backend.port,
      local: underlay.address,
      underlay: underlay.index,
      learning: backend.learning,
      gbp: backend.gbp,
      address: `${formatIP(networkAddress(this.#lease!.podCIDR))}/32`,
      network,
    };
  }

  /** Makes the device match; returns what had to change. */
  #configureDevice(): Set<DeviceChange> {
    const outcome = ensureDevice(this.#netlink, this.#deviceSpec());
    this.#ifindex = outcome.link.index;
    this.#deviceErrors += outcome.failures.length;
    for (const failure of outcome.failures) {
      this.#log.error("cannot set an attribute of the VXLAN device; will retry", {
        device: this.#deviceName,
        failure,
      });
    }
    if (outcome.changes.size > 0) {
      this.#log.info("VXLAN device configured", {
        device: this.#deviceName,
        actions: outcome.actions.join("; "),
      });
      disableAcceptRA(this.#deviceName);
    }
    return outcome.changes;
  }

  #subnetEnv(): SubnetEnv {
    const link = this.#netlink.getLink(this.#ifindex!);
    return {
      network: this.#options.netConf.network,
      subnet: this.#lease!.podCIDR,
      mtu: link?.mtu ?? this.#deviceSpec().mtu,
      ipMasq: false,
    };
  }

  async #writeSubnetEnv(): Promise<void> {
    const env = this.#subnetEnv();
    let current: string | undefined;
    try {
      current = readTextBounded(this.#options.subnetFile, SMALL_FILE_LIMIT, "subnet.env");
    } catch {
      current = undefined; // absent, or not what we write: written anew below
    }
    if (current === renderSubnetEnv(env)) {
      this.#subnetEnvWritten = true;
      return;
    }
    try {
      await writeSubnetEnv(this.#options.subnetFile, env);
      this.#subnetEnvWritten = true;
      this.#log.info("subnet.env written", {
        path: this.#options.subnetFile,
        subnet: `${formatIP(nextIP(networkAddress(env.subnet)))}/${env.subnet.prefix}`,
      });
    } catch (error) {
      this.#subnetEnvWritten = false;
      this.#log.error("cannot write subnet.env; pods cannot get a network until it is written", {
        path: this.#options.subnetFile,
        error,
      });
    }
  }

  #startPublisher(): void {
    const keys = this.#options.keys;
    this.#publisher = new NodePublisher({
      api: this.#api,
      nodeName: this.#options.nodeName,
      logger: this.#log,
      networkAvailable: true,
      annotations: (node) =>
        flannelAnnotations(
          keys,
          {
            vni: this.#options.netConf.backend.vni,
            mac: this.#mac,
            publicIP: this.#lease!.publicIP,
          },
          node.annotations,
        ),
    });
    this.#publisher.start();
  }

  #startInformer(): void {
    const sync = this.#peerSync;
    this.#informer = new NodeInformer(this.#api, {
      onSync: (nodes, info) => sync.onSync(nodes, info),
      onUpsert: (node) => sync.onUpsert(node),
      onDelete: (node) => sync.onDelete(node),
      onBookmark: (resourceVersion) => sync.onBookmark(resourceVersion),
      // A yurthub's PATCHes were dropped while the cloud was away: try again as soon as it may
      // be back, not at the end of the publisher's backoff.
      onWatchOpen: () => this.#publisher?.retryNow(),
      onConnectionChange: (connected) => {
        if (connected) this.#log.info("API reachable");
        else this.#log.info("API unreachable; data plane kept as is");
      },
    }, { logger: this.#log });
    this.#informer.start();
  }

  #startDriftWatch(): void {
    const source = this.#kernelChanges;
    if (!source) return;
    const localPort = this.#netlink.localPort();
    this.#drift = new DriftWatch({
      source,
      log: this.#log,
      relevance: (change) =>
        repairReason(change, {
          ifindex: this.#ifindex,
          deviceName: this.#deviceName,
          mac: this.#mac,
          mtu: this.#deviceSpec().mtu,
          localPort,
          peerGateways: new Set([...this.#table.peers.values()].map((peer) => peer.publicIP)),
        }),
      repair: async (reason) => {
        this.#log.debug("kernel change; checking the data plane", { reason });
        await this.resync();
      },
    });
    this.#drift.start();
  }

  #onOwnNode(node: NodeView): void {
    // A stale cache may show an old version of the own node (an old pod CIDR, no annotations).
    if (compareResourceVersions(node.resourceVersion, this.#ownNodeVersion) === -1) return;
    if (node.resourceVersion) this.#ownNodeVersion = node.resourceVersion;
    this.#publisher?.observe(node);
    const podCIDR = ipv4PodCIDR(node);
    if ("error" in podCIDR || podCIDR.ok === formatCIDR(this.#lease!.podCIDR)) return;
    const lease = this.#leaseOf(node);
    if ("error" in lease) {
      this.#log.error("ignoring the node's new pod CIDR", { reason: lease.error });
      return;
    }
    this.#lease = lease.ok;
    this.#log.warn("the node's pod CIDR changed; reconfiguring", { podCIDR: podCIDR.ok });
    this.resync();
    this.#persist();
  }

  #scheduleResync(): void {
    this.#resyncTimer = setTimeout(async () => {
      await this.resync();
      if (!this.#stop.signal.aborted) this.#scheduleResync();
    }, this.#options.resyncSeconds * 1000);
  }

  /**
   * The repair pass: the device, subnet.env and every peer entry. Each step runs even when an
   * earlier one failed, so one broken attribute never keeps the peers from being repaired.
   */
  async resync(): Promise<void> {
    if (!this.#lease || !this.#underlay) return;
    let recreated = false;
    try {
      const changes = this.#configureDevice();
      recreated = changes.has("recreated") || changes.has("created");
      // A device made anew is one repair, whatever it then needed (address, link up).
      if (recreated) this.#repairs.device += 1;
      else for (const change of changes) this.#repairs[DEVICE_REPAIRS[change]] += 1;
      if (recreated) this.#log.warn("VXLAN device was recreated; replaying every peer");
    } catch (error) {
      this.#deviceErrors += 1;
      this.#log.error("cannot repair the VXLAN device; will retry", { error });
    }
    try {
      if (this.#ifindex !== undefined) await this.#writeSubnetEnv();
    } catch (error) {
      this.#log.error("cannot check subnet.env; will retry", { error });
    }
    this.#announceReady();
    const report = await this.#peerSync.reprogram();
    if (report) this.#countRepairs(report, recreated);
  }

  #countRepairs(report: ReconcileReport, afterRecreate: boolean): void {
    // Entries replayed into a re-created device are part of that one repair.
    if (afterRecreate) return;
    for (const kind of ["neighbour", "fdb", "route"] as const) {
      this.#repairs[kind] += report.byKind[kind];
    }
    if (report.changed > 0 || report.failed > 0) {
      this.#log.info("repaired kernel drift", {
        neighbours: report.byKind.neighbour,
        fdb: report.byKind.fdb,
        routes: report.byKind.route,
        failed: report.failed,
      });
    }
  }
}

/**
 * keepnet-vtepd's life cycle: the wiring of the parts, each of which lives in its own module.
 * Data flows one way: the peer table (from local state at boot, then from the API) → the state
 * file → the kernel. The API is never on the data plane's critical path once the node has a
 * lease:
 *
 *  1. state file → MACs, leases, peer table and newest resourceVersion, if this node had them (a
 *     reboot); otherwise the own Node object from the API (retried until it answers);
 *  2. per overlay family (IPv4 `flannel.<VNI>`, IPv6 `flannel-v6.<VNI>`, or both) the VXLAN device
 *     with its kept MAC and address (vtep.ts); the masquerade and forward rules (src/traffic);
 *     then subnet.env — ready (READY=1 for systemd);
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
import { type CIDR, formatCIDR } from "../net/cidr.ts";
import type { Family } from "../net/ip.ts";
import { isExists, type KernelChange, type Netlink, RTN_BLACKHOLE } from "../netlink/mod.ts";
import {
  decodeBackendData,
  type FlannelAnnotationKeys,
  flannelAnnotations,
  type OwnLease,
} from "../kube/annotations.ts";
import type { NodeApi } from "../kube/api.ts";
import { Backoff, sleep } from "../kube/backoff.ts";
import { type NodeView, podCIDROf } from "../kube/node.ts";
import { NodeInformer } from "../kube/node_informer.ts";
import type { Families } from "../kube/peer.ts";
import { NodePublisher } from "../kube/publisher.ts";
import {
  type CommandRunner,
  previousLeasesFromSubnetEnv,
  type TrafficConfig,
  TrafficRules,
} from "../traffic/mod.ts";
import { settlesWithin } from "./deadline.ts";
import { type DeviceChange, findDevice } from "./device.ts";
import { repairReason } from "./drift_rules.ts";
import { type ChangeSource, DriftWatch } from "./drift_watch.ts";
import type { EntryKind } from "./kernel_plane.ts";
import { type Lease, leaseFrom } from "./lease.ts";
import { chooseVtepMAC, type MacSource } from "./mac_choice.ts";
import type { NetConf } from "./netconf.ts";
import { PeerSync } from "./peer_sync.ts";
import { PeerTable } from "./peer_table.ts";
import { readTextBounded, SMALL_FILE_LIMIT } from "./read_config.ts";
import type { ReconcileReport } from "./reconciler.ts";
import { compareResourceVersions } from "./resource_version.ts";
import { loadState, type SavedLease, type StateLoad, type VtepState } from "./state.ts";
import { StateStore, type StateStoreHealth } from "./state_store.ts";
import { renderSubnetEnv, type SubnetEnv, writeSubnetEnv } from "./subnet_env.ts";
import { type UnderlayView, Vtep } from "./vtep.ts";

export interface DaemonOptions {
  nodeName: string;
  netConf: NetConf;
  keys: FlannelAnnotationKeys;
  /** Finds the underlay interface; throws while there is none (the daemon waits and retries). */
  findUnderlay: (netlink: Netlink) => UnderlayView;
  /** `--public-ip`, `--public-ipv6`: what to advertise instead of the interface's address. */
  publicIP?: string;
  publicIPv6?: string;
  subnetFile: string;
  stateDir: string;
  resyncSeconds: number;
  machineId?: string;
  /** How long the kernel waits for the state file before programming a change. Default 100. */
  persistDeadlineMs?: number;
  /** flanneld's masquerade/forward rules; absent: none (and FLANNEL_IPMASQ=false). */
  traffic?: Pick<
    TrafficConfig,
    "ipMasq" | "fullyRandom" | "forwardRules" | "resyncSeconds" | "iptablesVariant"
  >;
  /** `--ip-blackhole-route`: a blackhole route for the own pod CIDR, re-added at every resync. */
  blackholeRoute?: boolean;
  /** `--set-node-network-unavailable` (default true): keep the condition False. */
  setNodeNetworkUnavailable?: boolean;
  /**
   * When a quiet node watch is checked with a GET of this node, and how long that may take
   * (node_informer.ts; tests shorten them).
   */
  apiProbe?: { afterMs?: number; timeoutMs?: number };
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
  /** Runs iptables/nft for the traffic rules (tests record instead). */
  trafficRunner?: CommandRunner;
  /** Returns the memory a node list left behind (release_memory.ts); after every list. */
  releaseMemory?: () => void;
}

/** What the daemon repaired, by kind, since it started. */
export type RepairKind = "device" | "mac" | "mtu" | "address" | "up" | EntryKind;

export interface DaemonStatus {
  /** Devices configured, rules in place and subnet.env written: pods can get a network. */
  ready: boolean;
  device: boolean;
  subnetEnv: boolean;
  peers: number;
  /** Where the (IPv4, else IPv6) VTEP MAC came from. */
  macSource: MacSource | undefined;
  apiReachable: boolean;
  /** The last node list, and whether it could remove peers. */
  lastSync: { at: Date; authoritative: boolean } | undefined;
  state: StateStoreHealth;
  repairs: Record<RepairKind, number>;
  /** Repair passes started by kernel change notifications. */
  driftPasses: number;
  /** Peer families left out of the kernel because another node already uses their VTEP MAC. */
  duplicateMacPeers: number;
  /** Peers whose entries belong in the kernel (all but duplicate-MAC ones). */
  peersProgrammed: number;
  /** Netlink requests that failed (device attributes, peer entries); each is retried. */
  netlinkErrors: number;
  /** Masquerade/forward rules: undefined when the daemon installs none. */
  trafficRules?: { inPlace: boolean; repairs: number };
}

/** How long start-up waits for the MACs to be on disk before advertising them anyway. */
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
  readonly #vteps: Vtep[];
  readonly #families: Families;
  readonly #table: PeerTable;
  readonly #store: StateStore;
  readonly #peerSync: PeerSync;
  readonly #stop = new AbortController();
  readonly #kernelChanges: ChangeSource<KernelChange> | undefined;
  readonly #onReady: ((summary: string) => void) | undefined;
  readonly #trafficRunner: CommandRunner | undefined;

  #state: StateLoad = { kind: "missing" };
  #underlay: UnderlayView | undefined;
  #subnetEnvWritten = false;
  #readyAnnounced = false;
  #deviceErrors = 0;
  #traffic: TrafficRules | undefined;
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
    this.#trafficRunner = deps.trafficRunner;
    const { netConf } = options;
    const networks: [Family, CIDR | undefined][] = [[4, netConf.network], [6, netConf.ipv6Network]];
    this.#vteps = networks.filter(([, network]) => network !== undefined).map(([family, network]) =>
      new Vtep({
        family,
        network: network!,
        backend: netConf.backend,
        netlink: deps.netlink,
        log: deps.log,
      })
    );
    this.#families = {
      ipv4: netConf.network !== undefined,
      ipv6: netConf.ipv6Network !== undefined,
    };
    this.#table = new PeerTable({ selfName: options.nodeName, log: deps.log });
    this.#store = new StateStore({
      stateDir: options.stateDir,
      log: deps.log,
      write: deps.writeState,
    });
    this.#peerSync = new PeerSync({
      selfName: options.nodeName,
      keys: options.keys,
      families: this.#families,
      table: this.#table,
      reconcilers: this.#vteps.map((vtep) => vtep.reconciler),
      persist: () => this.#persist(),
      persistDeadlineMs: options.persistDeadlineMs,
      log: deps.log,
      onOwnNode: (node) => this.#onOwnNode(node),
      afterList: deps.releaseMemory,
    });
  }

  /** Devices configured, rules in place and subnet.env written: pods can get a network. */
  ready(): boolean {
    return this.#vteps.every((vtep) => vtep.ifindex !== undefined) && this.#subnetEnvWritten;
  }

  /** The VTEP MAC of the IPv4 overlay (of the IPv6 one on an IPv6-only node). */
  get mac(): string {
    return this.#vteps[0]!.mac;
  }

  /** The VTEP MAC of `family`, "" when that overlay does not run. */
  macOf(family: Family): string {
    return this.#vtep(family)?.mac ?? "";
  }

  /** The peer table as it is now. */
  get peers(): PeerTable["peers"] {
    return this.#table.peers;
  }

  #vtep(family: Family): Vtep | undefined {
    return this.#vteps.find((vtep) => vtep.family === family);
  }

  status(): DaemonStatus {
    const status: DaemonStatus = {
      ready: this.ready(),
      device: this.#vteps.every((vtep) => vtep.ifindex !== undefined),
      subnetEnv: this.#subnetEnvWritten,
      peers: this.#table.peers.size,
      macSource: this.#vteps[0]!.macSource,
      apiReachable: this.#informer?.connected ?? false,
      lastSync: this.#peerSync.lastSync,
      state: this.#store.health,
      repairs: { ...this.#repairs },
      driftPasses: this.#drift?.passes ?? 0,
      duplicateMacPeers: this.#table.conflicts.size,
      peersProgrammed: this.#vteps.some((vtep) => vtep.ifindex !== undefined)
        ? this.#table.programmable().size
        : 0,
      netlinkErrors: this.#vteps.reduce((sum, vtep) => sum + vtep.reconciler.failures, 0) +
        this.#deviceErrors,
    };
    if (this.#traffic) {
      status.trafficRules = {
        inPlace: this.#traffic.inPlace,
        repairs: this.#traffic.stats.repairs,
      };
    }
    return status;
  }

  /** Resolves once every peer change so far is on disk and in the kernel (tests, shutdown). */
  settled(): Promise<void> {
    return this.#peerSync.settled();
  }

  /** Brings the data plane up, then keeps it in shape in the background. */
  async start(): Promise<void> {
    const started = performance.now();
    this.#state = loadState(this.#options.stateDir);
    if (this.#state.kind === "invalid") {
      this.#log.warn("ignoring unusable state file", { reason: this.#state.reason });
    }
    const underlay = await this.#waitForUnderlay();
    if (!underlay) return; // stopped while waiting
    this.#underlay = underlay;
    for (const vtep of this.#vteps) {
      const warning = vtep.mtuWarning(underlay);
      if (warning) this.#log.warn(warning);
    }
    const saved = this.#usableState();
    let ownNode: NodeView | undefined;
    for (const vtep of this.#vteps) {
      const savedLease = vtep.family === 4 ? saved?.lease : saved?.leaseV6;
      vtep.lease = savedLease ? this.#savedLease(vtep, savedLease) : undefined;
    }
    if (this.#vteps.some((vtep) => !vtep.lease)) {
      ownNode = await this.#fetchOwnLeases();
      if (!ownNode) return; // stopped while waiting
    }
    if (saved?.peers || saved?.resourceVersion) {
      this.#peerSync.restore({ peers: saved.peers ?? [], resourceVersion: saved.resourceVersion });
    }
    for (const vtep of this.#vteps) this.#chooseMAC(vtep, ownNode);
    // The MACs must be on disk before they are advertised: peers that are offline when one
    // changes would keep sending to the old one.
    if (!await settlesWithin(this.#persist(), MAC_PERSIST_DEADLINE_MS)) {
      this.#log.error("the VTEP MAC is not on disk yet; advertising it anyway", { mac: this.mac });
    }
    this.#configureDevices();
    await this.#startTraffic();
    await this.#writeSubnetEnv();
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
    await Promise.all([
      this.#informer?.stop(),
      this.#publisher?.stop(),
      this.#drift?.stop(),
      this.#traffic?.stop(),
    ]);
    await this.#peerSync.settled();
    // The newest resourceVersion is saved with peer changes only; saving it on the way out
    // lets the next start tell a stale cache by it more often. A last save is worth a short
    // wait: it may hold the newest peers.
    const newer = this.#store.latest?.resourceVersion !== this.#table.resourceVersion;
    if (this.#vteps.every((vtep) => vtep.lease && vtep.mac !== "") && newer) this.#persist();
    await settlesWithin(this.#store.flush(), 2000);
    await this.#store.close();
    // The data plane stays in place: pods keep working while the daemon is away.
  }

  /** Logs (and tells systemd) the first time pods on this node can get a network. */
  #announceReady(started?: number): void {
    if (this.#readyAnnounced || !this.ready()) return;
    this.#readyAnnounced = true;
    const summary = this.#vteps.map((vtep) =>
      `${vtep.deviceName} ${vtep.mac}, pod CIDR ${formatCIDR(vtep.lease!.podCIDR)}`
    ).join("; ");
    this.#log.info("data plane ready", {
      devices: summary,
      ms: started === undefined ? undefined : Math.round(performance.now() - started),
    });
    try {
      this.#onReady?.(`data plane ready: ${summary}`);
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

  #publicIP(family: Family): string {
    const flag = family === 4 ? this.#options.publicIP : this.#options.publicIPv6;
    const address = family === 4 ? this.#underlay!.address : this.#underlay!.address6;
    return flag ?? address!;
  }

  /** A lease from the state file, or undefined (with a warning) when it does not fit. */
  #savedLease(vtep: Vtep, saved: SavedLease): Lease | undefined {
    const lease = leaseFrom(saved.podCIDR, this.#publicIP(vtep.family), vtep.network, "state file");
    if ("error" in lease) {
      this.#log.warn("ignoring the saved lease; asking the API", { reason: lease.error });
      return undefined;
    }
    this.#log.info("lease restored from local state", {
      podCIDR: formatCIDR(lease.ok.podCIDR),
      device: vtep.deviceName,
    });
    return lease.ok;
  }

  async #waitForUnderlay(): Promise<UnderlayView | undefined> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 10_000 });
    let lastProblem = "";
    for (;;) {
      try {
        const underlay = this.#options.findUnderlay(this.#netlink);
        this.#log.info("underlay interface", { ...underlay });
        return underlay;
      } catch (error) {
        const problem = error instanceof Error ? error.message : String(error);
        if (problem !== lastProblem) this.#log.warn("no usable underlay interface yet", { error });
        lastProblem = problem;
        if (!await sleep(backoff.next(), this.#stop.signal)) return undefined;
      }
    }
  }

  /**
   * The own Node, and from it a usable lease for every VTEP that has none yet, retried until
   * both come (undefined if stopped).
   */
  async #fetchOwnLeases(): Promise<NodeView | undefined> {
    // Pods wait for subnet.env until this succeeds: a new node gets its pod CIDR from the
    // controller manager moments after it joins, so ask again every few seconds, not minutes.
    const backoff = new Backoff({ initialMs: 1000, maxMs: 5000 });
    let lastProblem = "";
    for (;;) {
      let problem: string;
      try {
        const node = await this.#api.getNode(this.#options.nodeName, this.#stop.signal);
        const problems: string[] = [];
        const leases = new Map<Vtep, Lease>();
        for (const vtep of this.#vteps.filter((candidate) => !candidate.lease)) {
          const lease = this.#leaseOf(node, vtep);
          if ("ok" in lease) leases.set(vtep, lease.ok);
          else problems.push(lease.error);
        }
        if (problems.length === 0) {
          for (const [vtep, lease] of leases) vtep.lease = lease;
          this.#ownNodeVersion = node.resourceVersion;
          return node;
        }
        problem = problems.join("; ");
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

  #leaseOf(node: NodeView, vtep: Vtep): { ok: Lease } | { error: string } {
    const podCIDR = podCIDROf(node, vtep.family);
    if ("error" in podCIDR) return { error: `node ${node.name}: ${podCIDR.error}` };
    return leaseFrom(podCIDR.ok, this.#publicIP(vtep.family), vtep.network, `node ${node.name}`);
  }

  #chooseMAC(vtep: Vtep, ownNode: NodeView | undefined): void {
    const device = findDevice(this.#netlink, vtep.deviceName);
    const key = vtep.family === 4
      ? this.#options.keys.backendData
      : this.#options.keys.backendV6Data;
    const annotation = ownNode?.annotations[key];
    const decoded = annotation === undefined ? undefined : decodeBackendData(annotation);
    const choice = chooseVtepMAC({
      family: vtep.family,
      nodeName: this.#options.nodeName,
      machineId: this.#options.machineId,
      state: this.#state,
      deviceMAC: device?.kind === "vxlan" ? device.mac : undefined,
      annotationMAC: decoded && "ok" in decoded ? decoded.ok.mac : undefined,
    });
    vtep.mac = choice.mac;
    vtep.macSource = choice.source;
    this.#table.setOwnMAC(vtep.family, choice.mac);
    this.#log.info("VTEP MAC chosen", {
      device: vtep.deviceName,
      mac: choice.mac,
      source: choice.source,
    });
    for (const reason of choice.skipped) this.#log.warn("MAC source skipped", { reason });
  }

  /** The state file's content now: MACs, leases, peer table, newest resourceVersion. */
  #stateNow(): VtepState {
    const table = this.#table.snapshot();
    const state: VtepState = {
      nodeName: this.#options.nodeName,
      vni: this.#options.netConf.backend.vni,
      peers: table.peers,
      updatedAt: new Date().toISOString(),
    };
    for (const vtep of this.#vteps) {
      if (!vtep.lease) continue;
      const lease = { podCIDR: formatCIDR(vtep.lease.podCIDR), publicIP: vtep.lease.publicIP };
      if (vtep.family === 4) {
        if (vtep.mac) state.vtepMAC = vtep.mac;
        state.lease = lease;
      } else {
        if (vtep.mac) state.vtepMACv6 = vtep.mac;
        state.leaseV6 = lease;
      }
    }
    if (this.#options.machineId) state.machineId = this.#options.machineId;
    if (table.resourceVersion !== undefined) state.resourceVersion = table.resourceVersion;
    return state;
  }

  /** Saves the state as it is now; resolves once it is on disk. Never rejects. */
  #persist(): Promise<void> {
    return this.#store.save(this.#stateNow());
  }

  /** Makes every device match; returns what had to change, per device. */
  #configureDevices(): Map<Vtep, Set<DeviceChange>> {
    const changed = new Map<Vtep, Set<DeviceChange>>();
    for (const vtep of this.#vteps) {
      try {
        const report = vtep.configure(this.#underlay!);
        this.#deviceErrors += report.failures.length;
        changed.set(vtep, report.changes);
      } catch (error) {
        this.#deviceErrors += 1;
        // Not fatal: the resync (and every kernel change) tries again.
        this.#log.error("cannot configure the VXLAN device; will retry", {
          device: vtep.deviceName,
          error,
        });
      }
    }
    if (this.#options.blackholeRoute) this.#ensureBlackholeRoutes();
    return changed;
  }

  /**
   * `--ip-blackhole-route`: traffic to an address of the own pod CIDR that no pod has is dropped
   * here rather than sent out by the default route, as flanneld does "in case the bridge plugin is
   * not enabled (e.g. Canal)": the route is only added (never replacing the bridge's own route for
   * the pod CIDR), and an existing route for it is left as it is.
   */
  #ensureBlackholeRoutes(): void {
    for (const vtep of this.#vteps) {
      if (!vtep.lease) continue;
      const dst = formatCIDR(vtep.lease.podCIDR);
      try {
        const present = this.#netlink.listRoutes({ family: vtep.family }).some((route) =>
          route.dst === dst && route.type === RTN_BLACKHOLE
        );
        if (!present) this.#netlink.replaceRoute({ dst, type: "blackhole", exclusive: true });
      } catch (error) {
        if (isExists(error)) continue; // the bridge's route for the pod CIDR: nothing to add
        this.#deviceErrors += 1;
        this.#log.error("cannot add the blackhole route; will retry", { dst, error });
      }
    }
  }

  /** flanneld's masquerade and forward rules, when asked for; from the leases alone. */
  async #startTraffic(): Promise<void> {
    const traffic = this.#options.traffic;
    if (!traffic || this.#traffic) return;
    let previous;
    try {
      const text = readTextBounded(this.#options.subnetFile, SMALL_FILE_LIMIT, "subnet.env");
      previous = await previousLeasesFromSubnetEnv(text);
    } catch {
      previous = undefined; // no previous run (or a file we cannot use): nothing to clean up
    }
    const config: TrafficConfig = {
      ...traffic,
      nftables: this.#options.netConf.enableNFTables,
      ...(previous ? { previous } : {}),
    };
    for (const vtep of this.#vteps) {
      const lease = { network: vtep.network, subnet: vtep.lease!.podCIDR };
      if (vtep.family === 4) config.ipv4 = lease;
      else config.ipv6 = lease;
    }
    this.#traffic = new TrafficRules(config, {
      runner: this.#trafficRunner,
      onReport: (report) => {
        for (const action of report.actions) {
          if (action.kind === "skipped") continue;
          this.#log.info("traffic rules", { ...action });
        }
        if (report.error) {
          this.#log.error("traffic rules not in place; will retry", {
            error: report.error,
          });
        }
      },
    });
    try {
      await this.#traffic.start();
    } catch (error) {
      this.#log.error("cannot install the masquerade and forward rules", { error });
    }
  }

  #subnetEnv(): SubnetEnv {
    const underlay = this.#underlay!;
    const env: SubnetEnv = {
      mtu: Math.min(...this.#vteps.map((vtep) => vtep.currentMtu(underlay))),
      ipMasq: this.#options.traffic?.ipMasq ?? false,
    };
    for (const vtep of this.#vteps) {
      if (vtep.family === 4) {
        env.network = vtep.network;
        env.subnet = vtep.lease!.podCIDR;
      } else {
        env.ipv6Network = vtep.network;
        env.ipv6Subnet = vtep.lease!.podCIDR;
      }
    }
    return env;
  }

  async #writeSubnetEnv(): Promise<void> {
    if (this.#vteps.some((vtep) => vtep.ifindex === undefined)) return;
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
        content: renderSubnetEnv(env).trim().replaceAll("\n", " "),
      });
    } catch (error) {
      this.#subnetEnvWritten = false;
      this.#log.error("cannot write subnet.env; pods cannot get a network until it is written", {
        path: this.#options.subnetFile,
        error,
      });
    }
  }

  #ownLease(): OwnLease {
    const lease: OwnLease = { vni: this.#options.netConf.backend.vni };
    for (const vtep of this.#vteps) {
      const own = { mac: vtep.mac, publicIP: vtep.lease!.publicIP };
      if (vtep.family === 4) lease.v4 = own;
      else lease.v6 = own;
    }
    return lease;
  }

  #startPublisher(): void {
    const keys = this.#options.keys;
    this.#publisher = new NodePublisher({
      api: this.#api,
      nodeName: this.#options.nodeName,
      logger: this.#log,
      networkAvailable: this.#options.setNodeNetworkUnavailable ?? true,
      annotations: (node) => flannelAnnotations(keys, this.#ownLease(), node.annotations),
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
    }, {
      logger: this.#log,
      // A link that died silently leaves the watch open and quiet: a GET of this node shows it.
      probe: (signal) => this.#api.getNode(this.#options.nodeName, signal),
      probeAfterMs: this.#options.apiProbe?.afterMs,
      probeTimeoutMs: this.#options.apiProbe?.timeoutMs,
    });
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
          devices: this.#vteps.map((vtep) => ({
            family: vtep.family,
            ifindex: vtep.ifindex,
            name: vtep.deviceName,
            mac: vtep.mac,
            mtu: vtep.mtu(this.#underlay!),
          })),
          localPort,
          peerGateways: this.#peerGateways(),
        }),
      repair: async (reason) => {
        this.#log.debug("kernel change; checking the data plane", { reason });
        await this.resync();
      },
    });
    this.#drift.start();
  }

  #peerGateways(): Set<string> {
    const gateways = new Set<string>();
    for (const peer of this.#table.peers.values()) {
      if (peer.v4) gateways.add(peer.v4.publicIP);
      if (peer.v6) gateways.add(peer.v6.publicIP);
    }
    return gateways;
  }

  #onOwnNode(node: NodeView): void {
    // A stale cache may show an old version of the own node (an old pod CIDR, no annotations).
    if (compareResourceVersions(node.resourceVersion, this.#ownNodeVersion) === -1) return;
    if (node.resourceVersion) this.#ownNodeVersion = node.resourceVersion;
    this.#publisher?.observe(node);
    let changed = false;
    for (const vtep of this.#vteps) {
      const podCIDR = podCIDROf(node, vtep.family);
      if ("error" in podCIDR || podCIDR.ok === formatCIDR(vtep.lease!.podCIDR)) continue;
      const lease = this.#leaseOf(node, vtep);
      if ("error" in lease) {
        this.#log.error("ignoring the node's new pod CIDR", { reason: lease.error });
        continue;
      }
      vtep.lease = lease.ok;
      changed = true;
      this.#log.warn("the node's pod CIDR changed; reconfiguring", {
        device: vtep.deviceName,
        podCIDR: podCIDR.ok,
      });
    }
    if (!changed) return;
    // The rules name the old subnet: start them over, and they clean up after it.
    const traffic = this.#traffic;
    this.#traffic = undefined;
    (async () => {
      await traffic?.stop();
      await this.#startTraffic();
      await this.resync();
      await this.#persist();
    })();
  }

  #scheduleResync(): void {
    this.#resyncTimer = setTimeout(async () => {
      await this.resync();
      if (!this.#stop.signal.aborted) this.#scheduleResync();
    }, this.#options.resyncSeconds * 1000);
  }

  /**
   * The repair pass: the devices, subnet.env and every peer entry. Each step runs even when an
   * earlier one failed, so one broken attribute never keeps the peers from being repaired.
   */
  async resync(): Promise<void> {
    if (!this.#underlay || this.#vteps.some((vtep) => !vtep.lease)) return;
    let recreated = false;
    const changed = this.#configureDevices();
    for (const [vtep, changes] of changed) {
      const made = changes.has("recreated") || changes.has("created");
      // A device made anew is one repair, whatever it then needed (address, link up).
      if (made) {
        recreated = true;
        this.#repairs.device += 1;
        this.#log.warn("VXLAN device was recreated; replaying every peer", {
          device: vtep.deviceName,
        });
      } else {
        for (const change of changes) this.#repairs[DEVICE_REPAIRS[change]] += 1;
      }
    }
    try {
      await this.#writeSubnetEnv();
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

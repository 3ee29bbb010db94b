/**
 * keepnet-vtepd's life cycle. Data flows one way: the peer table (from local state at boot, then
 * from the API) → the desired data plane → the kernel. The API is never on the data plane's
 * critical path once the node has a lease:
 *
 *  1. state file → MAC, lease and last peer table, if this node had them (a reboot);
 *     otherwise the own Node object from the API (retried until it answers);
 *  2. the VXLAN device with the kept MAC, its address, then subnet.env — ready;
 *  3. peers from local state (never removing anything), then from list+watch of Nodes, which
 *     alone may remove peers (a complete list, or a DELETED event);
 *  4. in the background, for the life of the daemon: flannel's annotations and the
 *     NetworkUnavailable condition on the own node, and a periodic full reconciliation that
 *     repairs the device and every entry.
 *
 * @module
 */
import type { Logger } from "../log/log.ts";
import { type CIDR, cidrContains, formatCIDR, networkAddress, parseCIDR } from "../net/cidr.ts";
import { formatIP, nextIP } from "../net/ip.ts";
import type { Netlink } from "../netlink/mod.ts";
import {
  decodeBackendData,
  type FlannelAnnotationKeys,
  flannelAnnotations,
} from "../kube/annotations.ts";
import type { NodeApi } from "../kube/api.ts";
import { Backoff, sleep } from "../kube/backoff.ts";
import { ipv4PodCIDR, type NodeView } from "../kube/node.ts";
import { NodeInformer } from "../kube/node_informer.ts";
import { nodeToPeer } from "../kube/peer.ts";
import { NodePublisher } from "../kube/publisher.ts";
import type { PeerLease } from "./desired.ts";
import { type DeviceSpec, disableAcceptRA, ensureDevice, findDevice } from "./device.ts";
import { chooseVtepMAC } from "./mac_choice.ts";
import type { NetConf } from "./netconf.ts";
import { Reconciler } from "./reconciler.ts";
import { loadState, saveState, type StateLoad, type VtepState } from "./state.ts";
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
}

export interface DaemonDeps {
  netlink: Netlink;
  api: NodeApi;
  log: Logger;
}

/** The own node's pod CIDR and advertised address. */
interface Lease {
  podCIDR: CIDR;
  publicIP: string;
}

/** A fatal configuration problem: the daemon cannot work until an operator fixes it. */
export class DaemonConfigError extends Error {
  override name = "DaemonConfigError";
}

const STATE_SAVE_DELAY_MS = 1000;

export class VtepDaemon {
  readonly #options: DaemonOptions;
  readonly #netlink: Netlink;
  readonly #api: NodeApi;
  readonly #log: Logger;
  readonly #deviceName: string;
  readonly #reconciler: Reconciler;
  readonly #stop = new AbortController();

  #state: StateLoad = { kind: "missing" };
  #underlay: Underlay | undefined;
  #mac = "";
  #lease: Lease | undefined;
  #ifindex: number | undefined;
  #subnetEnvWritten = false;
  #informer: NodeInformer | undefined;
  #publisher: NodePublisher | undefined;
  #resyncTimer: ReturnType<typeof setTimeout> | undefined;
  #saveTimer: ReturnType<typeof setTimeout> | undefined;
  #peerErrors = new Map<string, string>();

  constructor(options: DaemonOptions, deps: DaemonDeps) {
    this.#options = options;
    this.#netlink = deps.netlink;
    this.#api = deps.api;
    this.#log = deps.log;
    this.#deviceName = `flannel.${options.netConf.backend.vni}`;
    this.#reconciler = new Reconciler(deps.netlink, () => this.#planeContext(), {
      directRouting: options.netConf.backend.directRouting,
      log: deps.log,
    });
  }

  /** Device configured and subnet.env written: pods on this node can get a network. */
  ready(): boolean {
    return this.#ifindex !== undefined && this.#subnetEnvWritten;
  }

  get mac(): string {
    return this.#mac;
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
    this.#state = await loadState(this.#options.stateDir);
    if (this.#state.kind === "invalid") {
      this.#log.warn("ignoring unusable state file", { reason: this.#state.reason });
    }
    this.#underlay = await this.#waitForUnderlay();
    const saved = this.#usableState();
    let ownNode: NodeView | undefined;
    if (saved?.lease) {
      this.#lease = this.#leaseFrom(saved.lease.podCIDR, "state file");
      this.#log.info("lease restored from local state", { podCIDR: saved.lease.podCIDR });
    } else {
      ownNode = await this.#fetchOwnNode();
      if (!ownNode) return; // stopped while waiting
      this.#lease = this.#leaseFromNode(ownNode);
    }
    this.#chooseMAC(ownNode);
    await this.#persist();
    this.#configureDevice();
    await this.#writeSubnetEnv();
    this.#log.info("data plane ready", {
      device: this.#deviceName,
      mac: this.#mac,
      podCIDR: formatCIDR(this.#lease.podCIDR),
      ms: Math.round(performance.now() - started),
    });
    if (saved?.peers && saved.peers.length > 0) {
      const report = this.#reconciler.replaceAll(saved.peers, false);
      this.#log.info("peers restored from local state", { ...report });
    }
    this.#startPublisher();
    this.#startInformer();
    this.#scheduleResync();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    clearTimeout(this.#resyncTimer);
    clearTimeout(this.#saveTimer);
    await Promise.all([this.#informer?.stop(), this.#publisher?.stop()]);
    // The data plane stays in place: pods keep working while the daemon is away.
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

  async #fetchOwnNode(): Promise<NodeView | undefined> {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
    for (;;) {
      try {
        return await this.#api.getNode(this.#options.nodeName, this.#stop.signal);
      } catch (error) {
        this.#log.warn("cannot get own Node object yet (no local state to start from)", {
          node: this.#options.nodeName,
          error,
        });
        if (!await sleep(backoff.next(), this.#stop.signal)) return undefined;
      }
    }
  }

  #leaseFrom(podCIDRText: string, source: string): Lease {
    const podCIDR = parseCIDR(podCIDRText);
    const network = this.#options.netConf.network;
    if (!podCIDR || !cidrContains(network, podCIDR.ip)) {
      throw new DaemonConfigError(
        `pod CIDR ${podCIDRText} (from ${source}) is not inside Network ${formatCIDR(network)}`,
      );
    }
    return { podCIDR, publicIP: this.#options.publicIP ?? this.#underlay!.address };
  }

  #leaseFromNode(node: NodeView): Lease {
    const podCIDR = ipv4PodCIDR(node);
    if ("error" in podCIDR) {
      throw new DaemonConfigError(`node ${node.name}: ${podCIDR.error}`);
    }
    return this.#leaseFrom(podCIDR.ok, `node ${node.name}`);
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
    this.#log.info("VTEP MAC chosen", { mac: choice.mac, source: choice.source });
    for (const reason of choice.skipped) this.#log.warn("MAC source skipped", { reason });
  }

  /** Writes the state file; the MAC must be on disk before it is advertised. */
  async #persist(): Promise<void> {
    const lease = this.#lease!;
    const previous = this.#usableState();
    const state: VtepState = {
      nodeName: this.#options.nodeName,
      vtepMAC: this.#mac,
      vni: this.#options.netConf.backend.vni,
      lease: { podCIDR: formatCIDR(lease.podCIDR), publicIP: lease.publicIP },
      updatedAt: new Date().toISOString(),
    };
    if (this.#options.machineId) state.machineId = this.#options.machineId;
    const peers = this.#reconciler.authoritative
      ? [...this.#reconciler.peers.values()]
      : previous?.peers;
    if (peers) state.peers = peers;
    try {
      await saveState(this.#options.stateDir, state);
      this.#state = { kind: "loaded", state };
    } catch (error) {
      this.#log.error("cannot write the state file; the MAC may not survive a reboot", { error });
    }
  }

  #schedulePersist(): void {
    if (this.#saveTimer !== undefined) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = undefined;
      this.#persist();
    }, STATE_SAVE_DELAY_MS);
  }

  #deviceSpec(): DeviceSpec {
    const { backend, network } = this.#options.netConf;
    const underlay = this.#underlay!;
    return {
      name: this.#deviceName,
      mac: this.#mac,
      mtu: (backend.mtu || underlay.mtu) - 50,
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

  /** Makes the device match; returns true when it had to be created again. */
  #configureDevice(): boolean {
    const previous = this.#ifindex;
    const outcome = ensureDevice(this.#netlink, this.#deviceSpec());
    this.#ifindex = outcome.link.index;
    const unchanged = outcome.actions.length === 1 && outcome.actions[0] === "reused unchanged";
    if (!unchanged) {
      this.#log.info("VXLAN device configured", {
        device: this.#deviceName,
        actions: outcome.actions.join("; "),
      });
      disableAcceptRA(this.#deviceName);
    }
    return previous !== undefined && previous !== outcome.link.index;
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
    const current = await Deno.readTextFile(this.#options.subnetFile).catch(() => undefined);
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
      this.#log.error("cannot write subnet.env", { path: this.#options.subnetFile, error });
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
    this.#informer = new NodeInformer(this.#api, {
      onSync: (nodes, info) => this.#onSync(nodes, info.authoritative),
      onUpsert: (node) => this.#onUpsert(node),
      onDelete: (node) => this.#onDelete(node),
      onConnectionChange: (connected) =>
        this.#log.info(connected ? "API reachable" : "API unreachable; data plane kept as is"),
    }, { logger: this.#log, selfName: this.#options.nodeName });
    this.#informer.start();
  }

  /** The node as a peer, or undefined when it is not one (logged once per distinct problem). */
  #peerOf(node: NodeView): PeerLease | undefined {
    const decision = nodeToPeer(node, this.#options.keys, this.#options.nodeName);
    if ("ok" in decision) {
      if (this.#peerErrors.delete(node.name)) {
        this.#log.info("peer usable again", { peer: node.name });
      }
      return decision.ok;
    }
    if ("error" in decision && this.#peerErrors.get(node.name) !== decision.error) {
      this.#peerErrors.set(node.name, decision.error);
      this.#log.warn("skipping malformed peer", { peer: node.name, reason: decision.error });
    }
    return undefined;
  }

  #onSync(nodes: ReadonlyMap<string, NodeView>, authoritative: boolean): void {
    const peers: PeerLease[] = [];
    for (const node of nodes.values()) {
      if (node.name === this.#options.nodeName) {
        this.#onOwnNode(node);
        continue;
      }
      // A node whose annotations went bad keeps its last good entries rather than losing them.
      const peer = this.#peerOf(node) ?? this.#reconciler.peers.get(node.name);
      if (peer) peers.push(peer);
    }
    const started = performance.now();
    const report = this.#reconciler.replaceAll(peers, authoritative);
    this.#log.info("peers synced from the node list", {
      ...report,
      authoritative,
      ms: Math.round(performance.now() - started),
    });
    if (authoritative) this.#schedulePersist();
    // The list's JSON is garbage now; collecting it at once keeps it from staying resident.
    (globalThis as { gc?: () => void }).gc?.();
  }

  #onUpsert(node: NodeView): void {
    if (node.name === this.#options.nodeName) {
      this.#onOwnNode(node);
      return;
    }
    const peer = this.#peerOf(node);
    if (!peer) return;
    this.#reconciler.upsert(peer);
    if (this.#reconciler.authoritative) this.#schedulePersist();
  }

  #onDelete(node: NodeView): void {
    if (node.name === this.#options.nodeName) return;
    this.#peerErrors.delete(node.name);
    this.#reconciler.remove(node.name);
    if (this.#reconciler.authoritative) this.#schedulePersist();
  }

  #onOwnNode(node: NodeView): void {
    this.#publisher?.observe(node);
    const podCIDR = ipv4PodCIDR(node);
    if ("error" in podCIDR || podCIDR.ok === formatCIDR(this.#lease!.podCIDR)) return;
    try {
      this.#lease = this.#leaseFromNode(node);
    } catch (error) {
      this.#log.error("ignoring the node's new pod CIDR", { error });
      return;
    }
    this.#log.warn("the node's pod CIDR changed; reconfiguring", { podCIDR: podCIDR.ok });
    this.#configureDevice();
    this.#writeSubnetEnv();
    this.#persist();
  }

  #scheduleResync(): void {
    this.#resyncTimer = setTimeout(async () => {
      await this.resync();
      if (!this.#stop.signal.aborted) this.#scheduleResync();
    }, this.#options.resyncSeconds * 1000);
  }

  /** The periodic repair: device, subnet.env and every peer entry. */
  async resync(): Promise<void> {
    try {
      if (this.#configureDevice()) {
        this.#log.warn("VXLAN device was recreated; replaying every peer");
      }
      await this.#writeSubnetEnv();
      const report = this.#reconciler.reconcile();
      if (report.changed > 0 || report.failed > 0) {
        this.#log.info("reconciled kernel state", { ...report });
      }
    } catch (error) {
      this.#log.error("reconciliation failed; will retry", { error });
    }
  }
}

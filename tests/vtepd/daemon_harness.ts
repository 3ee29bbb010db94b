/**
 * A keepnet-vtepd daemon wired to the in-memory kernel and API, for unit tests of its life
 * cycle without root: a temporary state directory and subnet.env, the own node `edge-1` and
 * peers `edge-2`, `edge-3` in the API, and helpers to look at the kernel and the state file.
 *
 * @module
 */
import { flannelAnnotationKeys } from "../../src/kube/annotations.ts";
import { parseCIDR } from "../../src/net/cidr.ts";
import { type DaemonOptions, VtepDaemon } from "../../src/vtepd/daemon.ts";
import type { NetConf } from "../../src/vtepd/netconf.ts";
import { findUnderlay } from "../../src/vtepd/underlay.ts";
import { loadState, saveState, type VtepState } from "../../src/vtepd/state.ts";
import { FakeKernel } from "../helpers/fake_kernel.ts";
import { FakeNodeApi } from "../helpers/fake_node_api.ts";
import { bareNode, flannelNode } from "../kube/fixtures.ts";
import { type RecordingLogger, recordingLogger } from "../kube/helpers.ts";

export const NET_CONF: NetConf = {
  network: parseCIDR("10.244.0.0/16")!,
  enableNFTables: false,
  backend: { vni: 1, port: 0, mtu: 0, gbp: false, learning: false, directRouting: false },
};

const keys = flannelAnnotationKeys();
if (!("ok" in keys)) throw new Error(keys.error);
export const KEYS = keys.ok;

export interface Harness extends AsyncDisposable {
  dir: string;
  kernel: FakeKernel;
  api: FakeNodeApi;
  log: RecordingLogger;
  options: DaemonOptions;
  daemon: VtepDaemon;
  /** Makes a new daemon on the same disk and kernel (a restart), stopping the old one. */
  restart(): Promise<VtepDaemon>;
  /** Peer names with an overlay route in the kernel. */
  routedPeers(): string[];
  /** Peer names in the state file. */
  savedPeers(): Promise<string[]>;
  /** Polls `check` every 5 ms until true, failing after `ms`. */
  until(what: string, check: () => boolean | Promise<boolean>, ms?: number): Promise<void>;
}

export interface HarnessOptions {
  /** Write a state file first (a reboot): this node's lease and MAC, with these peers. */
  savedState?: Partial<VtepState>;
  /** Kernel change notifications for the daemon. Default on. */
  kernelChanges?: boolean;
  writeState?: (dir: string, state: VtepState) => Promise<void>;
  persistDeadlineMs?: number;
  /** net-conf's Backend.MTU. */
  backendMTU?: number;
  /** More daemon options (flags). */
  daemon?: Partial<DaemonOptions>;
  releaseMemory?: () => void;
}

/** The Node objects of the cluster: this node (edge-1, without annotations) and two peers. */
export function seedCluster(api: FakeNodeApi): void {
  api.put(bareNode("edge-1", "10.244.1.0/24"));
  api.put(flannelNode("edge-2", 2));
  api.put(flannelNode("edge-3", 3));
}

export async function daemonHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = await Deno.makeTempDir({ prefix: "keepnet-daemon-" });
  const kernel = new FakeKernel();
  const api = new FakeNodeApi();
  const log = recordingLogger();
  const daemonOptions: DaemonOptions = {
    nodeName: "edge-1",
    netConf: {
      network: NET_CONF.network,
      enableNFTables: false,
      backend: { ...NET_CONF.backend, mtu: options.backendMTU ?? 0 },
    },
    keys: KEYS,
    findUnderlay: (kernel) =>
      findUnderlay(kernel, { iface: ["eth0"], ifaceRegex: [], ipv4: true, ipv6: false }),
    subnetFile: `${dir}/run/subnet.env`,
    stateDir: `${dir}/state`,
    resyncSeconds: 3600,
    machineId: "machine-1",
    persistDeadlineMs: options.persistDeadlineMs,
    ...options.daemon,
  };
  if (options.savedState) {
    await saveState(daemonOptions.stateDir, {
      nodeName: "edge-1",
      machineId: "machine-1",
      vtepMAC: "0e:aa:bb:cc:dd:01",
      vni: 1,
      lease: { podCIDR: "10.244.1.0/24", publicIP: "192.168.1.1" },
      updatedAt: "2026-12-01T00:00:00.000Z",
      ...options.savedState,
    });
  }
  const make = () =>
    new VtepDaemon(daemonOptions, {
      netlink: kernel,
      api,
      log,
      kernelChanges: options.kernelChanges === false ? undefined : kernel.changes(),
      writeState: options.writeState,
      releaseMemory: options.releaseMemory,
    });
  const harness: Harness = {
    dir,
    kernel,
    api,
    log,
    options: daemonOptions,
    daemon: make(),
    async restart() {
      await harness.daemon.stop();
      harness.daemon = make();
      return harness.daemon;
    },
    routedPeers() {
      const device = kernel.getLink("flannel.1");
      if (!device) return [];
      return kernel.listRoutes({ ifindex: device.index })
        .filter((route) => route.gateway !== undefined)
        .map((route) => `edge-${route.dst.split(".")[2]}`).sort();
    },
    async savedPeers() {
      const loaded = await loadState(daemonOptions.stateDir);
      return loaded.kind === "loaded" ? (loaded.state.peers ?? []).map((p) => p.name).sort() : [];
    },
    async until(what, check, ms = 3000) {
      const deadline = Date.now() + ms;
      while (!await check()) {
        if (Date.now() > deadline) {
          throw new Error(`timed out waiting for ${what}\n${log.lines.join("\n")}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async [Symbol.asyncDispose]() {
      await harness.daemon.stop();
      kernel.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
  return harness;
}

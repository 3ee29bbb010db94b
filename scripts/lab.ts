/**
 * A small edge cluster made of network namespaces, for the end-to-end tests and the demo:
 *
 *   LAN namespace   bridge br0 192.168.50.254/24, where the Kubernetes-API test server listens
 *   node namespace  eth0 192.168.50.(10+i)/24 on the LAN, pod CIDR 10.244.i.0/24,
 *                   keepnet-vtepd (or a "stock flannel" data plane set up by hand), cni0
 *   pod namespace   eth0 wired by the real CNI bridge plugin, IP from keepnet-ipam (or host-local)
 *
 * Each node has a "disk" directory (state dir, CNI data dir: survives a reboot) and a "run"
 * directory (subnet.env: lost in a reboot, like /run). `reboot()` kills the node's processes
 * and deletes and recreates its namespace, which wipes its kernel state as a reboot does.
 * Nothing is created in the host's own network namespace.
 *
 * @module
 */
import { createNetns, type Netns } from "../tests/helpers/netns.ts";
import { commandLine } from "../tests/helpers/programs.ts";
import { ROOT } from "./programs.ts";
import type { ControlRequest } from "./lab_apiserver.ts";
import type { CacheSnapshot, YurthubSetting } from "../tests/kube/apiserver.ts";

export const LAN_GATEWAY = "192.168.50.254";
export const LAN_GATEWAY6 = "fd00:50::fe";
/** A host on the LAN outside the cluster network (no route to the pods), besides the API. */
export const OUTSIDE_HOST = "192.168.50.253";
export const CLUSTER_NETWORK = "10.244.0.0/16";
export const CLUSTER_NETWORK6 = "fd00:10:244::/56";
export const API_PORT = 6443;
const BRIDGE_PLUGIN = "/usr/lib/cni/bridge";
const HOST_LOCAL_PLUGIN = "/usr/lib/cni/host-local";

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${lastError}` : ""}`);
}

/** "The cloud": the API test server process in the LAN namespace. */
export class LabApi {
  readonly url: string;
  #process: Deno.ChildProcess;
  #client: Deno.HttpClient;

  private constructor(url: string, process: Deno.ChildProcess, socket: string) {
    this.url = url;
    this.#process = process;
    this.#client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  }

  static async start(lan: Netns, dir: string): Promise<LabApi> {
    const socket = `${dir}/api.sock`;
    const process = lan.spawn([
      Deno.execPath(),
      "run",
      "--quiet",
      "-A",
      `${ROOT}/scripts/lab_apiserver.ts`,
      "--hostname",
      LAN_GATEWAY,
      "--port",
      String(API_PORT),
      "--control",
      socket,
    ], { stdout: "null", stderr: "inherit", stdin: "null" });
    const api = new LabApi(`http://${LAN_GATEWAY}:${API_PORT}`, process, socket);
    await waitFor("the API test server", async () => {
      await Deno.stat(socket);
      await api.control({ op: "requests" });
      return true;
    });
    return api;
  }

  async control<T = unknown>(request: ControlRequest): Promise<T> {
    const response = await fetch("http://lab/control", {
      method: "POST",
      body: JSON.stringify(request),
      client: this.#client,
    });
    const answer = await response.json() as { ok: boolean; result?: T; error?: string };
    if (!answer.ok) throw new Error(`API control ${request.op}: ${answer.error}`);
    return answer.result as T;
  }

  /** The node object as the cloud has it. */
  node(name: string): Promise<Record<string, unknown> | null> {
    return this.control({ op: "node", name });
  }

  async annotations(name: string): Promise<Record<string, string>> {
    const node = await this.node(name) as
      | { metadata?: { annotations?: Record<string, string> } }
      | null;
    return node?.metadata?.annotations ?? {};
  }

  /**
   * A node joins in the cloud only, running flannel elsewhere: `edge-<index>` (index 1–9) with
   * pod CIDR 10.244.<index>.0/24, public IP 192.168.50.1<index> and VTEP MAC 0e:<index>…
   */
  async createFlannelNode(index: number): Promise<void> {
    const mac = Array(5).fill(`${index}${index}`).join(":");
    await this.control({
      op: "createNode",
      node: {
        metadata: {
          name: `edge-${index}`,
          annotations: {
            "flannel.alpha.coreos.com/kube-subnet-manager": "true",
            "flannel.alpha.coreos.com/backend-type": "vxlan",
            "flannel.alpha.coreos.com/backend-data": `{"VNI":1,"VtepMAC":"0e:${mac}"}`,
            "flannel.alpha.coreos.com/public-ip": `192.168.50.1${index}`,
          },
        },
        spec: { podCIDR: `10.244.${index}.0/24`, podCIDRs: [`10.244.${index}.0/24`] },
      },
    });
  }

  /** The cloud now, for serveSnapshot later (see TestApiServer.snapshot). */
  snapshot(): Promise<CacheSnapshot> {
    return this.control({ op: "snapshot" });
  }

  /** Cloud down; yurthub answers from `snapshot` without the nodes in `omit`. */
  async serveSnapshot(snapshot: CacheSnapshot, omit: string[] = []): Promise<void> {
    await this.control({ op: "serveSnapshot", snapshot, omit });
  }

  /** online, cached, snapshot or uncached (see TestApiServer.setYurthubMode). */
  async setYurthubMode(setting: YurthubSetting): Promise<void> {
    await this.control({ op: "setYurthubMode", setting });
  }

  async stop(): Promise<void> {
    try {
      this.#process.kill("SIGTERM");
    } catch {
      // already gone
    }
    await this.#process.status;
    this.#client.close();
  }
}

export interface Pod {
  name: string;
  namespace: string;
  containerId: string;
  netns: Netns;
  ip: string;
  /** Its IPv6 address, in a dual-stack lab. */
  ip6?: string;
}

export type NodeFlavour = "keepnet" | "stock-flannel";

export interface VtepdLaunch {
  /** Run the bundle the build compiles instead of the TypeScript source. */
  bundle?: boolean;
  /** More environment for the daemon (it gets only PATH and HOME besides). */
  env?: Record<string, string>;
  /** Give the daemon only the arguments passed, not the lab's own flags. */
  onlyArgs?: boolean;
}

export class LabNode {
  readonly name: string;
  readonly index: number;
  readonly flavour: NodeFlavour;
  readonly ip: string;
  readonly podCIDR: string;
  /** The node's IPv6 LAN address and pod CIDR (used in a dual-stack lab). */
  readonly ip6: string;
  readonly podCIDR6: string;
  /** Survives reboot: state dir, CNI data dir. */
  readonly diskDir: string;
  /** Lost in a reboot, like /run: subnet.env. */
  readonly runDir: string;
  readonly pods = new Map<string, Pod>();
  netns!: Netns;
  vtepd: Deno.ChildProcess | undefined;
  #lab: Lab;
  #sandboxCounter = 0;

  constructor(lab: Lab, name: string, index: number, flavour: NodeFlavour) {
    this.#lab = lab;
    this.name = name;
    this.index = index;
    this.flavour = flavour;
    this.ip = `192.168.50.${10 + index}`;
    this.podCIDR = `10.244.${index}.0/24`;
    this.ip6 = `fd00:50::${10 + index}`;
    this.podCIDR6 = `fd00:10:244:${index}::/64`;
    this.diskDir = `${lab.dir}/${name}/disk`;
    this.runDir = `${lab.dir}/${name}/run`;
  }

  get #lanPort(): string {
    return `v-${this.name}`.slice(0, 15);
  }

  get stateDir(): string {
    return `${this.diskDir}/keepnet`;
  }

  get subnetFile(): string {
    return `${this.runDir}/flannel/subnet.env`;
  }

  get logFile(): string {
    return `${this.#lab.dir}/${this.name}/vtepd.log`;
  }

  /** Creates the node's namespace and plugs it into the LAN. */
  async boot(): Promise<void> {
    await Deno.mkdir(this.diskDir, { recursive: true });
    await Deno.mkdir(this.runDir, { recursive: true });
    this.netns = await createNetns(`kn-lab-${this.name}-`);
    const lanPort = this.#lanPort;
    await this.#lab.lan.check([
      "ip",
      "link",
      "add",
      lanPort,
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      // A node's NIC keeps its MAC across reboots: the neighbours' caches stay right.
      "address",
      `02:00:00:50:00:${this.index.toString(16).padStart(2, "0")}`,
      "netns",
      this.netns.name,
    ]);
    await this.#lab.lan.check(["ip", "link", "set", lanPort, "master", "br0", "up"]);
    await this.netns.check(["ip", "addr", "add", `${this.ip}/24`, "dev", "eth0"]);
    await this.netns.check(["ip", "link", "set", "eth0", "up"]);
    await this.netns.check(["ip", "route", "add", "default", "via", LAN_GATEWAY]);
    if (this.#lab.dualStack) {
      await this.netns.check(["ip", "-6", "addr", "add", `${this.ip6}/64`, "dev", "eth0", "nodad"]);
      await this.netns.check(["ip", "-6", "route", "add", "default", "via", LAN_GATEWAY6]);
      await this.netns.check(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]);
    }
  }

  /** The flags the lab runs keepnet-vtepd with: this node, the lab's API, files and LAN port. */
  vtepdArgs(): string[] {
    return [
      `--node-name=${this.name}`,
      `--kube-api-url=${this.#lab.api.url}`,
      `--net-config-path=${this.#lab.dir}/net-conf.json`,
      `--subnet-file=${this.subnetFile}`,
      `--state-dir=${this.stateDir}`,
      "--iface=eth0",
      "--log-level=debug",
    ];
  }

  /**
   * Starts keepnet-vtepd with the compiled binary's permissions: from source, or with
   * `bundle: true` the bundle the build compiles.
   */
  startVtepd(extraArgs: string[] = [], options: VtepdLaunch = {}): Deno.ChildProcess {
    const argv = commandLine("vtepd", {
      source: !options.bundle,
      netns: this.netns.name,
      args: options.onlyArgs ? extraArgs : [...this.vtepdArgs(), ...extraArgs],
    });
    // The daemon appends to its log file itself (sh redirects, then execs it: same PID), so a
    // line is in the file the moment the daemon wrote it; a copy through a pipe would lag.
    this.vtepd = new Deno.Command("sh", {
      args: ["-c", 'exec "$@" 2>>"$0"', this.logFile, ...argv],
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: Deno.env.get("HOME") ?? "/root",
        ...options.env,
      },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    return this.vtepd;
  }

  async stopVtepd(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus | undefined> {
    const process = this.vtepd;
    if (!process) return undefined;
    this.vtepd = undefined;
    try {
      process.kill(signal);
    } catch {
      // already exited
    }
    return await process.status;
  }

  /** The daemon's log so far. */
  async log(): Promise<string> {
    return await Deno.readTextFile(this.logFile).catch(() => "");
  }

  /** The MAC of flannel.1 (flannel-v6.1) in this node's kernel, or undefined. */
  async vtepMAC(family: 4 | 6 = 4): Promise<string | undefined> {
    const device = family === 4 ? "flannel.1" : "flannel-v6.1";
    const result = await this.netns.run(["ip", "-j", "link", "show", device]);
    if (result.code !== 0) return undefined;
    return (JSON.parse(result.stdout) as Array<{ address: string }>)[0]?.address;
  }

  #cniConfig(): string {
    const ipam = this.flavour === "keepnet"
      ? { type: "keepnet-ipam", dataDir: `${this.diskDir}/cni-networks` }
      : { type: "host-local", dataDir: `${this.diskDir}/cni-networks` };
    return JSON.stringify({
      cniVersion: "1.0.0",
      name: "lab",
      type: "bridge",
      bridge: "cni0",
      isGateway: true,
      ipMasq: false,
      mtu: 1450,
      ipam: this.#lab.dualStack
        ? {
          ...ipam,
          ranges: [[{ subnet: this.podCIDR }], [{ subnet: this.podCIDR6 }]],
          routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }],
        }
        // A default route, as flannel's delegate (isDefaultGateway): pods reach the outside.
        : { ...ipam, ranges: [[{ subnet: this.podCIDR }]], routes: [{ dst: "0.0.0.0/0" }] },
    });
  }

  #cniEnv(
    command: string,
    pod: { name: string; namespace: string; containerId: string; netns: Netns },
  ) {
    return {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      CNI_COMMAND: command,
      CNI_CONTAINERID: pod.containerId,
      CNI_NETNS: `/var/run/netns/${pod.netns.name}`,
      CNI_IFNAME: "eth0",
      CNI_PATH: this.#lab.cniBin,
      CNI_ARGS:
        `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.containerId}`,
    };
  }

  /** Creates a pod sandbox (a new container ID each time) and wires it with the bridge plugin. */
  async addPod(name: string, namespace = "default"): Promise<Pod> {
    const netns = await createNetns(`kn-lab-${this.name}-pod-`);
    const containerId = `${this.name}-${name}-${++this.#sandboxCounter}-${
      crypto.randomUUID().slice(0, 8)
    }`;
    const sandbox = { name, namespace, containerId, netns };
    try {
      const stdout = await this.netns.check([BRIDGE_PLUGIN], {
        stdin: this.#cniConfig(),
        env: this.#cniEnv("ADD", sandbox),
      });
      const result = JSON.parse(stdout) as { ips: Array<{ address: string }> };
      const addresses = result.ips.map((entry) => entry.address.split("/")[0]!);
      const pod: Pod = { ...sandbox, ip: addresses.find((ip) => !ip.includes(":"))! };
      const ip6 = addresses.find((ip) => ip.includes(":"));
      if (ip6) {
        pod.ip6 = ip6;
        // The pod's IPv6 address is usable once duplicate address detection is done (Debian's
        // bridge plugin does not wait for it, newer ones do).
        await waitFor(`${name}'s IPv6 address to settle`, async () => {
          const tentative = await netns.check(["ip", "-6", "addr", "show", "tentative"]);
          return tentative.trim() === "" ? true : undefined;
        }, 10_000);
        // A new pod's first IPv6 packet waits about 2 s for its gateway's neighbour entry (the
        // bridge's address on cni0): resolve it now, so a ping with a 2 s timeout measures the
        // overlay, not that.
        const gateway = this.podCIDR6.replace(/::\/\d+$/, "::1");
        await netns.run(["ping", "-c", "1", "-W", "5", gateway]);
      }
      this.pods.set(name, pod);
      return pod;
    } catch (error) {
      await netns.delete();
      throw error;
    }
  }

  /** Deletes a pod sandbox through the bridge plugin (CNI DEL), then its namespace. */
  async deletePod(name: string): Promise<void> {
    const pod = this.pods.get(name);
    if (!pod) return;
    this.pods.delete(name);
    await this.netns.check([BRIDGE_PLUGIN], {
      stdin: this.#cniConfig(),
      env: this.#cniEnv("DEL", pod),
    });
    await pod.netns.delete();
  }

  /**
   * Cuts the node off from the API server (a prohibit route to its address) while the LAN, and
   * so the overlay to the other nodes, keeps working: the edge node without its cloud link.
   */
  async cutApi(): Promise<void> {
    await this.netns.check(["ip", "route", "replace", "prohibit", `${LAN_GATEWAY}/32`]);
  }

  /**
   * Cuts the node off from the API server the way a lost link usually does: the packets vanish
   * both ways (an nftables drop in the node's namespace), so nothing is refused and open
   * connections just go quiet.
   */
  async cutApiSilently(): Promise<void> {
    const table = "inet keepnet-lab-cut";
    await this.netns.check(["nft", `add table ${table}`]);
    for (const [chain, hook, match] of [["out", "output", "daddr"], ["in", "input", "saddr"]]) {
      await this.netns.check([
        "nft",
        `add chain ${table} ${chain} { type filter hook ${hook} priority 0 ; ` +
        `ip ${match} ${LAN_GATEWAY} tcp ${
          match === "daddr" ? "dport" : "sport"
        } ${API_PORT} drop ; }`,
      ]);
    }
  }

  /** Ends either kind of cut. */
  async restoreApi(): Promise<void> {
    await this.netns.run(["ip", "route", "del", "prohibit", `${LAN_GATEWAY}/32`]);
    await this.netns.run(["nft", "delete table inet keepnet-lab-cut"]);
  }

  /** One ICMP echo from `pod` to `ip`; true when answered. */
  async ping(pod: Pod, ip: string): Promise<boolean> {
    const result = await pod.netns.run(["ping", "-c", "1", "-W", "2", ip]);
    return result.code === 0;
  }

  /**
   * A reboot: the daemon dies (SIGKILL), every pod's sandbox is gone without a CNI DEL, the
   * kernel state goes with the namespace, and the run directory is emptied. The disk stays.
   */
  async reboot(): Promise<void> {
    await this.stopVtepd("SIGKILL");
    for (const pod of this.pods.values()) await pod.netns.delete();
    this.pods.clear();
    // Namespace teardown is asynchronous in the kernel: remove the LAN port (and with it the
    // node's end) now, so the next boot can plug in again at once.
    await this.#lab.lan.run(["ip", "link", "del", this.#lanPort]);
    await this.netns.delete();
    await Deno.remove(this.runDir, { recursive: true }).catch(() => {});
    await this.boot();
  }

  async dispose(): Promise<void> {
    await this.stopVtepd("SIGKILL");
    for (const pod of this.pods.values()) await pod.netns.delete().catch(() => {});
    this.pods.clear();
    await this.netns?.delete().catch(() => {});
  }
}

export interface NodeSpec {
  name: string;
  flavour?: NodeFlavour;
}

/** flannel's net-conf.json of a dual-stack overlay, as the lab runs it. */
export const DUAL_STACK_NET_CONF = {
  Network: CLUSTER_NETWORK,
  EnableIPv6: true,
  IPv6Network: CLUSTER_NETWORK6,
  Backend: { Type: "vxlan" },
};

export class Lab implements AsyncDisposable {
  readonly dir: string;
  readonly cniBin: string;
  readonly nodes = new Map<string, LabNode>();
  lan!: Netns;
  api!: LabApi;
  /** Nodes and pods have IPv6 addresses too (net-conf's EnableIPv6). */
  dualStack = false;

  private constructor(dir: string) {
    this.dir = dir;
    this.cniBin = `${dir}/cni-bin`;
  }

  static async create(
    specs: NodeSpec[],
    netConf: Record<string, unknown> = { Network: CLUSTER_NETWORK, Backend: { Type: "vxlan" } },
  ): Promise<Lab> {
    const lab = new Lab(await Deno.makeTempDir({ prefix: "keepnet-lab-" }));
    try {
      await lab.#setUp(specs, netConf);
    } catch (error) {
      await lab.dispose();
      throw error;
    }
    return lab;
  }

  async #setUp(specs: NodeSpec[], netConf: Record<string, unknown>): Promise<void> {
    this.dualStack = netConf.EnableIPv6 === true;
    await Deno.writeTextFile(`${this.dir}/net-conf.json`, JSON.stringify(netConf));
    await Deno.mkdir(this.cniBin);
    // keepnet-ipam as the bundle the build compiles, with the compiled binary's permissions.
    await Deno.writeTextFile(
      `${this.cniBin}/keepnet-ipam`,
      `#!/bin/sh\nexec ${commandLine("ipam").map((arg) => `'${arg}'`).join(" ")} "$@"\n`,
      { mode: 0o755 },
    );
    await Deno.symlink(HOST_LOCAL_PLUGIN, `${this.cniBin}/host-local`);
    this.lan = await createNetns("kn-lab-lan-");
    await this.lan.check(["ip", "link", "add", "br0", "type", "bridge"]);
    await this.lan.check(["ip", "addr", "add", `${LAN_GATEWAY}/24`, "dev", "br0"]);
    await this.lan.check(["ip", "addr", "add", `${OUTSIDE_HOST}/24`, "dev", "br0"]);
    await this.lan.check(["ip", "link", "set", "br0", "up"]);
    if (this.dualStack) {
      await this.lan.check([
        "ip",
        "-6",
        "addr",
        "add",
        `${LAN_GATEWAY6}/64`,
        "dev",
        "br0",
        "nodad",
      ]);
    }
    this.api = await LabApi.start(this.lan, this.dir);
    for (const [i, spec] of specs.entries()) {
      const node = new LabNode(this, spec.name, i + 1, spec.flavour ?? "keepnet");
      this.nodes.set(spec.name, node);
      await node.boot();
      await this.api.control({
        op: "createNode",
        node: {
          apiVersion: "v1",
          kind: "Node",
          metadata: { name: spec.name, labels: { "kubernetes.io/hostname": spec.name } },
          spec: this.dualStack
            ? { podCIDR: node.podCIDR, podCIDRs: [node.podCIDR, node.podCIDR6] }
            : { podCIDR: node.podCIDR, podCIDRs: [node.podCIDR] },
          status: { addresses: [{ type: "InternalIP", address: node.ip }] },
        },
      });
    }
  }

  node(name: string): LabNode {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`no lab node ${name}`);
    return node;
  }

  async dispose(): Promise<void> {
    for (const node of this.nodes.values()) await node.dispose();
    await this.api?.stop().catch(() => {});
    await this.lan?.delete().catch(() => {});
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}

/** The device flanneld uses for `family`'s overlay. */
export function vtepDevice(family: 4 | 6 = 4): string {
  return family === 4 ? "flannel.1" : "flannel-v6.1";
}

/** What flanneld sets up on `node` itself, done with iproute2: the VTEP with `mac`, its address. */
export async function createVtepByHand(
  node: LabNode,
  mac: string,
  vtepAddress: string,
  family: 4 | 6 = 4,
): Promise<void> {
  const device = vtepDevice(family);
  await node.netns.check([
    "ip",
    "link",
    "add",
    device,
    "address",
    mac,
    "mtu",
    family === 4 ? "1450" : "1430",
    "type",
    "vxlan",
    "id",
    "1",
    "dev",
    "eth0",
    "local",
    family === 4 ? node.ip : node.ip6,
    "dstport",
    "8472",
    "nolearning",
  ]);
  const bits = family === 4 ? 32 : 128;
  await node.netns.check([
    "ip",
    "addr",
    "add",
    `${vtepAddress}/${bits}`,
    "dev",
    device,
    ...(family === 6 ? ["nodad"] : []),
  ]);
  await node.netns.check(["ip", "link", "set", device, "up"]);
}

const podNetwork = (cidr: string) => cidr.replace(/\/\d+$/, "");

/**
 * Sets up a stock flanneld-like node by hand: its annotations in the API, its VTEP(s). With
 * `mac6` (a dual-stack lab) the IPv6 VTEP and its annotations too.
 */
export async function programStockFlannelNode(
  lab: Lab,
  node: LabNode,
  mac: string,
  mac6?: string,
): Promise<void> {
  await createVtepByHand(node, mac, podNetwork(node.podCIDR));
  await node.netns.check(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  const annotations: Record<string, string> = {
    "flannel.alpha.coreos.com/backend-type": "vxlan",
    "flannel.alpha.coreos.com/backend-data": JSON.stringify({ VNI: 1, VtepMAC: mac }),
    "flannel.alpha.coreos.com/kube-subnet-manager": "true",
    "flannel.alpha.coreos.com/public-ip": node.ip,
  };
  if (mac6) {
    await createVtepByHand(node, mac6, podNetwork(node.podCIDR6), 6);
    await node.netns.check(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]);
    annotations["flannel.alpha.coreos.com/backend-v6-data"] = JSON.stringify({
      VNI: 1,
      VtepMAC: mac6,
    });
    annotations["flannel.alpha.coreos.com/public-ipv6"] = node.ip6;
  }
  await lab.api.control({ op: "mergeNode", name: node.name, patch: { metadata: { annotations } } });
}

/**
 * What stock flanneld on `node` does when it sees `peer`'s annotations: neighbour, FDB, route,
 * in `family`'s overlay.
 */
export async function addStockFlannelPeer(
  node: LabNode,
  peer: LabNode,
  peerMac: string,
  family: 4 | 6 = 4,
): Promise<void> {
  const device = vtepDevice(family);
  const podCIDR = family === 4 ? peer.podCIDR : peer.podCIDR6;
  const vtep = podNetwork(podCIDR);
  await node.netns.check([
    "ip",
    "neigh",
    "replace",
    vtep,
    "lladdr",
    peerMac,
    "dev",
    device,
    "nud",
    "permanent",
  ]);
  await node.netns.check([
    "bridge",
    "fdb",
    "replace",
    peerMac,
    "dev",
    device,
    "dst",
    family === 4 ? peer.ip : peer.ip6,
    "self",
    "permanent",
  ]);
  await node.netns.check(["ip", "route", "replace", podCIDR, "via", vtep, "dev", device, "onlink"]);
}

/**
 * keepnet-vtepd under systemd's `Type=notify`, with a stand-in for systemd's notification
 * socket: READY=1 only once the device is configured and subnet.env written — also at a reboot
 * without the API, from local state — and STOPPING=1 on SIGTERM. And the shipped unit's own
 * ExecStart line starts the daemon with an environment that names only a local yurthub.
 */
import assert from "node:assert/strict";
import { Lab, type LabNode } from "../../scripts/lab.ts";
import { ROOT } from "../../scripts/programs.ts";
import { openNotifySocket } from "../helpers/notify_socket.ts";
import { E2E, sinceStart, waitForLog, waitForPeers } from "./helpers.ts";

/** What must be true whenever READY=1 has been sent. */
async function dataPlaneReady(node: LabNode): Promise<void> {
  const env = await Deno.readTextFile(node.subnetFile).catch(() => "");
  assert.match(env, /FLANNEL_SUBNET=/, "subnet.env is written before READY=1");
  assert.ok(await node.vtepMAC(), "flannel.1 exists before READY=1");
}

Deno.test({
  name:
    "systemd: READY=1 once the data plane is ready (also offline, from local state), STOPPING=1 on SIGTERM",
  ...E2E,
  async fn() {
    await using lab = await Lab.create([{ name: "edge-1" }, { name: "edge-2" }]);
    const [edge1, edge2] = ["edge-1", "edge-2"].map((name) => lab.node(name)) as [
      LabNode,
      LabNode,
    ];
    edge2.startVtepd();
    using socket = openNotifySocket(`${lab.dir}/notify-edge-1`);
    const env = { NOTIFY_SOCKET: socket.name };

    // A first start: the lease comes from the API.
    edge1.startVtepd([], { env, bundle: true });
    assert.match(await socket.waitFor("READY=1"), /STATUS=data plane ready: flannel\.1/);
    await dataPlaneReady(edge1);
    await waitForPeers(edge1, [edge2]);
    await edge1.stopVtepd("SIGTERM");
    socket.poll();
    assert.ok(socket.received.some((datagram) => datagram.text.startsWith("STOPPING=1")));
    assert.equal(socket.received.filter((d) => d.text.startsWith("READY=1")).length, 1);

    // A reboot without the cloud: READY=1 from local state, before any API answer.
    await edge1.reboot();
    await edge1.cutApi();
    socket.received.length = 0;
    edge1.startVtepd([], { env, bundle: true });
    await socket.waitFor("READY=1");
    await dataPlaneReady(edge1);
    assert.match(await edge1.log(), /lease restored from local state/);
    assert.doesNotMatch(
      await sinceStart(edge1),
      /API reachable/,
      "ready without the API",
    );
  },
});

/** The ExecStart= command line of the shipped unit. */
async function shippedExecStart(): Promise<string[]> {
  const unit = await Deno.readTextFile(`${ROOT}/dist/systemd/keepnet-vtepd.service`);
  const line = unit.split("\n").find((entry) => entry.startsWith("ExecStart="));
  assert.ok(line, "the unit has an ExecStart line");
  return line.slice("ExecStart=".length).trim().split(/\s+/);
}

/** The shipped environment file, edited for a yurthub as its comments say. */
async function yurthubEnvironment(url: string): Promise<Record<string, string>> {
  const text = await Deno.readTextFile(`${ROOT}/dist/systemd/keepnet-vtepd.default`);
  const env: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    let line = raw.trim();
    if (line.startsWith("KEEPNET_KUBECONFIG_FILE=")) continue; // "comment out the line above"
    if (line.startsWith("# KEEPNET_KUBE_API_URL=")) line = line.slice(2); // "uncomment this one"
    if (line === "" || line.startsWith("#")) continue;
    const [name, ...value] = line.split("=");
    env[name!] = value.join("=");
  }
  assert.equal(env.KEEPNET_KUBE_API_URL, "http://127.0.0.1:10261", "the file suggests yurthub");
  assert.equal(env.KEEPNET_KUBECONFIG_FILE, undefined);
  return { ...env, KEEPNET_KUBE_API_URL: url };
}

Deno.test({
  name: "systemd: the shipped unit's ExecStart starts the daemon with a yurthub-only environment",
  ...E2E,
  async fn() {
    await using lab = await Lab.create([{ name: "edge-1" }]);
    const edge1 = lab.node("edge-1");
    const [binary, ...args] = await shippedExecStart();
    assert.equal(binary, "/usr/local/bin/keepnet-vtepd");
    assert.ok(!args.some((arg) => arg.startsWith("--kubeconfig")), "no kubeconfig forced");
    using socket = openNotifySocket(`${lab.dir}/notify`);
    edge1.startVtepd(args, {
      bundle: true,
      onlyArgs: true,
      env: {
        ...await yurthubEnvironment(lab.api.url),
        NODE_NAME: "edge-1",
        NOTIFY_SOCKET: socket.name,
        // Where a real node keeps them are the unit's defaults; the lab keeps them per node.
        KEEPNET_NET_CONFIG_PATH: `${lab.dir}/net-conf.json`,
        KEEPNET_SUBNET_FILE: edge1.subnetFile,
        KEEPNET_STATE_DIR: edge1.stateDir,
        KEEPNET_IFACE: "eth0",
      },
    });
    await socket.waitFor("READY=1");
    await dataPlaneReady(edge1);
    // READY=1 may come before the informer's first list: wait for its line.
    const log = await waitForLog(edge1, /API reachable/);
    assert.doesNotMatch(log, /kubeconfig/i);
  },
});

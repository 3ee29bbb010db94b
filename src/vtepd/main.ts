/**
 * keepnet-vtepd: the flannel-compatible VXLAN VTEP daemon that keeps its MAC.
 * Compiled as `keepnet-vtepd`; run from source with `deno task vtepd`.
 *
 * @module
 */
import { createLogger } from "../log/log.ts";
import { flannelAnnotationKeys } from "../kube/annotations.ts";
import { createNodeApi } from "../kube/client.ts";
import { loadKubeConfig } from "../kube/config.ts";
import { openKernelMonitor, openNetlink } from "../netlink/mod.ts";
import { VERSION } from "../version.ts";
import { VtepDaemon } from "./daemon.ts";
import { parseFlags } from "./flags.ts";
import { serveHealth } from "./health.ts";
import { readiness } from "./readiness.ts";
import { renderMetrics } from "./metrics.ts";
import { NET_CONF_LIMIT, readTextBounded } from "./read_config.ts";
import { ifaceFlagProblem } from "./underlay.ts";
import { openNotifier } from "./sd_notify.ts";
import { parseNetConf } from "./netconf.ts";
import { readMachineId } from "./state.ts";
import { loadIPv6, parseIP } from "../net/ip.ts";

async function main(): Promise<number> {
  // Flags, nodes and interfaces may carry IPv6 addresses even though the overlay is IPv4.
  await loadIPv6();
  const parsed = parseFlags(Deno.args, (name) => Deno.env.get(name));
  if (parsed.kind !== "run") {
    console.log(parsed.text);
    return 0;
  }
  const flags = parsed.flags;
  const log = createLogger({ level: flags.logLevel });
  log.info("keepnet-vtepd starting", { version: VERSION, node: flags.nodeName });

  if (flags.publicIP !== undefined && parseIP(flags.publicIP)?.family !== 4) {
    throw new Error(`--public-ip ${JSON.stringify(flags.publicIP)} is not an IPv4 address`);
  }
  const ifaceProblem = ifaceFlagProblem(flags.iface);
  if (ifaceProblem) throw new Error(ifaceProblem);
  const netConf = parseNetConf(readTextBounded(flags.netConfigPath, NET_CONF_LIMIT, "net-conf"));
  const prefix = flannelAnnotationKeys(flags.kubeAnnotationPrefix);
  if ("error" in prefix) throw new Error(`--kube-annotation-prefix: ${prefix.error}`);
  const kubeConfig = loadKubeConfig({
    kubeconfigFile: flags.kubeconfigFile,
    apiUrl: flags.kubeApiUrl,
  });
  const api = createNodeApi(kubeConfig, { userAgent: flags.userAgent, logger: log });
  // systemd (Type=notify) learns when pods can get a network, and when the daemon stops.
  const notifier = openNotifier(Deno.env.get("NOTIFY_SOCKET"));
  const netlink = openNetlink();
  // Opened before the daemon touches the kernel, so no change can slip between the two.
  const kernelChanges = openKernelMonitor();

  const daemon = new VtepDaemon({
    nodeName: flags.nodeName,
    netConf,
    keys: prefix.ok,
    iface: flags.iface,
    publicIP: flags.publicIP,
    subnetFile: flags.subnetFile,
    stateDir: flags.stateDir,
    resyncSeconds: flags.resyncSeconds,
    machineId: readMachineId(),
  }, {
    netlink,
    api,
    log,
    kernelChanges,
    onReady: (summary) => notifier?.notify(`READY=1\nSTATUS=${summary}`),
  });

  const health = flags.healthzPort > 0
    ? serveHealth(flags.healthzIP, flags.healthzPort, {
      readiness: () => readiness(daemon.status(), `flannel.${netConf.backend.vni}`),
      metrics: () => renderMetrics(daemon.status(), { version: VERSION, deno: Deno.version.deno }),
    })
    : undefined;

  const stopped = new Promise<void>((resolve) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      Deno.addSignalListener(signal, () => resolve());
    }
  });
  await Promise.race([daemon.start(), stopped]);
  await stopped;
  log.info("stopping; the data plane stays in place");
  try {
    notifier?.notify("STOPPING=1\nSTATUS=stopping; the data plane stays in place");
  } catch (error) {
    log.warn("cannot tell systemd the daemon is stopping", { error });
  }
  await daemon.stop();
  await health?.shutdown();
  kernelChanges.close();
  netlink.close();
  notifier?.close();
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (error) {
    createLogger().error("keepnet-vtepd cannot run", { error });
    Deno.exit(1);
  }
}

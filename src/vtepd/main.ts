/**
 * keepnet-vtepd: the flannel-compatible VXLAN VTEP daemon that keeps its MAC.
 * Compiled as `keepnet-vtepd`; run from source with `deno task vtepd`.
 *
 * @module
 */
import { createLogger, type Logger } from "../log/log.ts";
import { flannelAnnotationKeys } from "../kube/annotations.ts";
import type { NodeApi } from "../kube/api.ts";
import { createNodeApi } from "../kube/client.ts";
import { loadApiEndpoint } from "../kube/config.ts";
import { lookupPodNodeName } from "../kube/pod_node_name.ts";
import { loadIPv6, parseIP } from "../net/ip.ts";
import { openKernelMonitor, openNetlink } from "../netlink/mod.ts";
import { VERSION } from "../version.ts";
import { VtepDaemon } from "./daemon.ts";
import { type DaemonFlags, parseFlags } from "./flags.ts";
import { serveHealth } from "./health.ts";
import { renderMetrics } from "./metrics.ts";
import { parseNetConf } from "./netconf.ts";
import { NET_CONF_LIMIT, readTextBounded } from "./read_config.ts";
import { readiness } from "./readiness.ts";
import { releaseMemory } from "./release_memory.ts";
import { openNotifier } from "./sd_notify.ts";
import { loadState, readMachineId } from "./state.ts";
import { findUnderlay, ifaceFlagProblem } from "./underlay.ts";

/**
 * This node's name: the flag or NODE_NAME; else (flannel's DaemonSet sets only POD_NAME and
 * POD_NAMESPACE) the name in this machine's state file, so an offline boot needs no API; else the
 * pod's `spec.nodeName` from the API, asked until it answers.
 */
async function nodeNameOf(
  flags: DaemonFlags,
  api: NodeApi,
  log: Logger,
  machineId: string | undefined,
  signal: AbortSignal,
): Promise<string | undefined> {
  if (!flags.podRef) return flags.nodeName;
  const saved = loadState(flags.stateDir);
  if (
    saved.kind === "loaded" &&
    (!saved.state.machineId || !machineId || saved.state.machineId === machineId)
  ) {
    log.info("node name from the state file (POD_NAME lookup not needed)", {
      node: saved.state.nodeName,
    });
    return saved.state.nodeName;
  }
  return await lookupPodNodeName(api, flags.podRef, { log, signal });
}

async function main(): Promise<number> {
  // Flags, nodes and interfaces may carry IPv6 addresses.
  await loadIPv6();
  const parsed = parseFlags(Deno.args, (name) => Deno.env.get(name));
  if (parsed.kind !== "run") {
    console.log(parsed.text);
    return 0;
  }
  const flags = parsed.flags;
  const log = createLogger({ level: flags.logLevel });
  log.info("keepnet-vtepd starting", { version: VERSION, node: flags.nodeName || undefined });
  for (const notice of flags.notices) log.info(notice);

  if (flags.publicIP !== undefined && parseIP(flags.publicIP)?.family !== 4) {
    throw new Error(`--public-ip ${JSON.stringify(flags.publicIP)} is not an IPv4 address`);
  }
  if (flags.publicIPv6 !== undefined && parseIP(flags.publicIPv6)?.family !== 6) {
    throw new Error(`--public-ipv6 ${JSON.stringify(flags.publicIPv6)} is not an IPv6 address`);
  }
  const netConf = parseNetConf(readTextBounded(flags.netConfigPath, NET_CONF_LIMIT, "net-conf"));
  const families = { ipv4: netConf.network !== undefined, ipv6: netConf.ipv6Network !== undefined };
  const ifaceProblem = ifaceFlagProblem({ ...flags, ...families });
  if (ifaceProblem) throw new Error(ifaceProblem);
  const prefix = flannelAnnotationKeys(flags.kubeAnnotationPrefix);
  if ("error" in prefix) throw new Error(`--kube-annotation-prefix: ${prefix.error}`);
  const endpoint = await loadApiEndpoint({
    kubeconfigFile: flags.kubeconfigFile,
    apiUrl: flags.kubeApiUrl,
  });
  const api = createNodeApi(endpoint, { userAgent: flags.userAgent, logger: log });

  const stop = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => stop.abort());
  }
  const stopped = new Promise<void>((resolve) =>
    stop.signal.addEventListener("abort", () => resolve())
  );
  const machineId = readMachineId();
  const nodeName = await nodeNameOf(flags, api, log, machineId, stop.signal);
  if (nodeName === undefined) return 0; // stopped while waiting for the pod's node

  // systemd (Type=notify) learns when pods can get a network, and when the daemon stops.
  const notifier = openNotifier(Deno.env.get("NOTIFY_SOCKET"));
  const netlink = openNetlink();
  // Opened before the daemon touches the kernel, so no change can slip between the two.
  const kernelChanges = openKernelMonitor();

  const daemon = new VtepDaemon({
    nodeName,
    netConf,
    keys: prefix.ok,
    findUnderlay: (kernel) =>
      findUnderlay(kernel, {
        iface: flags.iface,
        ifaceRegex: flags.ifaceRegex,
        ifaceCanReach: flags.ifaceCanReach,
        ...families,
      }),
    publicIP: flags.publicIP,
    publicIPv6: flags.publicIPv6,
    subnetFile: flags.subnetFile,
    stateDir: flags.stateDir,
    resyncSeconds: flags.resyncSeconds,
    machineId,
    traffic: flags.ipMasq || flags.iptablesForwardRules
      ? {
        ipMasq: flags.ipMasq,
        fullyRandom: !flags.ipMasqFullyRandomDisable,
        forwardRules: flags.iptablesForwardRules,
        resyncSeconds: flags.iptablesResyncSeconds,
      }
      : undefined,
    blackholeRoute: flags.ipBlackholeRoute,
    setNodeNetworkUnavailable: flags.setNodeNetworkUnavailable,
  }, {
    netlink,
    api,
    log,
    kernelChanges,
    onReady: (summary) => notifier?.notify(`READY=1\nSTATUS=${summary}`),
    releaseMemory,
  });

  const vni = netConf.backend.vni;
  const devices = [
    ...(families.ipv4 ? [`flannel.${vni}`] : []),
    ...(families.ipv6 ? [`flannel-v6.${vni}`] : []),
  ].join(", ");
  const health = flags.healthzPort > 0
    ? serveHealth(flags.healthzIP, flags.healthzPort, {
      readiness: () => readiness(daemon.status(), devices),
      metrics: () => renderMetrics(daemon.status(), { version: VERSION, deno: Deno.version.deno }),
    })
    : undefined;

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

/**
 * DEL: host-local's release, quirks included (one recursive sweep per range set, the legacy
 * bare-ID sweep when nothing matched), then the attachment's bindings are marked released. They
 * are found by content: with the pod named in CNI_ARGS (as runtimes do) only that pod's binding
 * files are read, without it every binding. A late DEL of a replaced sandbox matches nothing:
 * its successor's reservation and binding name the successor.
 *
 * @module
 */
import type { CmdArgs } from "../cni/skel.ts";
import { formatIP } from "../net/ip.ts";
import {
  listBindings,
  markReleased,
  pruneExpired,
  readBindings,
  touchReleased,
} from "./binding_store.ts";
import { DEFAULT_DATA_DIR, loadIPAMConfig } from "./config.ts";
import { goTrimSpace } from "./go_text.ts";
import { type PodIdentity, podIdentityFromArgs } from "./pod_identity.ts";
import { type BindingRecord, bindingSuffix } from "./bindings.ts";
import { withNetworkStore } from "./store.ts";

/** The pod named in CNI_ARGS, if any; a DEL never fails over a bad name (it is best-effort). */
function podOf(args: string): PodIdentity | undefined {
  try {
    return podIdentityFromArgs(args);
  } catch {
    return undefined;
  }
}

export async function cmdDel(args: CmdArgs): Promise<void> {
  const conf = loadIPAMConfig(args.config, args.env.args);
  const { containerID, ifName } = args.env;
  const pod = conf.keepPodIP ? podOf(args.env.args) : undefined;
  const suffix = pod ? await bindingSuffix(pod) : undefined;
  await withNetworkStore(conf.dataDir || DEFAULT_DATA_DIR, conf.name, (store) => {
    const released = new Set<string>();
    for (const _ of conf.rangeSets) {
      for (const path of store.releaseByID(containerID, ifName)) released.add(path);
    }
    if (!conf.keepPodIP) return;
    const now = Date.now();
    const id = goTrimSpace(containerID);
    const held = (record: BindingRecord) =>
      goTrimSpace(record.containerID) === id && record.ifname === ifName;
    const listed = listBindings(store);
    const podsOwn = pod && suffix !== undefined
      ? readBindings(store, listed.filter((b) => b.fileName.endsWith(suffix)))
      : [];
    // Without the pod's name, or when its files do not name this container, look at all.
    const bindings = podsOwn.some((b) => b.record && held(b.record))
      ? podsOwn
      : readBindings(store, listed);
    markReleased(store, bindings, held, now);
    const ofReleasedIPs = listed.filter((b) => released.has(formatIP(b.ip)));
    touchReleased(store, readBindings(store, ofReleasedIPs), released, now);
    if (conf.bindingTTL) pruneExpired(store, readBindings(store, listed), conf.bindingTTL, now);
  });
}

/**
 * DEL: host-local's release, quirks included (one recursive sweep per range set, the legacy
 * bare-ID sweep when nothing matched), then the attachment's bindings are marked released. They
 * are found by content, so this works without CNI_ARGS, and a late DEL of a replaced sandbox
 * matches nothing: its successor's reservation and binding name the successor.
 *
 * @module
 */
import type { CmdArgs } from "../cni/skel.ts";
import { listBindings, markReleased, pruneExpired, readBindings } from "./binding_store.ts";
import { DEFAULT_DATA_DIR, loadIPAMConfig } from "./config.ts";
import { goTrimSpace } from "./go_text.ts";
import { withNetworkStore } from "./store.ts";

export async function cmdDel(args: CmdArgs): Promise<void> {
  const conf = loadIPAMConfig(args.config, args.env.args);
  const { containerID, ifName } = args.env;
  await withNetworkStore(conf.dataDir || DEFAULT_DATA_DIR, conf.name, (store) => {
    for (const _ of conf.rangeSets) store.releaseByID(containerID, ifName);
    if (!conf.keepPodIP) return;
    const now = Date.now();
    const id = goTrimSpace(containerID);
    const bindings = readBindings(store, listBindings(store));
    markReleased(
      store,
      bindings,
      (record) => goTrimSpace(record.containerID) === id && record.ifname === ifName,
      now,
    );
    if (conf.bindingTTL) pruneExpired(store, bindings, conf.bindingTTL, now);
  });
}

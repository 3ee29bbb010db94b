/**
 * CHECK: host-local's, unchanged: some file must hold the attachment (or its bare ID).
 *
 * @module
 */
import type { CmdArgs } from "../cni/skel.ts";
import { DEFAULT_DATA_DIR, loadIPAMConfig } from "./config.ts";
import { withNetworkStore } from "./store.ts";

export async function cmdCheck(args: CmdArgs): Promise<void> {
  const conf = loadIPAMConfig(args.config, args.env.args);
  const { containerID, ifName } = args.env;
  await withNetworkStore(conf.dataDir || DEFAULT_DATA_DIR, conf.name, (store) => {
    if (!store.holds(containerID, ifName)) {
      throw new Error(`host-local: Failed to find address added by container ${containerID}`);
    }
    return Promise.resolve();
  });
}

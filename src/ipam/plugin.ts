/**
 * keepnet-ipam's commands, as the CNI skeleton calls them.
 *
 * @module
 */
import type { Plugin } from "../cni/skel.ts";
import { VERSION } from "../version.ts";
import { cmdAdd } from "./add.ts";
import { cmdCheck } from "./check.ts";
import { cmdDel } from "./del.ts";
import { cmdGC } from "./gc.ts";
import { cmdStatus } from "./status.ts";

export const ipamPlugin: Plugin = {
  about: `CNI keepnet-ipam plugin version ${VERSION}`,
  add: cmdAdd,
  del: cmdDel,
  check: cmdCheck,
  gc: cmdGC,
  status: cmdStatus,
};

/**
 * STATUS (CNI 1.1): success while an ADD could get an address; code 50 only when every range
 * set is truly exhausted. Released bindings count as free: stickiness never makes the network
 * look full.
 *
 * @module
 */
import { CNIError, ErrorCode } from "../cni/errors.ts";
import type { CmdArgs } from "../cni/skel.ts";
import { formatIP, type IP, ipEquals, parseIP } from "../net/ip.ts";
import { exhaustedError } from "./allocator.ts";
import { DEFAULT_DATA_DIR, loadIPAMConfig } from "./config.ts";
import { rangeContains, rangeSize } from "./range.ts";
import { findRange, type RangeSet } from "./range_set.ts";
import { withNetworkStore } from "./store.ts";

/** How many addresses of `set` could still be reserved, given the reserved ones. */
export function freeAddresses(set: RangeSet, reserved: readonly IP[]): bigint {
  let free = 0n;
  for (const range of set) {
    free += rangeSize(range) - (rangeContains(range, range.gateway) ? 1n : 0n);
  }
  for (const ip of reserved) {
    const range = findRange(set, ip);
    if (range && !ipEquals(ip, range.gateway)) free -= 1n;
  }
  return free;
}

export async function cmdStatus(args: CmdArgs): Promise<void> {
  const conf = loadIPAMConfig(args.config, args.env.args);
  const reserved = await withNetworkStore(
    conf.dataDir || DEFAULT_DATA_DIR,
    conf.name,
    (store) =>
      Promise.resolve(
        store.entries().flatMap((entry) => {
          if (entry.relPath.includes("/")) return [];
          const ip = parseIP(entry.name);
          return ip && formatIP(ip) === entry.name ? [ip] : [];
        }),
      ),
  );
  const exhausted = conf.rangeSets.filter((set) => freeAddresses(set, reserved) <= 0n);
  if (exhausted.length === conf.rangeSets.length) {
    throw new CNIError(
      ErrorCode.PluginNotAvailable,
      exhausted.map((set) => exhaustedError(set).message).join("; "),
    );
  }
}

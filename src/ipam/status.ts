/**
 * STATUS (CNI 1.1): success while an ADD could get its addresses; code 50 as soon as one range
 * set is exhausted, since an ADD needs an address from every set (a dual-stack network with no
 * IPv4 address left can serve no pod). An address counts as free exactly when ADD can take it:
 * when no reservation file has its name. Bindings of departed pods, including those without a
 * record (OpenYurt's empty files, damaged files), do not make an address taken: an ADD takes
 * the oldest of them when nothing else is left.
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
  if (exhausted.length > 0) {
    throw new CNIError(
      ErrorCode.PluginNotAvailable,
      exhausted.map((set) => exhaustedError(set).message).join("; "),
    );
  }
}

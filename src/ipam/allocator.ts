/**
 * Allocation from one range set, as host-local's `IPAllocator.Get` does it: a requested IP, or
 * the duplicate check and then round-robin from the IP after the set's last reservation. The
 * store must already be locked (one lock for the whole command).
 *
 * @module
 */
import type { IPConfig } from "../cni/result.ts";
import { formatIP, type IP, ipEquals, nextIP } from "../net/ip.ts";
import type { Range } from "./range.ts";
import {
  findRange,
  formatRangeSet,
  rangeFor,
  type RangeSet,
  rangeSetContains,
} from "./range_set.ts";
import type { NetworkStore } from "./store.ts";

/** One candidate address and the range it belongs to. */
export interface Candidate {
  ip: IP;
  range: Range;
}

/**
 * host-local's `RangeIter`: visits every address of every range once (gateways skipped),
 * starting after `lastReserved` when the set contains it, else at the first range's start.
 */
export class RangeIterator {
  readonly #set: RangeSet;
  #index = 0;
  #current: IP | undefined;
  /** The first address handed out; reaching it again ends the iteration. */
  startIP: IP | undefined;

  constructor(set: RangeSet, lastReserved?: IP) {
    this.#set = set;
    const index = lastReserved ? set.findIndex((r) => rangeSetContains([r], lastReserved)) : -1;
    if (index >= 0) {
      this.#index = index;
      this.#current = lastReserved;
    } else {
      this.startIP = set[0]!.rangeStart;
    }
  }

  next(): Candidate | undefined {
    for (;;) {
      let range = this.#set[this.#index]!;
      if (this.#current === undefined) {
        this.#current = range.rangeStart;
        this.startIP = this.#current;
        if (ipEquals(this.#current, range.gateway)) continue;
        return { ip: this.#current, range };
      }
      if (ipEquals(this.#current, range.rangeEnd)) {
        this.#index = (this.#index + 1) % this.#set.length;
        range = this.#set[this.#index]!;
        this.#current = range.rangeStart;
      } else {
        this.#current = nextIP(this.#current);
      }
      if (this.startIP === undefined) this.startIP = this.#current;
      else if (ipEquals(this.#current, this.startIP)) return undefined;
      if (ipEquals(this.#current, range.gateway)) continue;
      return { ip: this.#current, range };
    }
  }
}

/** The result entry for an address of `range`. */
export function ipConfigFor(ip: IP, range: Range): IPConfig {
  return { ip, prefix: range.subnet.prefix, gateway: range.gateway };
}

/** host-local's message when a set has no address left. */
export function exhaustedError(set: RangeSet): Error {
  return new Error(`no IP addresses available in range set: ${formatRangeSet(set)}`);
}

/** Reserves a requested IP (which the set contains), with host-local's checks and messages. */
export function reserveRequested(
  store: NetworkStore,
  set: RangeSet,
  rangeID: number,
  attachment: { containerID: string; ifName: string },
  ip: IP,
): IPConfig {
  const range = rangeFor(set, ip);
  if (ipEquals(ip, range.gateway)) {
    throw new Error(`requested ip ${formatIP(ip)} is subnet's gateway`);
  }
  if (!store.reserve(ip, attachment.containerID, attachment.ifName, rangeID)) {
    throw new Error(
      `requested IP address ${formatIP(ip)} is not available in range set ${formatRangeSet(set)}`,
    );
  }
  return ipConfigFor(ip, range);
}

/** host-local refuses a second address in a set for the same attachment (no requested IP). */
export function rejectDuplicate(
  store: NetworkStore,
  set: RangeSet,
  attachment: { containerID: string; ifName: string },
): void {
  for (const ip of store.ipsOf(attachment.containerID, attachment.ifName)) {
    if (findRange(set, ip)) {
      throw new Error(
        `${
          formatIP(ip)
        } has been allocated to ${attachment.containerID}, duplicate allocation is not allowed`,
      );
    }
  }
}

/**
 * Reserves the next free address round-robin, passing over those `avoid` rejects. Returns
 * undefined when none is left.
 */
export function reserveNext(
  store: NetworkStore,
  set: RangeSet,
  rangeID: number,
  attachment: { containerID: string; ifName: string },
  options: { avoid?: (ip: IP) => boolean; log: (message: string) => void },
): IPConfig | undefined {
  const iterator = new RangeIterator(set, store.lastReservedIP(rangeID, options.log));
  for (let candidate = iterator.next(); candidate; candidate = iterator.next()) {
    if (options.avoid?.(candidate.ip)) continue;
    if (store.reserve(candidate.ip, attachment.containerID, attachment.ifName, rangeID)) {
      return ipConfigFor(candidate.ip, candidate.range);
    }
  }
  return undefined;
}

/**
 * A range set: the disjoint ranges of one family that one address is allocated from (host-local
 * `allocator.RangeSet`), with its canonicalisation, lookups and text form.
 *
 * @module
 */
import { formatIP, type IP } from "../net/ip.ts";
import {
  canonicalizeRange,
  formatRange,
  type Range,
  rangeContains,
  type RangeInput,
  rangesOverlap,
} from "./range.ts";

export type RangeSet = readonly Range[];

/** `RangeSet.Canonicalize`: every range valid, one family, no overlaps. */
export function canonicalizeRangeSet(inputs: readonly RangeInput[]): RangeSet {
  if (inputs.length === 0) throw new Error("empty range set");
  const ranges: Range[] = [];
  for (const input of inputs) {
    const range = canonicalizeRange(input);
    if (ranges.length > 0 && range.rangeStart.family !== ranges[0]!.rangeStart.family) {
      throw new Error("mixed address families");
    }
    ranges.push(range);
  }
  for (let i = 0; i < ranges.length - 1; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      if (rangesOverlap(ranges[i]!, ranges[j]!)) {
        throw new Error(
          `subnets ${formatRange(ranges[i]!)} and ${formatRange(ranges[j]!)} overlap`,
        );
      }
    }
  }
  return ranges;
}

/** The range of the set that contains `ip`, if any. */
export function findRange(set: RangeSet, ip: IP): Range | undefined {
  return set.find((range) => rangeContains(range, ip));
}

export function rangeSetContains(set: RangeSet, ip: IP): boolean {
  return findRange(set, ip) !== undefined;
}

/** `RangeSet.RangeFor`: the containing range, or host-local's "not in range set" error. */
export function rangeFor(set: RangeSet, ip: IP): Range {
  const range = findRange(set, ip);
  if (!range) throw new Error(`${formatIP(ip)} not in range set ${formatRangeSet(set)}`);
  return range;
}

/** True when any range of one set overlaps any range of the other. */
export function rangeSetsOverlap(a: RangeSet, b: RangeSet): boolean {
  return a.some((x) => b.some((y) => rangesOverlap(x, y)));
}

/** `RangeSet.String()`: the ranges' `start-end` forms joined with ",". */
export function formatRangeSet(set: RangeSet): string {
  return set.map(formatRange).join(",");
}

/** The family of the set's addresses. */
export function rangeSetFamily(set: RangeSet): 4 | 6 {
  return set[0]!.rangeStart.family;
}

/**
 * One address range of a range set (`{subnet, rangeStart, rangeEnd, gateway}`), canonicalised
 * and compared exactly as host-local's `allocator.Range` does, including its error messages.
 *
 * @module
 */
import { type CIDR, cidrContains, lastAddress, networkAddress } from "../net/cidr.ts";
import { bitsOf, formatIP, type IP, ipEquals, nextIP } from "../net/ip.ts";
import { formatIPNet } from "../cni/result.ts";

/** A range as configured; any field may be missing. */
export interface RangeInput {
  subnet?: CIDR;
  rangeStart?: IP;
  rangeEnd?: IP;
  gateway?: IP;
}

/** A canonical range: every field set, `rangeStart`/`rangeEnd` inclusive. */
export interface Range {
  readonly subnet: CIDR;
  readonly rangeStart: IP;
  readonly rangeEnd: IP;
  readonly gateway: IP;
}

/** Go's `ip.Cmp`: compares the numeric values, whatever the families. */
function compareValues(a: IP, b: IP): number {
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

function containsWithBounds(subnet: CIDR, start: IP | undefined, end: IP | undefined, ip: IP) {
  if (ip.family !== subnet.ip.family || !cidrContains(subnet, ip)) return false;
  if (start && compareValues(ip, start) < 0) return false;
  if (end && compareValues(ip, end) > 0) return false;
  return true;
}

/** True when `ip` is of the range's family, inside its subnet and within start..end. */
export function rangeContains(range: Range, ip: IP): boolean {
  return containsWithBounds(range.subnet, range.rangeStart, range.rangeEnd, ip);
}

/** `Range.Canonicalize`: validates and fills in defaults, throwing host-local's messages. */
export function canonicalizeRange(input: RangeInput): Range {
  const subnet = input.subnet;
  if (!subnet) throw new Error("IP <nil> not v4 nor v6");
  const maskBits = bitsOf(subnet.maskFamily);
  if (subnet.prefix > maskBits - 2) {
    throw new Error(`Network ${formatIPNet(subnet)} too small to allocate from`);
  }
  if (subnet.ip.family !== subnet.maskFamily) {
    throw new Error("IPNet IP and Mask version mismatch");
  }
  const network = networkAddress(subnet);
  if (!ipEquals(network, subnet.ip)) {
    throw new Error(
      `Network has host bits set. For a subnet mask of length ${subnet.prefix} the network address is ${
        formatIP(network)
      }`,
    );
  }
  const gateway = input.gateway ?? nextIP(subnet.ip);
  let rangeStart = input.rangeStart;
  if (rangeStart) {
    if (!containsWithBounds(subnet, rangeStart, input.rangeEnd, rangeStart)) {
      throw new Error(`RangeStart ${formatIP(rangeStart)} not in network ${formatIPNet(subnet)}`);
    }
  } else {
    rangeStart = nextIP(subnet.ip);
  }
  let rangeEnd = input.rangeEnd;
  if (rangeEnd) {
    if (!containsWithBounds(subnet, rangeStart, rangeEnd, rangeEnd)) {
      throw new Error(`RangeEnd ${formatIP(rangeEnd)} not in network ${formatIPNet(subnet)}`);
    }
  } else {
    const last = lastAddress(subnet);
    // IPv4 leaves out the broadcast address; IPv6 has none.
    rangeEnd = subnet.ip.family === 4 ? { family: 4, value: last.value - 1n } : last;
  }
  return { subnet, rangeStart, rangeEnd, gateway };
}

/** `Range.Overlaps`: same family and one range contains an end of the other. */
export function rangesOverlap(a: Range, b: Range): boolean {
  if (a.rangeStart.family !== b.rangeStart.family) return false;
  return rangeContains(a, b.rangeStart) || rangeContains(a, b.rangeEnd) ||
    rangeContains(b, a.rangeStart) || rangeContains(b, a.rangeEnd);
}

/** `Range.String()`: `<rangeStart>-<rangeEnd>`. */
export function formatRange(range: Range): string {
  return `${formatIP(range.rangeStart)}-${formatIP(range.rangeEnd)}`;
}

/** Number of addresses in rangeStart..rangeEnd. */
export function rangeSize(range: Range): bigint {
  return range.rangeEnd.value - range.rangeStart.value + 1n;
}

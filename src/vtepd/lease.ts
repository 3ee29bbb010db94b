/**
 * The own node's lease, in flannel's sense: its pod CIDR (the subnet its pods get addresses
 * from, and whose network address is the VTEP's address) and the public IP it advertises. It
 * comes from the state file at boot (so the node needs no API to come up) or from the Node
 * object, and either way it must fit `Network`: inside it, with a prefix at least as long. A
 * saved lease that does not fit (the Network was changed, or the file was edited) is set aside
 * and the API asked instead.
 *
 * @module
 */
import { type CIDR, cidrContains, formatCIDR, networkAddress, parseCIDR } from "../net/cidr.ts";
import type { Result } from "../kube/result.ts";

export interface Lease {
  /** The pod CIDR, host bits cleared. */
  podCIDR: CIDR;
  publicIP: string;
}

/** Checks a pod CIDR against `Network`; `source` names where it came from, for the message. */
export function leaseFrom(
  podCIDRText: string,
  publicIP: string,
  network: CIDR,
  source: string,
): Result<Lease> {
  const parsed = parseCIDR(podCIDRText);
  if (!parsed || parsed.ip.family !== 4 || parsed.maskFamily !== 4) {
    return { error: `pod CIDR ${JSON.stringify(podCIDRText)} (from ${source}) is not IPv4` };
  }
  const podCIDR = { ...parsed, ip: networkAddress(parsed) };
  if (podCIDR.prefix < network.prefix || !cidrContains(network, podCIDR.ip)) {
    return {
      error: `pod CIDR ${formatCIDR(podCIDR)} (from ${source}) is not inside Network ${
        formatCIDR(network)
      }`,
    };
  }
  return { ok: { podCIDR, publicIP } };
}

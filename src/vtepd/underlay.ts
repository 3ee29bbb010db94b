/**
 * The external (underlay) interface VXLAN packets leave through, chosen as flanneld chooses it:
 * the first `--iface` entry (a name or an IPv4 address) that exists, else the interface of the
 * IPv4 default route. Its IPv4 address is the VTEP's local address and, unless `--public-ip`
 * says otherwise, the public IP advertised to peers.
 *
 * @module
 */
import type { Address, Link, Netlink } from "../netlink/mod.ts";
import { parseIP } from "../net/ip.ts";

export interface Underlay {
  index: number;
  name: string;
  mtu: number;
  /** The interface's first global IPv4 address. */
  address: string;
}

export class UnderlayError extends Error {
  override name = "UnderlayError";
}

/**
 * What is wrong with the `--iface` values as given, before any interface is looked at: an IPv6
 * address cannot carry an IPv4 overlay. Such a flag is an operator's error, not an interface that
 * may still come up, so the daemon stops with this message instead of waiting for it.
 */
export function ifaceFlagProblem(ifaces: string[]): string | undefined {
  for (const wanted of ifaces) {
    if (parseIP(wanted)?.family === 6) {
      return `--iface ${wanted} is an IPv6 address; the overlay is IPv4, so give an interface name or an IPv4 address`;
    }
  }
  return undefined;
}

type UnderlayKernel = Pick<Netlink, "listLinks" | "listAddresses" | "listRoutes">;

function firstIPv4(addresses: Address[], ifindex: number): string | undefined {
  const own = addresses.filter((address) => address.ifindex === ifindex && address.family === 4);
  // Prefer a global address over host- or link-scoped ones.
  return (own.find((address) => address.scope === 0) ?? own[0])?.address;
}

function underlayOf(link: Link, addresses: Address[], address?: string): Underlay | undefined {
  const chosen = address ?? firstIPv4(addresses, link.index);
  return chosen
    ? { index: link.index, name: link.name, mtu: link.mtu, address: chosen }
    : undefined;
}

export function findUnderlay(kernel: UnderlayKernel, ifaces: string[]): Underlay {
  const links = kernel.listLinks();
  const addresses = kernel.listAddresses({ family: 4 });
  for (const wanted of ifaces) {
    const ip = parseIP(wanted);
    if (ip) {
      if (ip.family !== 4) throw new UnderlayError(`--iface ${wanted}: only IPv4 is supported`);
      const owner = addresses.find((address) => address.address === wanted);
      const link = owner && links.find((candidate) => candidate.index === owner.ifindex);
      if (link) return underlayOf(link, addresses, wanted)!;
      continue;
    }
    const link = links.find((candidate) => candidate.name === wanted);
    const underlay = link && underlayOf(link, addresses);
    if (underlay) return underlay;
  }
  if (ifaces.length > 0) {
    throw new UnderlayError(`none of --iface ${ifaces.join(", ")} exists with an IPv4 address`);
  }
  const defaultRoute = kernel.listRoutes({ family: 4 }).find((route) =>
    route.dst === "0.0.0.0/0" && route.ifindex !== undefined
  );
  if (!defaultRoute) {
    throw new UnderlayError(
      "no --iface given and no IPv4 default route to take the interface from",
    );
  }
  const link = links.find((candidate) => candidate.index === defaultRoute.ifindex);
  const underlay = link && underlayOf(link, addresses);
  if (!underlay) {
    throw new UnderlayError(
      `the default route's interface (index ${defaultRoute.ifindex}) has no IPv4 address`,
    );
  }
  return underlay;
}

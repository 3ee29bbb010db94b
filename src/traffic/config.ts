/**
 * What the masquerade and forward rules are built from: flanneld's flags (`--ip-masq`,
 * `--ip-masq-fully-random-disable`, `--iptables-forward-rules`, `--iptables-resync`), net-conf's
 * `EnableNFTables`, the cluster Network and this node's lease per family, and the lease of the
 * previous run as the old subnet.env recorded it.
 *
 * Either family may be absent (IPv4-only, IPv6-only and dual-stack overlays).
 *
 * @module
 */
import { type CIDR, networkAddress } from "../net/cidr.ts";
import { type Family, formatIP, loadIPv6 } from "../net/ip.ts";

/** One family's cluster Network (net-conf `Network`/`IPv6Network`) and this node's pod subnet. */
export interface FamilyLease {
  network: CIDR;
  subnet: CIDR;
}

/**
 * The previous run's Network and subnet of one family, from the old subnet.env. A value that
 * was absent or unreadable is left out; flanneld then compares with the zero prefix
 * (`0.0.0.0/0`, `::/0`), and so do we.
 */
export interface PreviousLease {
  network?: CIDR;
  subnet?: CIDR;
}

/** The flags that choose which iptables binaries run (flannel's image picks one at start). */
export type IptablesVariant = "default" | "nft" | "legacy";

export interface TrafficConfig {
  ipv4?: FamilyLease;
  ipv6?: FamilyLease;
  /** `--ip-masq`. Default false, as flanneld (its manifest sets it). */
  ipMasq?: boolean;
  /** Not `--ip-masq-fully-random-disable`. Default true; used only where supported. */
  fullyRandom?: boolean;
  /** `--iptables-forward-rules`. Default true. */
  forwardRules?: boolean;
  /** net-conf `EnableNFTables`. Default false (iptables). */
  nftables?: boolean;
  /** `--iptables-resync`, in seconds. Default 5. */
  resyncSeconds?: number;
  /** The leases of the previous run (old subnet.env); absent means "no file", as flanneld. */
  previous?: { ipv4?: PreviousLease; ipv6?: PreviousLease };
  /**
   * Which iptables binaries to run: `iptables` as installed (Debian: the nf_tables variant),
   * or explicitly `iptables-nft` / `iptables-legacy`. Default "default".
   */
  iptablesVariant?: IptablesVariant;
}

/** A family's prefixes as flanneld prints them (Go's `IPNet.String()` of the network). */
export interface FamilyNetworks {
  family: Family;
  network: string;
  subnet: string;
}

export interface ResolvedTrafficConfig {
  /** The families in flanneld's order: IPv4 first. */
  families: FamilyNetworks[];
  ipMasq: boolean;
  fullyRandom: boolean;
  forwardRules: boolean;
  nftables: boolean;
  resyncMs: number;
  /** The previous run's prefixes per configured family, zero prefixes where unknown. */
  previous: FamilyNetworks[];
  iptablesVariant: IptablesVariant;
}

export class TrafficConfigError extends Error {
  override name = "TrafficConfigError";
}

const FAMILY_NAME: Record<Family, string> = { 4: "IPv4", 6: "IPv6" };
const ZERO_PREFIX: Record<Family, string> = { 4: "0.0.0.0/0", 6: "::/0" };
const MAX_RESYNC_SECONDS = 86400;

/** The prefix as flanneld prints a parsed one: network address (host bits cleared) and length. */
export function formatNetwork(cidr: CIDR): string {
  return `${formatIP(networkAddress(cidr))}/${cidr.prefix}`;
}

function contains(outer: CIDR, inner: CIDR): boolean {
  if (inner.prefix < outer.prefix) return false;
  const shift = BigInt((outer.ip.family === 4 ? 32 : 128) - outer.prefix);
  return networkAddress(outer).value >> shift === networkAddress(inner).value >> shift;
}

function checkFamily(family: Family, lease: FamilyLease): FamilyNetworks {
  const name = FAMILY_NAME[family];
  for (const [what, cidr] of [["network", lease.network], ["subnet", lease.subnet]] as const) {
    if (cidr.ip.family !== family) {
      throw new TrafficConfigError(`the ${name} ${what} is not an ${name} prefix`);
    }
  }
  if (!contains(lease.network, lease.subnet)) {
    throw new TrafficConfigError(
      `the ${name} subnet ${formatNetwork(lease.subnet)} is not inside the network ${
        formatNetwork(lease.network)
      }`,
    );
  }
  return { family, network: formatNetwork(lease.network), subnet: formatNetwork(lease.subnet) };
}

function previousOf(family: Family, previous: PreviousLease | undefined): FamilyNetworks {
  const text = (cidr: CIDR | undefined) =>
    cidr && cidr.ip.family === family ? formatNetwork(cidr) : ZERO_PREFIX[family];
  return { family, network: text(previous?.network), subnet: text(previous?.subnet) };
}

/** Fills in flanneld's defaults and checks the prefixes; loads IPv6 printing when needed. */
export async function resolveTrafficConfig(config: TrafficConfig): Promise<ResolvedTrafficConfig> {
  if (config.ipv6 || config.previous?.ipv6) await loadIPv6();
  const leases: Array<[Family, FamilyLease | undefined]> = [[4, config.ipv4], [6, config.ipv6]];
  const families = leases.flatMap(([family, lease]) => lease ? [checkFamily(family, lease)] : []);
  if (families.length === 0) {
    throw new TrafficConfigError("neither an IPv4 nor an IPv6 network is configured");
  }
  const resyncSeconds = config.resyncSeconds ?? 5;
  if (!(resyncSeconds > 0 && resyncSeconds <= MAX_RESYNC_SECONDS)) {
    throw new TrafficConfigError(
      `the resync interval must be above 0 and at most ${MAX_RESYNC_SECONDS} s, not ${resyncSeconds}`,
    );
  }
  const variant = config.iptablesVariant ?? "default";
  if (!["default", "nft", "legacy"].includes(variant)) {
    throw new TrafficConfigError(`unknown iptables variant ${JSON.stringify(variant)}`);
  }
  return {
    families,
    ipMasq: config.ipMasq ?? false,
    fullyRandom: config.fullyRandom ?? true,
    forwardRules: config.forwardRules ?? true,
    nftables: config.nftables ?? false,
    resyncMs: resyncSeconds * 1000,
    previous: families.map(({ family }) =>
      previousOf(family, family === 4 ? config.previous?.ipv4 : config.previous?.ipv6)
    ),
    iptablesVariant: variant,
  };
}

/** True when flanneld would delete the previous lease's masquerade rules before installing. */
export function leaseChanged(current: FamilyNetworks, previous: FamilyNetworks): boolean {
  return current.network !== previous.network || current.subnet !== previous.subnet;
}

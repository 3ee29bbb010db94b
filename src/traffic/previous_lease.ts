/**
 * The previous run's Network and subnet, read from the subnet.env it left behind, as flanneld's
 * `ReadCIDRFromSubnetFile` reads them: a key with exactly one prefix is taken as its network
 * (`FLANNEL_SUBNET=10.244.1.1/24` gives `10.244.1.0/24`); a missing file, a missing key, a value
 * that does not parse, or more than one prefix gives nothing.
 *
 * @module
 */
import { type CIDR, parseCIDR } from "../net/cidr.ts";
import { type Family, loadIPv6, mayContainIPv6 } from "../net/ip.ts";
import type { PreviousLease } from "./config.ts";

export interface PreviousLeases {
  ipv4?: PreviousLease;
  ipv6?: PreviousLease;
}

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*[=:]\s*(.*?)\s*$/;

/** `KEY=VALUE` lines (dotenv style: `export`, quotes and `#` comment lines allowed). */
export function parseEnvFile(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*(#|$)/.test(line)) continue;
    const match = LINE.exec(line);
    if (!match) continue;
    let value = match[2]!;
    const quoted = /^(['"])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2]!;
    else value = value.replace(/\s+#.*$/, "");
    values.set(match[1]!, value);
  }
  return values;
}

function onePrefix(value: string | undefined, family: Family): CIDR | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(",");
  if (parts.length !== 1) return undefined;
  const cidr = parseCIDR(parts[0]!);
  return cidr?.ip.family === family ? cidr : undefined;
}

/** The previous leases in a subnet.env's text. */
export async function previousLeasesFromSubnetEnv(text: string): Promise<PreviousLeases> {
  const values = parseEnvFile(text);
  if (mayContainIPv6(text)) await loadIPv6();
  const lease = (network: string, subnet: string, family: Family): PreviousLease | undefined => {
    const found = {
      network: onePrefix(values.get(network), family),
      subnet: onePrefix(values.get(subnet), family),
    };
    return found.network || found.subnet ? found : undefined;
  };
  const result: PreviousLeases = {};
  const ipv4 = lease("FLANNEL_NETWORK", "FLANNEL_SUBNET", 4);
  const ipv6 = lease("FLANNEL_IPV6_NETWORK", "FLANNEL_IPV6_SUBNET", 6);
  if (ipv4) result.ipv4 = ipv4;
  if (ipv6) result.ipv6 = ipv6;
  return result;
}

/** Reads the subnet.env at `path`; a missing file is no previous lease (first start, reboot). */
export async function readPreviousLeases(path: string): Promise<PreviousLeases> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw error;
  }
  return previousLeasesFromSubnetEnv(text);
}

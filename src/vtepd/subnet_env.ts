/**
 * `/run/flannel/subnet.env`, byte-compatible with flanneld's `WriteSubnetFile`: the stock flannel
 * CNI plugin reads it on every pod ADD, so without it no pod on the node gets a network.
 *
 * @module
 */
import { type CIDR, formatCIDR, networkAddress } from "../net/cidr.ts";
import { formatIP, nextIP } from "../net/ip.ts";
import { writeFileAtomic } from "../fs/atomic.ts";

export interface SubnetEnv {
  /** The IPv4 cluster network (`Network` of net-conf.json), when the IPv4 overlay runs. */
  network?: CIDR;
  /** This node's IPv4 pod CIDR, likewise. */
  subnet?: CIDR;
  /** The IPv6 cluster network (`IPv6Network`), when the IPv6 overlay runs. */
  ipv6Network?: CIDR;
  /** This node's IPv6 pod CIDR, likewise. */
  ipv6Subnet?: CIDR;
  /** MTU of the VXLAN device (the smaller of the two in dual-stack). */
  mtu: number;
  /** Whether the daemon masquerades pod traffic (the flannel CNI plugin then tells bridge not to). */
  ipMasq: boolean;
}

/** `<first host of the prefix>/<prefix length>`, as flanneld writes the subnet lines. */
function firstHost(subnet: CIDR): string {
  return `${formatIP(nextIP(networkAddress(subnet)))}/${subnet.prefix}`;
}

/** The file's text: flanneld's keys, in flanneld's order, one `KEY=VALUE` per line. */
export function renderSubnetEnv(env: SubnetEnv): string {
  const lines: string[] = [];
  if (env.network && env.subnet) {
    lines.push(
      `FLANNEL_NETWORK=${formatCIDR(env.network)}`,
      `FLANNEL_SUBNET=${firstHost(env.subnet)}`,
    );
  }
  if (env.ipv6Network && env.ipv6Subnet) {
    lines.push(
      `FLANNEL_IPV6_NETWORK=${formatCIDR(env.ipv6Network)}`,
      `FLANNEL_IPV6_SUBNET=${firstHost(env.ipv6Subnet)}`,
    );
  }
  lines.push(`FLANNEL_MTU=${env.mtu}`, `FLANNEL_IPMASQ=${env.ipMasq}`, "");
  return lines.join("\n");
}

/** Writes the file atomically (mode 0644, its directory 0755 created when missing). */
export async function writeSubnetEnv(path: string, env: SubnetEnv): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
  writeFileAtomic(path, renderSubnetEnv(env), { mode: 0o644 });
}

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
  /** The cluster network (`Network` of net-conf.json). */
  network: CIDR;
  /** This node's pod CIDR. */
  subnet: CIDR;
  /** MTU of the VXLAN device. */
  mtu: number;
  /** Whether the daemon masquerades pod traffic (the flannel CNI plugin then tells bridge not to). */
  ipMasq: boolean;
}

/** The file's text: flanneld's keys, in flanneld's order, one `KEY=VALUE` per line. */
export function renderSubnetEnv(env: SubnetEnv): string {
  const firstHost = nextIP(networkAddress(env.subnet));
  return [
    `FLANNEL_NETWORK=${formatCIDR(env.network)}`,
    `FLANNEL_SUBNET=${formatIP(firstHost)}/${env.subnet.prefix}`,
    `FLANNEL_MTU=${env.mtu}`,
    `FLANNEL_IPMASQ=${env.ipMasq}`,
    "",
  ].join("\n");
}

/** Writes the file atomically (mode 0644, its directory 0755 created when missing). */
export async function writeSubnetEnv(path: string, env: SubnetEnv): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
  writeFileAtomic(path, renderSubnetEnv(env), { mode: 0o644 });
}

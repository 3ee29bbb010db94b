/**
 * The VTEP device `flannel.<VNI>`, made to match the desired spec: created with the kept MAC in
 * the same request (so udev's MACAddressPolicy leaves it alone), reused when compatible,
 * recreated with the same MAC when not. Unlike flanneld, the MTU and MAC of a reused device are
 * corrected too, and the MAC is read back after link-up and fixed if something changed it.
 *
 * @module
 */
import { type CIDR, cidrContains } from "../net/cidr.ts";
import { parseIP } from "../net/ip.ts";
import { isNotFound, type Link, type Netlink } from "../netlink/mod.ts";

export interface DeviceSpec {
  name: string;
  mac: string;
  mtu: number;
  vni: number;
  /** 0: leave the kernel's default (8472). */
  port: number;
  /** VTEP source address: the underlay interface's IPv4 address. */
  local: string;
  underlay: number;
  learning: boolean;
  gbp: boolean;
  /** `<own pod CIDR network address>/32`. */
  address: string;
  /** The cluster network: other addresses inside it are removed from the device. */
  network: CIDR;
}

export type DeviceKernel = Pick<
  Netlink,
  | "getLink"
  | "createVxlan"
  | "deleteLink"
  | "setLinkUp"
  | "setLinkDown"
  | "setLinkMac"
  | "setLinkMtu"
  | "listAddresses"
  | "addAddress"
  | "deleteAddress"
>;

/** What `ensureDevice` had to change: each kind a repair when the device was set up before. */
export type DeviceChange = "created" | "recreated" | "mtu" | "mac" | "address" | "up";

export interface DeviceOutcome {
  link: Link;
  /** What was done, one short phrase each, for the log. */
  actions: string[];
  changes: Set<DeviceChange>;
  /** Attributes that could not be set; the rest of the device was still configured. */
  failures: string[];
}

/** What VXLAN encapsulation adds to every packet (IPv4 outer header, UDP, VXLAN, Ethernet). */
export const VXLAN_OVERHEAD = 50;

/**
 * The device's MTU, as flanneld computes it: `Backend.MTU` (or the underlay's MTU) minus the
 * VXLAN overhead. The kernel refuses an MTU above the underlay's minus that overhead, so a
 * `Backend.MTU` larger than the underlay's is clamped to it, with the warning to log.
 */
export function vxlanMTU(
  backendMTU: number,
  underlay: { name: string; mtu: number },
): { mtu: number; warning?: string } {
  if (backendMTU === 0) return { mtu: underlay.mtu - VXLAN_OVERHEAD };
  if (backendMTU > underlay.mtu) {
    return {
      mtu: underlay.mtu - VXLAN_OVERHEAD,
      warning:
        `Backend.MTU ${backendMTU} is larger than the MTU of the underlay ${underlay.name} (${underlay.mtu}); using ${underlay.mtu}, so the VXLAN device gets ${
          underlay.mtu - VXLAN_OVERHEAD
        }`,
    };
  }
  return { mtu: backendMTU - VXLAN_OVERHEAD };
}

/** Why an existing device cannot be reused, or undefined when it can (flanneld's rules). */
export function incompatibility(link: Link, spec: DeviceSpec): string | undefined {
  const vxlan = link.vxlan;
  if (link.kind !== "vxlan" || !vxlan) return `it is a ${link.kind ?? "plain"} device, not vxlan`;
  if (vxlan.vni !== spec.vni) return `VNI ${vxlan.vni} instead of ${spec.vni}`;
  if (vxlan.underlay !== undefined && vxlan.underlay !== spec.underlay) {
    return `underlay device ${vxlan.underlay} instead of ${spec.underlay}`;
  }
  if (vxlan.local !== undefined && vxlan.local !== spec.local) {
    return `local address ${vxlan.local} instead of ${spec.local}`;
  }
  if (spec.port > 0 && vxlan.port !== spec.port) {
    return `port ${vxlan.port} instead of ${spec.port}`;
  }
  if (vxlan.gbp !== spec.gbp) return `GBP ${vxlan.gbp} instead of ${spec.gbp}`;
  return undefined;
}

function create(kernel: DeviceKernel, spec: DeviceSpec): Link {
  return kernel.createVxlan({
    name: spec.name,
    mac: spec.mac,
    mtu: spec.mtu,
    vni: spec.vni,
    port: spec.port,
    local: spec.local,
    underlay: spec.underlay,
    learning: spec.learning,
    gbp: spec.gbp,
  });
}

function setMac(kernel: DeviceKernel, link: Link, mac: string): void {
  try {
    kernel.setLinkMac(link.index, mac);
  } catch {
    // Some kernels refuse a live address change: take the link down for it.
    kernel.setLinkDown(link.index);
    kernel.setLinkMac(link.index, mac);
  }
}

function ensureAddress(
  kernel: DeviceKernel,
  link: Link,
  spec: DeviceSpec,
  actions: string[],
  changes: Set<DeviceChange>,
): void {
  let present = false;
  for (const address of kernel.listAddresses({ ifindex: link.index, family: 4 })) {
    const text = `${address.address}/${address.prefixLength}`;
    if (text === spec.address) {
      present = true;
      continue;
    }
    const ip = parseIP(address.address);
    // flanneld removes every other address of the cluster network (an old pod CIDR).
    if (ip && cidrContains(spec.network, ip)) {
      kernel.deleteAddress(link.index, text);
      actions.push(`removed old address ${text}`);
      changes.add("address");
    }
  }
  if (!present) {
    kernel.addAddress(link.index, spec.address);
    actions.push(`address ${spec.address} added`);
    changes.add("address");
  }
}

/** Makes the device match `spec`; returns it as read back from the kernel. */
export function ensureDevice(kernel: DeviceKernel, spec: DeviceSpec): DeviceOutcome {
  const actions: string[] = [];
  const changes = new Set<DeviceChange>();
  const failures: string[] = [];
  // One attribute that cannot be set must not keep the others (and the peers) from being fixed.
  const attempt = (what: string, step: () => void) => {
    try {
      step();
    } catch (error) {
      failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  let link = kernel.getLink(spec.name);
  if (link) {
    const reason = incompatibility(link, spec);
    if (reason) {
      kernel.deleteLink(link.index);
      link = create(kernel, spec);
      actions.push(`recreated (${reason}) with MAC ${spec.mac}`);
      changes.add("recreated");
    } else {
      if (link.mtu !== spec.mtu) {
        attempt(`set MTU ${spec.mtu}`, () => {
          kernel.setLinkMtu(link!.index, spec.mtu);
          actions.push(`MTU ${link!.mtu} → ${spec.mtu}`);
          changes.add("mtu");
        });
      }
      if (link.mac !== spec.mac) {
        attempt(`set MAC ${spec.mac}`, () => {
          setMac(kernel, link!, spec.mac);
          actions.push(`MAC ${link!.mac} → ${spec.mac}`);
          changes.add("mac");
        });
      }
      if (actions.length === 0) actions.push("reused unchanged");
    }
  } else {
    link = create(kernel, spec);
    actions.push(`created with MAC ${spec.mac}`);
    changes.add("created");
  }
  const configured = link;
  attempt(
    `address ${spec.address}`,
    () => ensureAddress(kernel, configured, spec, actions, changes),
  );
  if (!link.up || changes.has("mac")) {
    attempt("set link up", () => {
      kernel.setLinkUp(configured.index);
      if (!configured.up) changes.add("up");
    });
  }
  // Read back after link-up: udev or NetworkManager may rewrite the MAC of a new device.
  let current = kernel.getLink(link.index);
  if (current && current.mac !== spec.mac && !failures.some((f) => f.startsWith("set MAC"))) {
    const changed = current;
    actions.push(`MAC changed behind our back to ${changed.mac}; reset to ${spec.mac}`);
    attempt(`set MAC ${spec.mac}`, () => {
      setMac(kernel, changed, spec.mac);
      kernel.setLinkUp(changed.index);
      changes.add("mac");
    });
    current = kernel.getLink(changed.index);
  }
  if (!current) throw new Error(`device ${spec.name} vanished while being configured`);
  if (changes.size > 0 && actions[0] === "reused unchanged") actions.shift();
  return { link: current, actions, changes, failures };
}

/** The device, or undefined when it does not exist. */
export function findDevice(kernel: Pick<Netlink, "getLink">, name: string): Link | undefined {
  try {
    return kernel.getLink(name);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** flanneld turns router advertisements off on the device; failures do not matter. */
export async function disableAcceptRA(name: string): Promise<void> {
  await Deno.writeTextFile(`/proc/sys/net/ipv6/conf/${name}/accept_ra`, "0").catch(() => {});
}

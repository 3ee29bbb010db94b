/**
 * One VXLAN tunnel endpoint of this node: `flannel.<VNI>` for the IPv4 overlay,
 * `flannel-v6.<VNI>` for the IPv6 one. Each has its own kept MAC, lease (pod CIDR and public
 * IP of its family), device and reconciler of the peers' entries of its family; a dual-stack
 * node has both, and they share nothing but the underlay interface.
 *
 * @module
 */
import type { Logger } from "../log/log.ts";
import { type CIDR, formatCIDR, networkAddress } from "../net/cidr.ts";
import { type Family, formatIP } from "../net/ip.ts";
import type { Netlink } from "../netlink/mod.ts";
import {
  type DeviceChange,
  type DeviceSpec,
  disableAcceptRA,
  ensureDevice,
  vxlanMTU,
} from "./device.ts";
import type { PlaneContext } from "./kernel_plane.ts";
import type { Lease } from "./lease.ts";
import type { MacSource } from "./mac_choice.ts";
import type { VxlanBackend } from "./netconf.ts";
import { Reconciler } from "./reconciler.ts";

/** The interface VXLAN packets leave through, and its addresses. */
export interface UnderlayView {
  index: number;
  name: string;
  mtu: number;
  /** Its IPv4 address (the IPv4 VTEP's local address), when the IPv4 overlay runs. */
  address?: string;
  /** Its IPv6 address, when the IPv6 overlay runs. */
  address6?: string;
}

export interface VtepOptions {
  family: Family;
  /** `Network` or `IPv6Network`. */
  network: CIDR;
  backend: VxlanBackend;
  netlink: Netlink;
  log: Logger;
}

/** What configuring the device did. */
export interface DeviceReport {
  changes: Set<DeviceChange>;
  failures: string[];
}

export class Vtep {
  readonly family: Family;
  readonly deviceName: string;
  readonly network: CIDR;
  readonly reconciler: Reconciler;
  readonly #backend: VxlanBackend;
  readonly #netlink: Netlink;
  readonly #log: Logger;
  mac = "";
  macSource: MacSource | undefined;
  lease: Lease | undefined;
  ifindex: number | undefined;

  constructor(options: VtepOptions) {
    this.family = options.family;
    this.network = options.network;
    this.#backend = options.backend;
    this.#netlink = options.netlink;
    this.#log = options.log;
    const vni = options.backend.vni;
    this.deviceName = options.family === 4 ? `flannel.${vni}` : `flannel-v6.${vni}`;
    this.reconciler = new Reconciler(options.netlink, () => this.context(), {
      family: options.family,
      directRouting: options.backend.directRouting,
      log: options.log,
    });
  }

  /** The device is configured and the reconciler may program it. */
  context(): PlaneContext | undefined {
    if (this.ifindex === undefined || !this.lease) return undefined;
    return {
      family: this.family,
      ifindex: this.ifindex,
      network: this.network,
      ownSubnet: formatCIDR(this.lease.podCIDR),
    };
  }

  /** The device's MTU: the backend's (or the underlay's) minus this family's VXLAN overhead. */
  mtu(underlay: UnderlayView): number {
    return vxlanMTU(this.#backend.mtu, underlay, this.family).mtu;
  }

  /** A warning when `Backend.MTU` had to be clamped to what the underlay carries. */
  mtuWarning(underlay: UnderlayView): string | undefined {
    return vxlanMTU(this.#backend.mtu, underlay, this.family).warning;
  }

  spec(underlay: UnderlayView): DeviceSpec {
    const local = this.family === 4 ? underlay.address : underlay.address6;
    if (local === undefined) {
      throw new Error(`the underlay ${underlay.name} has no IPv${this.family} address`);
    }
    const bits = this.family === 4 ? 32 : 128;
    return {
      name: this.deviceName,
      mac: this.mac,
      mtu: this.mtu(underlay),
      vni: this.#backend.vni,
      port: this.#backend.port,
      local,
      underlay: underlay.index,
      learning: this.#backend.learning,
      gbp: this.#backend.gbp,
      address: `${formatIP(networkAddress(this.lease!.podCIDR))}/${bits}`,
      network: this.network,
    };
  }

  /** Makes the device match; logs what it did. Throws when the device cannot be made at all. */
  configure(underlay: UnderlayView): DeviceReport {
    const outcome = ensureDevice(this.#netlink, this.spec(underlay));
    this.ifindex = outcome.link.index;
    for (const failure of outcome.failures) {
      this.#log.error("cannot set an attribute of the VXLAN device; will retry", {
        device: this.deviceName,
        failure,
      });
    }
    if (outcome.changes.size > 0) {
      this.#log.info("VXLAN device configured", {
        device: this.deviceName,
        actions: outcome.actions.join("; "),
      });
      disableAcceptRA(this.deviceName);
    }
    return { changes: outcome.changes, failures: outcome.failures };
  }

  /** The device's MTU as the kernel has it, or what it should be. */
  currentMtu(underlay: UnderlayView): number {
    const link = this.ifindex === undefined ? undefined : this.#netlink.getLink(this.ifindex);
    return link?.mtu ?? this.mtu(underlay);
  }
}

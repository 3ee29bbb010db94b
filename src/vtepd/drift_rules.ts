/**
 * Which kernel changes may have undone something keepnet-vtepd owns, and so call for a repair
 * pass: anything about one of its VXLAN devices (deleted, MAC, MTU or up-state changed), a
 * neighbour or FDB entry of such a device, and a route through it or via a peer's public IP.
 * Changes the daemon made itself (the kernel stamps them with its netlink port) and changes
 * elsewhere (pods coming and going on the CNI bridge, ARP churn on the LAN) are not.
 *
 * @module
 */
import type { Family } from "../net/ip.ts";
import { IFF_UP, type KernelChange } from "../netlink/mod.ts";

/** One of the daemon's VXLAN devices, as it should be. */
export interface OwnedDevice {
  family: Family;
  /** Undefined while the device does not exist. */
  ifindex: number | undefined;
  name: string;
  mac: string;
  mtu: number;
}

export interface OwnedByDaemon {
  devices: OwnedDevice[];
  /** The daemon's netlink request socket port: changes stamped with it are its own. */
  localPort: number;
  /** Public IPs of known peers, both families (DirectRouting routes go via them). */
  peerGateways: ReadonlySet<string>;
}

/** Why `change` calls for a repair, or undefined when it cannot affect the daemon's entries. */
export function repairReason(change: KernelChange, owned: OwnedByDaemon): string | undefined {
  if (change.senderPort !== 0 && change.senderPort === owned.localPort) return undefined;
  const device = owned.devices.find((candidate) =>
    candidate.ifindex !== undefined && change.ifindex === candidate.ifindex
  );
  switch (change.kind) {
    case "link": {
      const named = device ?? owned.devices.find((candidate) => candidate.name === change.name);
      if (!named) return undefined;
      if (change.action === "del") return `device ${named.name} deleted`;
      if (!device) return `device ${named.name} re-created by someone else`;
      if (change.mac !== undefined && change.mac !== device.mac) {
        return `${device.name} MAC changed to ${change.mac}`;
      }
      if (change.mtu !== undefined && change.mtu !== device.mtu) {
        return `${device.name} MTU changed to ${change.mtu}`;
      }
      if ((change.flags & IFF_UP) === 0) return `${device.name} set down`;
      return undefined;
    }
    case "neighbour":
      if (!device || change.family !== device.family) return undefined;
      return `neighbour ${change.ip} ${change.action === "del" ? "deleted" : "changed"}`;
    case "fdb":
      if (!device) return undefined;
      return `FDB entry ${change.mac} ${change.action === "del" ? "deleted" : "changed"}`;
    case "route": {
      const ours = (device !== undefined && device.family === change.family) ||
        (change.gateway !== undefined && owned.peerGateways.has(change.gateway));
      if (!ours) return undefined;
      return `route ${change.dst} ${change.action === "del" ? "deleted" : "changed"}`;
    }
  }
}

/**
 * Which kernel changes may have undone something keepnet-vtepd owns, and so call for a repair
 * pass: anything about its VXLAN device (deleted, MAC, MTU or up-state changed), a neighbour or
 * FDB entry of that device, and a route through the device or via a peer's public IP. Changes the
 * daemon made itself (the kernel stamps them with its netlink port) and changes elsewhere (pods
 * coming and going on the CNI bridge, ARP churn on the LAN) are not.
 *
 * @module
 */
import { IFF_UP, type KernelChange } from "../netlink/mod.ts";

export interface OwnedByDaemon {
  /** The VXLAN device's index and name (undefined while it does not exist). */
  ifindex: number | undefined;
  deviceName: string;
  mac: string;
  mtu: number;
  /** The daemon's netlink request socket port: changes stamped with it are its own. */
  localPort: number;
  /** Public IPs of known peers (DirectRouting routes go via them). */
  peerGateways: ReadonlySet<string>;
}

/** Why `change` calls for a repair, or undefined when it cannot affect the daemon's entries. */
export function repairReason(change: KernelChange, owned: OwnedByDaemon): string | undefined {
  if (change.senderPort !== 0 && change.senderPort === owned.localPort) return undefined;
  const onDevice = owned.ifindex !== undefined && change.ifindex === owned.ifindex;
  switch (change.kind) {
    case "link": {
      if (!onDevice && change.name !== owned.deviceName) return undefined;
      if (change.action === "del") return `device ${owned.deviceName} deleted`;
      if (!onDevice) return `device ${owned.deviceName} re-created by someone else`;
      if (change.mac !== undefined && change.mac !== owned.mac) {
        return `device MAC changed to ${change.mac}`;
      }
      if (change.mtu !== undefined && change.mtu !== owned.mtu) {
        return `device MTU changed to ${change.mtu}`;
      }
      if ((change.flags & IFF_UP) === 0) return "device set down";
      return undefined;
    }
    case "neighbour":
      if (!onDevice || change.family !== 4) return undefined;
      return `neighbour ${change.ip} ${change.action === "del" ? "deleted" : "changed"}`;
    case "fdb":
      if (!onDevice) return undefined;
      return `FDB entry ${change.mac} ${change.action === "del" ? "deleted" : "changed"}`;
    case "route": {
      if (change.family !== 4) return undefined;
      const ours = onDevice ||
        (change.gateway !== undefined && owned.peerGateways.has(change.gateway));
      if (!ours) return undefined;
      return `route ${change.dst} ${change.action === "del" ? "deleted" : "changed"}`;
    }
  }
}

/**
 * Kernel change notifications as plain values, and the pure parser that reads them out of the
 * datagrams an rtnetlink multicast socket receives (`monitor.ts` does the I/O).
 *
 * A datagram holds one or more netlink messages: a 16-byte `nlmsghdr`, a family header
 * (`ifinfomsg`, `ndmsg` or `rtmsg`) and attributes (`struct rtattr`: 16-bit length and type,
 * padded to 4 bytes), all in host byte order except the addresses. Only link, neighbour/FDB and
 * route messages become changes; any other message type, a family other than the ones below, a
 * message too short for its header, an attribute running past its message, or a message without
 * the attributes its kind needs is skipped, never thrown. A length that runs past the datagram
 * ends the datagram: nothing after it can be framed.
 *
 * IPv6 text needs `loadIPv6()` (src/net/ip.ts) to have been awaited first.
 *
 * @module
 */
import { type Family, formatIP } from "../net/ip.ts";
import { macFromBytes } from "../net/mac.ts";
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  IFLA_ADDRESS,
  IFLA_IFNAME,
  IFLA_MTU,
  NDA_DST,
  NDA_LLADDR,
  NLA_TYPE_MASK,
  NLMSG_HDRLEN,
  RTA_DST,
  RTA_GATEWAY,
  RTA_OIF,
  RTA_TABLE,
  RTM_DELLINK,
  RTM_DELNEIGH,
  RTM_DELROUTE,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWROUTE,
} from "./constants.ts";
import { bytesToIP, familyOfAf } from "./nladdr.ts";

export type ChangeAction = "new" | "del";

interface ChangeBase {
  /** `new` for RTM_NEW* (created or changed), `del` for RTM_DEL*. */
  action: ChangeAction;
  /**
   * The notification's `nlmsg_pid`: the port id of the netlink socket whose request caused the
   * change, for the kinds the kernel fills it in for (see monitor.ts), otherwise 0.
   */
  senderPort: number;
}

/** RTM_NEWLINK / RTM_DELLINK. A MAC or MTU change arrives as `new` with the new values. */
export interface LinkChange extends ChangeBase {
  kind: "link";
  ifindex: number;
  name?: string;
  /** `IFLA_ADDRESS` as colon-separated hex (six octets for Ethernet devices). */
  mac?: string;
  mtu?: number;
  /** `IFF_*` flags. */
  flags: number;
}

/** RTM_NEWNEIGH / RTM_DELNEIGH of an ARP (IPv4) or NDP (IPv6) entry. */
export interface NeighbourChange extends ChangeBase {
  kind: "neighbour";
  family: Family;
  ifindex: number;
  ip: string;
  /** Absent while unresolved (INCOMPLETE, FAILED) and in most deletions. */
  mac?: string;
  /** `NUD_*` state bits. */
  state: number;
  /** `NTF_*` flags. */
  flags: number;
}

/** RTM_NEWNEIGH / RTM_DELNEIGH of a forwarding-database entry (family AF_BRIDGE). */
export interface FdbChange extends ChangeBase {
  kind: "fdb";
  ifindex: number;
  mac: string;
  /** Remote VTEP address (`NDA_DST`) of a VXLAN entry. */
  dst?: string;
  state: number;
  flags: number;
}

/** RTM_NEWROUTE / RTM_DELROUTE. */
export interface RouteChange extends ChangeBase {
  kind: "route";
  family: Family;
  /** Destination prefix, e.g. `10.244.2.0/24`; `0.0.0.0/0` or `::/0` for a default route. */
  dst: string;
  /** Top-level `RTA_GATEWAY` (absent for multipath routes, whose nexthops are not parsed). */
  gateway?: string;
  /** Top-level `RTA_OIF` (absent for multipath routes). */
  ifindex?: number;
  /** `RTA_TABLE`, or `rtm_table` when the attribute is absent. */
  table: number;
  /** `rtm_flags`: `RTM_F_*`, and for a single nexthop its `RTNH_F_*` (0x4 RTNH_F_ONLINK). */
  flags: number;
}

export type KernelChange = LinkChange | NeighbourChange | FdbChange | RouteChange;

const IFINFOMSG_LENGTH = 16;
const NDMSG_LENGTH = 12;
const RTMSG_LENGTH = 12;
const RTATTR_HEADER_LENGTH = 4;
const MAC_LENGTH = 6;

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function align4(length: number): number {
  return (length + 3) & ~3;
}

/** One netlink message's payload, with typed reads in host byte order. */
class Payload {
  readonly #view: DataView;
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.#bytes.length;
  }
  u8(offset: number): number {
    return this.#view.getUint8(offset);
  }
  u16(offset: number): number {
    return this.#view.getUint16(offset, HOST_IS_LITTLE_ENDIAN);
  }
  u32(offset: number): number {
    return this.#view.getUint32(offset, HOST_IS_LITTLE_ENDIAN);
  }
  i32(offset: number): number {
    return this.#view.getInt32(offset, HOST_IS_LITTLE_ENDIAN);
  }

  /**
   * The attributes after a family header of `headerLength` bytes, by type (the first of each
   * type wins, as in the kernel's own parsers); undefined when one runs past the message.
   */
  attributes(headerLength: number): Map<number, Uint8Array> | undefined {
    const found = new Map<number, Uint8Array>();
    let offset = align4(headerLength);
    while (offset + RTATTR_HEADER_LENGTH <= this.length) {
      const length = this.u16(offset);
      const type = this.u16(offset + 2) & NLA_TYPE_MASK;
      if (length < RTATTR_HEADER_LENGTH || offset + length > this.length) return undefined;
      if (!found.has(type)) {
        found.set(type, this.#bytes.subarray(offset + RTATTR_HEADER_LENGTH, offset + length));
      }
      offset += align4(length);
    }
    return found;
  }
}

function u32Of(value: Uint8Array | undefined): number | undefined {
  if (value === undefined || value.length < 4) return undefined;
  return new DataView(value.buffer, value.byteOffset, 4).getUint32(0, HOST_IS_LITTLE_ENDIAN);
}

/** A NUL-terminated string attribute. */
function textOf(value: Uint8Array | undefined): string | undefined {
  if (value === undefined) return undefined;
  const end = value.indexOf(0);
  return new TextDecoder().decode(end < 0 ? value : value.subarray(0, end));
}

function ipText(bytes: Uint8Array | undefined, family: Family): string | undefined {
  if (bytes === undefined) return undefined;
  const ip = bytesToIP(bytes, family);
  return ip ? formatIP(ip) : undefined;
}

function macText(bytes: Uint8Array | undefined): string | undefined {
  return bytes !== undefined && bytes.length === MAC_LENGTH ? macFromBytes(bytes) : undefined;
}

function parseLink(payload: Payload, action: ChangeAction, senderPort: number) {
  if (payload.length < IFINFOMSG_LENGTH) return undefined;
  // AF_BRIDGE link messages describe bridge ports, not devices.
  if (payload.u8(0) !== AF_UNSPEC) return undefined;
  const attributes = payload.attributes(IFINFOMSG_LENGTH);
  if (attributes === undefined) return undefined;
  const change: LinkChange = {
    kind: "link",
    action,
    ifindex: payload.i32(4),
    flags: payload.u32(8),
    senderPort,
  };
  const name = textOf(attributes.get(IFLA_IFNAME));
  if (name !== undefined) change.name = name;
  const address = attributes.get(IFLA_ADDRESS);
  if (address !== undefined && address.length > 0) change.mac = macFromBytes(address);
  const mtu = u32Of(attributes.get(IFLA_MTU));
  if (mtu !== undefined) change.mtu = mtu;
  return change;
}

function parseNeighbour(payload: Payload, action: ChangeAction, senderPort: number) {
  if (payload.length < NDMSG_LENGTH) return undefined;
  const af = payload.u8(0);
  const attributes = payload.attributes(NDMSG_LENGTH);
  if (attributes === undefined) return undefined;
  const ifindex = payload.i32(4);
  const state = payload.u16(8);
  const flags = payload.u8(10);
  const mac = macText(attributes.get(NDA_LLADDR));

  if (af === AF_BRIDGE) {
    if (mac === undefined) return undefined;
    const change: FdbChange = { kind: "fdb", action, ifindex, mac, state, flags, senderPort };
    const dstBytes = attributes.get(NDA_DST);
    const dst = dstBytes !== undefined && dstBytes.length > 0
      ? ipText(dstBytes, dstBytes.length === 4 ? 4 : 6)
      : undefined;
    if (dst !== undefined) change.dst = dst;
    return change;
  }

  const family = familyOfAf(af);
  if (family === undefined) return undefined;
  const dst = attributes.get(NDA_DST);
  if (dst === undefined || dst.length !== (family === 4 ? 4 : 16)) return undefined;
  const ip = ipText(dst, family);
  if (ip === undefined) return undefined;
  const change: NeighbourChange = {
    kind: "neighbour",
    action,
    family,
    ifindex,
    ip,
    state,
    flags,
    senderPort,
  };
  if (mac !== undefined) change.mac = mac;
  return change;
}

function parseRoute(payload: Payload, action: ChangeAction, senderPort: number) {
  if (payload.length < RTMSG_LENGTH) return undefined;
  const af = payload.u8(0);
  if (af !== AF_INET && af !== AF_INET6) return undefined;
  const family: Family = af === AF_INET ? 4 : 6;
  const addressLength = family === 4 ? 4 : 16;
  const prefixLength = payload.u8(1);
  if (prefixLength > addressLength * 8) return undefined;
  const attributes = payload.attributes(RTMSG_LENGTH);
  if (attributes === undefined) return undefined;

  // No RTA_DST: the default route (a zero-length prefix).
  const dstBytes = attributes.get(RTA_DST) ?? new Uint8Array(0);
  if (dstBytes.length !== 0 && dstBytes.length !== addressLength) return undefined;
  const dstIP = ipText(dstBytes, family);
  if (dstIP === undefined) return undefined;
  const change: RouteChange = {
    kind: "route",
    action,
    family,
    dst: `${dstIP}/${prefixLength}`,
    table: u32Of(attributes.get(RTA_TABLE)) ?? payload.u8(4),
    flags: payload.u32(8),
    senderPort,
  };
  const gatewayBytes = attributes.get(RTA_GATEWAY);
  if (gatewayBytes !== undefined && gatewayBytes.length === addressLength) {
    const gateway = ipText(gatewayBytes, family);
    if (gateway !== undefined) change.gateway = gateway;
  }
  const ifindex = u32Of(attributes.get(RTA_OIF));
  if (ifindex !== undefined) change.ifindex = ifindex;
  return change;
}

function parseMessage(type: number, payload: Payload, senderPort: number) {
  switch (type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
      return parseLink(payload, type === RTM_NEWLINK ? "new" : "del", senderPort);
    case RTM_NEWNEIGH:
    case RTM_DELNEIGH:
      return parseNeighbour(payload, type === RTM_NEWNEIGH ? "new" : "del", senderPort);
    case RTM_NEWROUTE:
    case RTM_DELROUTE:
      return parseRoute(payload, type === RTM_NEWROUTE ? "new" : "del", senderPort);
    default:
      return undefined;
  }
}

/**
 * The link, neighbour, FDB and route changes in one received datagram, in order. Never throws
 * for malformed input: what cannot be read is skipped (see the module comment).
 */
export function parseKernelChanges(datagram: Uint8Array): KernelChange[] {
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const changes: KernelChange[] = [];
  let offset = 0;
  while (offset + NLMSG_HDRLEN <= datagram.length) {
    const length = view.getUint32(offset, HOST_IS_LITTLE_ENDIAN);
    if (length < NLMSG_HDRLEN || offset + length > datagram.length) break;
    const type = view.getUint16(offset + 4, HOST_IS_LITTLE_ENDIAN);
    const senderPort = view.getUint32(offset + 12, HOST_IS_LITTLE_ENDIAN);
    const payload = new Payload(datagram.subarray(offset + NLMSG_HDRLEN, offset + length));
    try {
      const change = parseMessage(type, payload, senderPort);
      if (change !== undefined) changes.push(change);
    } catch (error) {
      // A read past the end of a short value: skip the message. Anything else is a bug.
      if (!(error instanceof RangeError)) throw error;
    }
    offset += align4(length);
  }
  return changes;
}

/**
 * Kernel and libnl constants keepnet's netlink binding uses, with the values of the Linux UAPI
 * headers (`linux/netlink.h`, `linux/rtnetlink.h`, `linux/neighbour.h`, `linux/if.h`) and libnl.
 * They are part of the kernel ABI, so they never change.
 *
 * @module
 */

/** Address families (`sys/socket.h`). */
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;
/** libnl's family for link-layer (MAC) addresses. */
export const AF_LLC = 26;

/** `NETLINK_ROUTE`, the rtnetlink protocol of `nl_connect`. */
export const NETLINK_ROUTE = 0;

/** Request flags (`linux/netlink.h`). */
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;

/** libnl callback kinds and actions (`netlink/handlers.h`). */
export const NL_CB_CUSTOM = 3;
export const NL_STOP = 2;

/** Link flags (`linux/if.h`). */
export const IFF_UP = 0x1;

/** Neighbour states and flags (`linux/neighbour.h`). */
export const NUD_PERMANENT = 0x80;
export const NTF_SELF = 0x02;

/** Route tables, protocols, scopes and nexthop flags (`linux/rtnetlink.h`). */
export const RT_TABLE_UNSPEC = 0;
export const RT_TABLE_MAIN = 254;
export const RTPROT_UNSPEC = 0;
/** What `ip route` and flannel (through vishvananda/netlink) put on the routes they add. */
export const RTPROT_BOOT = 3;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
/** In a delete request: match routes of any scope. */
export const RT_SCOPE_NOWHERE = 255;
export const RTNH_F_ONLINK = 0x4;

/** libnl's VXLAN flag for the group-based-policy extension (`netlink/route/link/vxlan.h`). */
export const RTNL_LINK_VXLAN_F_GBP = 1 << 0;

/** Largest VXLAN network identifier (24 bits). */
export const VXLAN_ID_MAX = 0xffffff;

/** Longest interface name the kernel accepts (IFNAMSIZ − 1). */
export const IFNAME_MAX_LENGTH = 15;

/** Operational states (RFC 2863, `linux/if.h` IF_OPER_*), spelled as iproute2 prints them. */
export const OPER_STATES = [
  "UNKNOWN",
  "NOTPRESENT",
  "DOWN",
  "LOWERLAYERDOWN",
  "TESTING",
  "DORMANT",
  "UP",
] as const;

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
/** `RTN_*` route types. */
export const RTN_UNSPEC = 0;
export const RTN_UNICAST = 1;
export const RTN_BLACKHOLE = 6;
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

/** rtnetlink multicast groups (`enum rtnetlink_groups`) a monitor can join. */
export const RTNLGRP_LINK = 1;
export const RTNLGRP_NEIGH = 3;
export const RTNLGRP_IPV4_ROUTE = 7;
export const RTNLGRP_IPV6_ROUTE = 11;

/** Netlink message types (`linux/netlink.h`, `linux/rtnetlink.h`). */
export const NLMSG_HDRLEN = 16;
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;

/** Attribute types: `IFLA_*` (`linux/if_link.h`), `NDA_*`, `RTA_*`. */
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const NDA_DST = 1;
export const NDA_LLADDR = 2;
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_TABLE = 15;
/** The attribute-type bits without NLA_F_NESTED and NLA_F_NET_BYTEORDER. */
export const NLA_TYPE_MASK = 0x3fff;

/**
 * The libnl-3 and libnl-route-3 functions keepnet calls, with their C signatures, and the loader.
 *
 * The libraries are opened by soname, so the dynamic linker finds them on any architecture; that
 * needs unscoped `--allow-ffi` (a scoped flag resolves a bare name against the working directory
 * and refuses it). Every symbol here exists in libnl 3.7.0 (Debian 12) except those marked
 * `optional`, which are absent from older releases.
 *
 * @module
 */
import { LibnlLoadError } from "./errors.ts";

const CORE_SYMBOLS = {
  nl_socket_alloc: { parameters: [], result: "pointer" },
  nl_socket_free: { parameters: ["pointer"], result: "void" },
  nl_connect: { parameters: ["pointer", "i32"], result: "i32" },
  nl_socket_set_msg_buf_size: { parameters: ["pointer", "usize"], result: "i32" },
  nl_socket_enable_msg_peek: { parameters: ["pointer"], result: "void" },
  nl_socket_disable_msg_peek: { parameters: ["pointer"], result: "void" },
  // (sock, enum nl_cb_kind, nl_recvmsg_err_cb_t, void *arg)
  nl_socket_modify_err_cb: {
    parameters: ["pointer", "i32", "function", "pointer"],
    result: "i32",
  },
  nl_geterror: { parameters: ["i32"], result: "pointer" },
  nl_socket_get_local_port: { parameters: ["pointer"], result: "u32" },
  // For the notification socket (monitor.ts).
  nl_socket_disable_seq_check: { parameters: ["pointer"], result: "void" },
  // (sock, group): the one-group form; nl_socket_add_memberships is variadic.
  nl_socket_add_membership: { parameters: ["pointer", "i32"], result: "i32" },
  nl_socket_set_nonblocking: { parameters: ["pointer"], result: "i32" },
  nl_socket_get_fd: { parameters: ["pointer"], result: "i32" },

  // (family, const void *buf, size_t size) → new nl_addr, reference count 1
  nl_addr_build: { parameters: ["i32", "buffer", "usize"], result: "pointer" },
  nl_addr_put: { parameters: ["pointer"], result: "void" },
  nl_addr_get_len: { parameters: ["pointer"], result: "u32" },
  nl_addr_get_binary_addr: { parameters: ["pointer"], result: "pointer" },
  nl_addr_get_prefixlen: { parameters: ["pointer"], result: "u32" },
  nl_addr_set_prefixlen: { parameters: ["pointer", "i32"], result: "void" },

  // (const char *kind, struct nl_cache **result)
  nl_cache_alloc_name: { parameters: ["buffer", "buffer"], result: "i32" },
  nl_cache_set_arg1: { parameters: ["pointer", "i32"], result: "void" },
  nl_cache_refill: { parameters: ["pointer", "pointer"], result: "i32" },
  nl_cache_free: { parameters: ["pointer"], result: "void" },
  nl_cache_get_first: { parameters: ["pointer"], result: "pointer" },
  nl_cache_get_next: { parameters: ["pointer"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

const ROUTE_SYMBOLS = {
  // Links
  rtnl_link_alloc: { parameters: [], result: "pointer" },
  rtnl_link_vxlan_alloc: { parameters: [], result: "pointer" },
  rtnl_link_put: { parameters: ["pointer"], result: "void" },
  rtnl_link_alloc_cache: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  // (sock, ifindex, const char *name, struct rtnl_link **result)
  rtnl_link_get_kernel: {
    parameters: ["pointer", "i32", "buffer", "buffer"],
    result: "i32",
  },
  rtnl_link_add: { parameters: ["pointer", "pointer", "i32"], result: "i32" },
  // (sock, orig, changes, flags)
  rtnl_link_change: {
    parameters: ["pointer", "pointer", "pointer", "i32"],
    result: "i32",
  },
  rtnl_link_delete: { parameters: ["pointer", "pointer"], result: "i32" },
  rtnl_link_set_name: { parameters: ["pointer", "buffer"], result: "void" },
  rtnl_link_set_ifindex: { parameters: ["pointer", "i32"], result: "void" },
  rtnl_link_set_addr: { parameters: ["pointer", "pointer"], result: "void" },
  rtnl_link_set_mtu: { parameters: ["pointer", "u32"], result: "void" },
  rtnl_link_set_flags: { parameters: ["pointer", "u32"], result: "void" },
  rtnl_link_unset_flags: { parameters: ["pointer", "u32"], result: "void" },
  rtnl_link_get_ifindex: { parameters: ["pointer"], result: "i32" },
  rtnl_link_get_name: { parameters: ["pointer"], result: "pointer" },
  rtnl_link_get_type: { parameters: ["pointer"], result: "pointer" },
  rtnl_link_get_addr: { parameters: ["pointer"], result: "pointer" },
  rtnl_link_get_mtu: { parameters: ["pointer"], result: "u32" },
  rtnl_link_get_flags: { parameters: ["pointer"], result: "u32" },
  rtnl_link_get_operstate: { parameters: ["pointer"], result: "u8" },
  rtnl_link_get_master: { parameters: ["pointer"], result: "i32" },

  // VXLAN attributes of a link
  rtnl_link_is_vxlan: { parameters: ["pointer"], result: "i32" },
  rtnl_link_vxlan_set_id: { parameters: ["pointer", "u32"], result: "i32" },
  rtnl_link_vxlan_get_id: { parameters: ["pointer", "buffer"], result: "i32" },
  // Host byte order: libnl converts.
  rtnl_link_vxlan_set_port: { parameters: ["pointer", "u32"], result: "i32" },
  rtnl_link_vxlan_get_port: { parameters: ["pointer", "buffer"], result: "i32" },
  rtnl_link_vxlan_set_local: { parameters: ["pointer", "pointer"], result: "i32" },
  // Builds a new nl_addr the caller must put.
  rtnl_link_vxlan_get_local: { parameters: ["pointer", "buffer"], result: "i32" },
  rtnl_link_vxlan_set_link: { parameters: ["pointer", "u32"], result: "i32" },
  rtnl_link_vxlan_get_link: { parameters: ["pointer", "buffer"], result: "i32" },
  rtnl_link_vxlan_set_learning: { parameters: ["pointer", "u8"], result: "i32" },
  rtnl_link_vxlan_get_learning: { parameters: ["pointer"], result: "i32" },
  // libnl has no rtnl_link_vxlan_set_gbp; GBP is one of these flags (libnl ≥ 3.2.28).
  rtnl_link_vxlan_set_flags: {
    parameters: ["pointer", "u32", "i32"],
    result: "i32",
    optional: true,
  },
  rtnl_link_vxlan_get_flags: {
    parameters: ["pointer", "buffer"],
    result: "i32",
    optional: true,
  },

  // Addresses
  rtnl_addr_alloc: { parameters: [], result: "pointer" },
  rtnl_addr_put: { parameters: ["pointer"], result: "void" },
  rtnl_addr_alloc_cache: { parameters: ["pointer", "buffer"], result: "i32" },
  rtnl_addr_add: { parameters: ["pointer", "pointer", "i32"], result: "i32" },
  rtnl_addr_delete: { parameters: ["pointer", "pointer", "i32"], result: "i32" },
  rtnl_addr_set_ifindex: { parameters: ["pointer", "i32"], result: "void" },
  rtnl_addr_set_local: { parameters: ["pointer", "pointer"], result: "i32" },
  rtnl_addr_get_ifindex: { parameters: ["pointer"], result: "i32" },
  rtnl_addr_get_family: { parameters: ["pointer"], result: "i32" },
  rtnl_addr_get_local: { parameters: ["pointer"], result: "pointer" },
  rtnl_addr_get_prefixlen: { parameters: ["pointer"], result: "i32" },
  rtnl_addr_get_scope: { parameters: ["pointer"], result: "i32" },
  rtnl_addr_get_flags: { parameters: ["pointer"], result: "u32" },

  // Neighbours and FDB entries
  rtnl_neigh_alloc: { parameters: [], result: "pointer" },
  rtnl_neigh_put: { parameters: ["pointer"], result: "void" },
  rtnl_neigh_add: { parameters: ["pointer", "pointer", "i32"], result: "i32" },
  rtnl_neigh_delete: { parameters: ["pointer", "pointer", "i32"], result: "i32" },
  rtnl_neigh_set_ifindex: { parameters: ["pointer", "i32"], result: "void" },
  rtnl_neigh_set_dst: { parameters: ["pointer", "pointer"], result: "i32" },
  rtnl_neigh_set_lladdr: { parameters: ["pointer", "pointer"], result: "void" },
  rtnl_neigh_set_state: { parameters: ["pointer", "i32"], result: "void" },
  rtnl_neigh_set_flags: { parameters: ["pointer", "u32"], result: "void" },
  rtnl_neigh_set_family: { parameters: ["pointer", "i32"], result: "void" },
  rtnl_neigh_get_ifindex: { parameters: ["pointer"], result: "i32" },
  rtnl_neigh_get_family: { parameters: ["pointer"], result: "i32" },
  rtnl_neigh_get_dst: { parameters: ["pointer"], result: "pointer" },
  rtnl_neigh_get_lladdr: { parameters: ["pointer"], result: "pointer" },
  rtnl_neigh_get_state: { parameters: ["pointer"], result: "i32" },
  rtnl_neigh_get_flags: { parameters: ["pointer"], result: "u32" },

  // Routes and their nexthops
  rtnl_route_alloc: { parameters: [], result: "pointer" },
  rtnl_route_put: { parameters: ["pointer"], result: "void" },
  rtnl_route_alloc_cache: {
    parameters: ["pointer", "i32", "i32", "buffer"],
    result: "i32",
  },
  rtnl_route_add: { parameters: ["pointer", "pointer", "i32"], result: "i32" },
  rtnl_route_delete: { parameters: ["pointer", "pointer", "i32"], result: "i32" },
  // (sock, dst, struct rtnl_route **result): one RTM_GETROUTE, as `ip route get`.
  rtnl_route_lookup: { parameters: ["pointer", "pointer", "buffer"], result: "i32" },
  rtnl_route_set_dst: { parameters: ["pointer", "pointer"], result: "i32" },
  rtnl_route_set_table: { parameters: ["pointer", "u32"], result: "void" },
  rtnl_route_set_scope: { parameters: ["pointer", "u8"], result: "void" },
  rtnl_route_set_protocol: { parameters: ["pointer", "u8"], result: "void" },
  rtnl_route_set_priority: { parameters: ["pointer", "u32"], result: "void" },
  // Takes ownership of the nexthop: it is freed with the route.
  rtnl_route_add_nexthop: { parameters: ["pointer", "pointer"], result: "void" },
  rtnl_route_get_family: { parameters: ["pointer"], result: "u8" },
  rtnl_route_get_dst: { parameters: ["pointer"], result: "pointer" },
  rtnl_route_get_pref_src: { parameters: ["pointer"], result: "pointer" },
  rtnl_route_get_table: { parameters: ["pointer"], result: "u32" },
  rtnl_route_get_scope: { parameters: ["pointer"], result: "u8" },
  rtnl_route_get_protocol: { parameters: ["pointer"], result: "u8" },
  rtnl_route_get_type: { parameters: ["pointer"], result: "u8" },
  rtnl_route_get_flags: { parameters: ["pointer"], result: "u32" },
  rtnl_route_get_priority: { parameters: ["pointer"], result: "u32" },
  rtnl_route_get_nnexthops: { parameters: ["pointer"], result: "i32" },
  rtnl_route_nexthop_n: { parameters: ["pointer", "i32"], result: "pointer" },
  rtnl_route_nh_alloc: { parameters: [], result: "pointer" },
  rtnl_route_nh_free: { parameters: ["pointer"], result: "void" },
  rtnl_route_nh_set_ifindex: { parameters: ["pointer", "i32"], result: "void" },
  rtnl_route_nh_set_gateway: { parameters: ["pointer", "pointer"], result: "void" },
  rtnl_route_nh_set_flags: { parameters: ["pointer", "u32"], result: "void" },
  rtnl_route_nh_get_ifindex: { parameters: ["pointer"], result: "i32" },
  rtnl_route_nh_get_gateway: { parameters: ["pointer"], result: "pointer" },
  rtnl_route_nh_get_flags: { parameters: ["pointer"], result: "u32" },
} as const satisfies Deno.ForeignLibraryInterface;

export type CoreSymbols = Deno.DynamicLibrary<typeof CORE_SYMBOLS>["symbols"];
export type RouteSymbols = Deno.DynamicLibrary<typeof ROUTE_SYMBOLS>["symbols"];

/** Both libraries' symbols, in one namespace as in C. */
export type Libnl = CoreSymbols & RouteSymbols;

export interface LibnlPaths {
  /** Default `libnl-3.so.200`. */
  core: string;
  /** Default `libnl-route-3.so.200`. */
  route: string;
}

export const DEFAULT_LIBNL_PATHS: Readonly<LibnlPaths> = {
  core: "libnl-3.so.200",
  route: "libnl-route-3.so.200",
};

const DEBIAN_PACKAGES = "libnl-3-200 and libnl-route-3-200";

function open<S extends Deno.ForeignLibraryInterface>(
  path: string,
  symbols: S,
): Deno.DynamicLibrary<S> {
  try {
    return Deno.dlopen(path, symbols);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new LibnlLoadError(
      `Cannot load ${path} (install the Debian packages ${DEBIAN_PACKAGES}): ${reason}`,
      { cause: error },
    );
  }
}

let shared: Libnl | undefined;

/**
 * Opens libnl-3 and libnl-route-3. The default libraries are opened once per process and stay
 * open (symbols die with the library, and sockets may outlive any one caller); other paths, for
 * tests, are opened afresh on every call.
 */
export function loadLibnl(paths: LibnlPaths = DEFAULT_LIBNL_PATHS): Libnl {
  const isDefault = paths.core === DEFAULT_LIBNL_PATHS.core &&
    paths.route === DEFAULT_LIBNL_PATHS.route;
  if (isDefault && shared) return shared;
  const core = open(paths.core, CORE_SYMBOLS);
  let route: Deno.DynamicLibrary<typeof ROUTE_SYMBOLS>;
  try {
    route = open(paths.route, ROUTE_SYMBOLS);
  } catch (error) {
    core.close();
    throw error;
  }
  const libnl: Libnl = { ...core.symbols, ...route.symbols };
  if (isDefault) shared = libnl;
  return libnl;
}

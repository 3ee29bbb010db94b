/**
 * `openKernelMonitor()`: kernel change notifications (links, neighbours, FDB entries, routes)
 * from an rtnetlink multicast subscription, so a daemon can repair drift as it happens.
 *
 * ```ts
 * using monitor = openKernelMonitor();
 * for (;;) {
 *   const batch = await monitor.next();
 *   if (batch === "closed") break;
 *   if (batch === "overrun") { resyncEverything(); continue; }
 *   for (const change of batch) inspect(change);
 * }
 * ```
 *
 * How it waits: the libnl socket is non-blocking; `next()` first reads whatever is queued, and
 * only when nothing is it waits for readability with `ppoll` on Deno's blocking thread pool (a
 * nonblocking FFI call, with every signal blocked so it never returns early for one), on the
 * socket and on an eventfd that `close()` writes to. The JS thread never blocks, and an idle
 * monitor costs nothing: no timer, no busy loop, one pool thread asleep in the kernel. Datagrams
 * are read on the JS thread with `recv(MSG_DONTWAIT)` into one reused buffer and parsed by
 * `changes.ts`. A pending `next()` keeps the process alive, as any pending I/O does.
 *
 * Overrun: when the socket's receive buffer overflowed, the kernel dropped notifications and
 * reports ENOBUFS once; `next()` then discards what is queued (the caller is about to re-read the
 * kernel's state, which covers it) and returns `"overrun"`, and carries on after that. A datagram
 * larger than the read buffer is reported the same way (its change is lost) and the buffer grows.
 * The receive buffer is 4 MiB by default (SO_RCVBUFFORCE, past `net.core.rmem_max`, as root), so
 * a daemon that programs thousands of entries synchronously does not overrun its own monitor.
 *
 * `senderPort` (the notification's `nlmsg_pid`), as measured on Linux 6.18 by
 * tests/netlink/monitor_test.ts: it is the port of the socket whose request caused the change
 * (`Netlink.localPort()` for our own) for neighbours added or replaced and for routes added,
 * replaced or deleted. It is 0 for every link notification (creation included: they come from
 * device events), for FDB entries (the VXLAN driver notifies on its own), for routes the kernel
 * makes itself, and for neighbour deletions: deleting an entry first sends an RTM_NEWNEIGH in
 * state NUD_FAILED that carries the port, then the RTM_DELNEIGH with 0 when the entry is freed.
 *
 * Silent removals: when a device goes down or away the kernel drops its IPv4 routes without any
 * RTM_DELROUTE (IPv6 routes and neighbours do get notifications), so a `link` change of one's
 * own device must be taken as "its routes may be gone".
 *
 * @module
 */
import { loadIPv6 } from "../net/ip.ts";
import { type KernelChange, parseKernelChanges } from "./changes.ts";
import {
  NETLINK_ROUTE,
  RTNLGRP_IPV4_ROUTE,
  RTNLGRP_IPV6_ROUTE,
  RTNLGRP_LINK,
  RTNLGRP_NEIGH,
} from "./constants.ts";
import { errnoName, NetlinkError } from "./errors.ts";
import { DEFAULT_LIBNL_PATHS, type Libnl, type LibnlPaths, loadLibnl } from "./library.ts";
import {
  EAGAIN,
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EINTR,
  ENOBUFS,
  errno,
  type Libc,
  loadLibc,
  MSG_DONTWAIT,
  MSG_TRUNC,
  POLLIN,
  setIntSocketOption,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SOL_SOCKET,
} from "./libc.ts";

/** The rtnetlink groups a monitor can subscribe to. */
export const MONITOR_GROUPS = {
  "link": RTNLGRP_LINK,
  "neigh": RTNLGRP_NEIGH,
  "ipv4-route": RTNLGRP_IPV4_ROUTE,
  "ipv6-route": RTNLGRP_IPV6_ROUTE,
} as const;

export type MonitorGroup = keyof typeof MONITOR_GROUPS;

export interface KernelMonitorOptions {
  /** Library files to load instead of the sonames (tests). */
  libraries?: LibnlPaths;
  /** Default: all four. `neigh` carries both neighbour (ARP/NDP) and FDB changes. */
  groups?: readonly MonitorGroup[];
  /**
   * Socket receive buffer in bytes (the kernel doubles it for its bookkeeping and enforces a
   * minimum of a few KiB). Default 4 MiB.
   */
  receiveBufferSize?: number;
}

export interface KernelMonitor extends Disposable {
  /**
   * The next batch of changes (never empty), in the order the kernel sent them; `"overrun"` when
   * the kernel dropped notifications, so the caller must re-read everything; `"closed"` once
   * `close()` was called. One call at a time: a second call while one waits throws.
   */
  next(): Promise<KernelChange[] | "overrun" | "closed">;
  /**
   * Stops the monitor: a waiting `next()` resolves with `"closed"` at once, and the socket and
   * eventfd are freed (when the waiting thread has returned). Safe to call twice.
   */
  close(): void;
}

const DEFAULT_RECEIVE_BUFFER_SIZE = 4 * 1024 * 1024;
/** Ordinary notifications are well under a page; link messages of NICs with many VFs are not. */
const INITIAL_READ_BUFFER_SIZE = 64 * 1024;
/** Datagrams read per batch, so a flood cannot hold the JS thread for long. */
const MAX_DATAGRAMS_PER_BATCH = 512;
const POLLFD_COUNT = 2;
/** glibc's sigset_t (1024 bits), all set: ppoll runs with every signal blocked. */
const ALL_SIGNALS = new Uint8Array(128).fill(0xff);

function nextPowerOfTwo(value: number): number {
  return 2 ** Math.ceil(Math.log2(value));
}

class LibnlKernelMonitor implements KernelMonitor {
  readonly #lib: Libnl;
  readonly #libc: Libc;
  #socket: Deno.PointerObject | null;
  readonly #fd: number;
  readonly #wakeFd: number;
  /** Two `struct pollfd` (int fd; short events; short revents): the socket, the eventfd. */
  readonly #pollSet = new ArrayBuffer(8 * POLLFD_COUNT);
  #readBuffer = new Uint8Array(INITIAL_READ_BUFFER_SIZE);
  #closed = false;
  /** A next() call is in progress. */
  #busy = false;
  /** A ppoll is running on a pool thread: the file descriptors must stay open until it returns. */
  #polling = false;

  constructor(lib: Libnl, libc: Libc, socket: Deno.PointerObject, fd: number, wakeFd: number) {
    this.#lib = lib;
    this.#libc = libc;
    this.#socket = socket;
    this.#fd = fd;
    this.#wakeFd = wakeFd;
    const fds = new Int32Array(this.#pollSet);
    const shorts = new Int16Array(this.#pollSet);
    fds[0] = fd;
    shorts[2] = POLLIN;
    fds[2] = wakeFd;
    shorts[6] = POLLIN;
  }

  async next(): Promise<KernelChange[] | "overrun" | "closed"> {
    if (this.#closed) return "closed";
    if (this.#busy) {
      throw new Error("KernelMonitor.next() is already waiting; await it before calling again");
    }
    this.#busy = true;
    try {
      // Notifications carry IPv6 addresses (link-local routes, NDP) however the caller is set up.
      await loadIPv6();
      while (!this.#closed) {
        const batch = this.#drain();
        if (batch === "overrun" || batch.length > 0) return batch;
        await this.#waitReadable();
      }
      return "closed";
    } finally {
      this.#busy = false;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // The pool thread still polls the descriptors: wake it; it frees them once it is out.
    if (this.#polling) this.#wake();
    else this.#free();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async #waitReadable(): Promise<void> {
    this.#polling = true;
    let ready: number;
    try {
      ready = await this.#libc.ppoll(this.#pollSet, BigInt(POLLFD_COUNT), null, ALL_SIGNALS);
    } finally {
      this.#polling = false;
      if (this.#closed) this.#free();
    }
    // With every signal blocked ppoll cannot fail with EINTR; anything else is fatal.
    if (ready < 0 && !this.#closed) {
      throw new Error("ppoll on the kernel monitor's socket failed");
    }
  }

  /** Reads every queued datagram (up to a batch) without waiting. */
  #drain(): KernelChange[] | "overrun" {
    const changes: KernelChange[] = [];
    let overrun = false;
    for (let i = 0; i < MAX_DATAGRAMS_PER_BATCH; i++) {
      const buffer = this.#readBuffer;
      // MSG_TRUNC: the datagram's real length, even when it did not fit.
      const received = Number(
        this.#libc.recv(this.#fd, buffer, BigInt(buffer.length), MSG_DONTWAIT | MSG_TRUNC),
      );
      if (received < 0) {
        const error = errno(this.#libc);
        if (error === ENOBUFS) {
          overrun = true;
          continue;
        }
        if (error === EAGAIN || error === EINTR) break;
        throw new Error(`recv on the kernel monitor's socket failed: ${errnoName(error)}`);
      }
      if (received > buffer.length) {
        this.#readBuffer = new Uint8Array(nextPowerOfTwo(received));
        overrun = true;
        continue;
      }
      // After an overrun the caller re-reads everything: what is queued needs no parsing.
      if (!overrun) {
        for (const change of parseKernelChanges(buffer.subarray(0, received))) {
          changes.push(change);
        }
      }
    }
    return overrun ? "overrun" : changes;
  }

  #wake(): void {
    this.#libc.write(this.#wakeFd, BigUint64Array.of(1n), 8n);
  }

  #free(): void {
    if (this.#socket === null) return;
    this.#lib.nl_socket_free(this.#socket);
    this.#socket = null;
    this.#libc.close(this.#wakeFd);
  }
}

function requireGroups(groups: readonly MonitorGroup[]): [MonitorGroup, number][] {
  if (!Array.isArray(groups) || groups.length === 0) {
    throw new TypeError(
      `monitor groups must be a non-empty list of ${Object.keys(MONITOR_GROUPS).join(", ")}`,
    );
  }
  return groups.map((group) => {
    const ids: Readonly<Record<string, number>> = MONITOR_GROUPS;
    const id = Object.hasOwn(ids, group) ? ids[group] : undefined;
    if (id === undefined) {
      throw new TypeError(
        `unknown monitor group ${JSON.stringify(group)} (expected one of ` +
          `${Object.keys(MONITOR_GROUPS).join(", ")})`,
      );
    }
    return [group, id];
  });
}

function requireBufferSize(size: number): number {
  if (!Number.isSafeInteger(size) || size <= 0 || size > 0x3fffffff) {
    throw new TypeError(`receiveBufferSize must be a positive integer of bytes, got ${size}`);
  }
  return size;
}

function check(lib: Libnl, operation: string, result: number): void {
  if (result >= 0) return;
  const text = lib.nl_geterror(-result);
  throw new NetlinkError({
    operation,
    libnlCode: -result,
    libnlMessage: text === null ? "Unknown error" : Deno.UnsafePointerView.getCString(text),
  });
}

/**
 * Subscribes to kernel change notifications of the network namespace the calling thread is in.
 * Throws LibnlLoadError when libnl or the C library is missing, NetlinkError when the socket
 * cannot be set up, TypeError for bad options.
 */
export function openKernelMonitor(options: KernelMonitorOptions = {}): KernelMonitor {
  const groups = requireGroups(options.groups ?? Object.keys(MONITOR_GROUPS) as MonitorGroup[]);
  const bufferSize = requireBufferSize(
    options.receiveBufferSize ?? DEFAULT_RECEIVE_BUFFER_SIZE,
  );
  const lib = loadLibnl(options.libraries ?? DEFAULT_LIBNL_PATHS);
  const libc = loadLibc();
  const socket = lib.nl_socket_alloc();
  if (socket === null) throw new RangeError("libnl could not allocate a socket (out of memory)");
  let wakeFd = -1;
  try {
    // Notifications carry sequence numbers of other sockets' requests.
    lib.nl_socket_disable_seq_check(socket);
    check(lib, "connect the monitor socket", lib.nl_connect(socket, NETLINK_ROUTE));
    for (const [name, id] of groups) {
      check(lib, `join rtnetlink group ${name}`, lib.nl_socket_add_membership(socket, id));
    }
    check(lib, "make the monitor socket non-blocking", lib.nl_socket_set_nonblocking(socket));
    const fd = lib.nl_socket_get_fd(socket);
    // SO_RCVBUFFORCE needs CAP_NET_ADMIN; without it SO_RCVBUF, capped at rmem_max.
    if (!setIntSocketOption(libc, fd, SOL_SOCKET, SO_RCVBUFFORCE, bufferSize)) {
      setIntSocketOption(libc, fd, SOL_SOCKET, SO_RCVBUF, bufferSize);
    }
    wakeFd = libc.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wakeFd < 0) throw new Error(`eventfd failed: ${errnoName(errno(libc))}`);
    return new LibnlKernelMonitor(lib, libc, socket, fd, wakeFd);
  } catch (error) {
    lib.nl_socket_free(socket);
    if (wakeFd >= 0) libc.close(wakeFd);
    throw error;
  }
}

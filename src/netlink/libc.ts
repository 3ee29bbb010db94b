/**
 * The few C library calls the kernel monitor makes itself: waiting for readability off the JS
 * thread (`ppoll` as a nonblocking FFI call), an eventfd to cut that wait short, and
 * non-blocking `recv` of notification datagrams (libnl's own receive path mallocs a buffer for
 * every datagram). glibc only, as every supported target.
 *
 * @module
 */
import { LibnlLoadError } from "./errors.ts";

const LIBC_SYMBOLS = {
  // (struct pollfd *fds, nfds_t nfds, const struct timespec *timeout, const sigset_t *sigmask)
  // Runs on Deno's blocking thread pool and returns a Promise.
  ppoll: {
    parameters: ["buffer", "u64", "pointer", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  // (unsigned int initval, int flags)
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  // (int fd, void *buf, size_t len, int flags)
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  // (int fd, int level, int name, const void *value, socklen_t length)
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  // (int fd, int level, int name, void *value, socklen_t *length)
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  // (size_t pad) Returns free heap memory to the kernel, in every malloc arena.
  malloc_trim: { parameters: ["usize"], result: "i32" },
  // The calling thread's errno.
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

export type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

export const LIBC_PATH = "libc.so.6";

/** `poll.h` events. */
export const POLLIN = 0x1;
/** `sys/eventfd.h` flags (octal 04000 and 02000000). */
export const EFD_NONBLOCK = 0x800;
export const EFD_CLOEXEC = 0x80000;
/** `sys/socket.h`. */
export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
/** SO_RCVBUF past `net.core.rmem_max`; needs CAP_NET_ADMIN. */
export const SO_RCVBUFFORCE = 33;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
/** errnos (`asm-generic/errno*.h`). */
export const EINTR = 4;
export const EAGAIN = 11;
export const ENOBUFS = 105;

let shared: Libc | undefined;

/** Opens the C library once per process (symbols die with the library, so it stays open). */
export function loadLibc(): Libc {
  if (shared) return shared;
  try {
    shared = Deno.dlopen(LIBC_PATH, LIBC_SYMBOLS).symbols;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new LibnlLoadError(`Cannot load ${LIBC_PATH} (glibc): ${reason}`, { cause: error });
  }
  return shared;
}

/** The calling thread's errno: read it right after the failed call, on the same thread. */
export function errno(libc: Libc): number {
  const location = libc.__errno_location();
  return location === null ? 0 : new Deno.UnsafePointerView(location).getInt32();
}

/** Reads an `int` socket option; undefined when getsockopt fails. */
export function intSocketOption(
  libc: Libc,
  fd: number,
  level: number,
  name: number,
): number | undefined {
  const value = new Int32Array(1);
  const length = Uint32Array.of(4);
  return libc.getsockopt(fd, level, name, value, length) === 0 ? value[0] : undefined;
}

/** Sets an `int` socket option; false when setsockopt fails. */
export function setIntSocketOption(
  libc: Libc,
  fd: number,
  level: number,
  name: number,
  value: number,
): boolean {
  return libc.setsockopt(fd, level, name, Int32Array.of(value), 4) === 0;
}

/**
 * systemd's readiness protocol (`Type=notify`): one datagram per state change, `READY=1`,
 * `STOPPING=1`, `STATUS=…` lines, sent to the Unix datagram socket named by `$NOTIFY_SOCKET` (a
 * path, or `@name` in the abstract namespace). It is one `sendto(2)`, made here through the C
 * library: Deno's own Unix datagram sockets still need an unstable flag, and the daemon already
 * has FFI. Without `$NOTIFY_SOCKET` (not under systemd) nothing is sent.
 *
 * @module
 */

const SYMBOLS = {
  // (int domain, int type, int protocol)
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // (int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen)
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0x80000;
const MSG_NOSIGNAL = 0x4000;
/** `sizeof(struct sockaddr_un)`: a 2-byte family and a 108-byte path. */
const SOCKADDR_UN_SIZE = 110;
const PATH_OFFSET = 2;

export interface Notifier {
  /** Sends `READY=1`, `STOPPING=1`, `STATUS=…` (several lines allowed). */
  notify(state: string): void;
  close(): void;
}

/**
 * `struct sockaddr_un` for `$NOTIFY_SOCKET` and its length, or an error message. An abstract
 * name (`@…`) has a leading NUL and no terminating one.
 */
export function notifyAddress(socket: string): { address: Uint8Array; length: number } | string {
  const abstract = socket.startsWith("@");
  if (!abstract && !socket.startsWith("/")) {
    return `NOTIFY_SOCKET ${JSON.stringify(socket)} is neither an absolute path nor @abstract`;
  }
  const name = new TextEncoder().encode(abstract ? socket.slice(1) : socket);
  const used = abstract ? 1 + name.length : name.length + 1;
  if (used > SOCKADDR_UN_SIZE - PATH_OFFSET) return `NOTIFY_SOCKET ${socket} is too long`;
  const address = new Uint8Array(SOCKADDR_UN_SIZE);
  new DataView(address.buffer).setUint16(0, AF_UNIX, true);
  address.set(name, PATH_OFFSET + (abstract ? 1 : 0));
  return { address, length: PATH_OFFSET + used };
}

/** A notifier for `$NOTIFY_SOCKET`, or undefined when there is none. Throws on a bad value. */
export function openNotifier(socket: string | undefined): Notifier | undefined {
  if (socket === undefined || socket === "") return undefined;
  const target = notifyAddress(socket);
  if (typeof target === "string") throw new Error(target);
  const library = Deno.dlopen("libc.so.6", SYMBOLS);
  const libc = library.symbols;
  const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    library.close();
    throw new Error(`cannot open a socket for NOTIFY_SOCKET (errno ${errnoOf(libc)})`);
  }
  let open = true;
  return {
    notify(state: string): void {
      if (!open) return;
      const bytes = new TextEncoder().encode(state);
      const sent = libc.sendto(
        fd,
        bytes,
        BigInt(bytes.length),
        MSG_NOSIGNAL,
        target.address,
        target.length,
      );
      if (Number(sent) < 0) {
        throw new Error(`cannot notify systemd at ${socket} (errno ${errnoOf(libc)})`);
      }
    },
    close(): void {
      if (!open) return;
      open = false;
      libc.close(fd);
      library.close();
    },
  };
}

function errnoOf(libc: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"]): number {
  const location = libc.__errno_location();
  return location === null ? 0 : new Deno.UnsafePointerView(location).getInt32();
}

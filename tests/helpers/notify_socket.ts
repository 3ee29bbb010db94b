/**
 * A stand-in for systemd's notification socket: a Unix datagram socket bound to a path (or an
 * abstract `@name`), whose datagrams the test reads as they come. Made with the C library, as
 * the daemon's sender is (Deno's Unix datagram sockets still need an unstable flag).
 *
 * @module
 */
import { notifyAddress } from "../../src/vtepd/sd_notify.ts";

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0x800;
const SOCK_CLOEXEC = 0x80000;

export interface NotifySocket extends Disposable {
  /** The value for $NOTIFY_SOCKET. */
  readonly name: string;
  /** Datagrams received so far, each with when it was read (performance.now()). */
  readonly received: { text: string; at: number }[];
  /** Reads whatever has arrived; returns the new datagrams. */
  poll(): string[];
  /** Polls every 5 ms until a datagram contains `line`; returns that datagram. */
  waitFor(line: string, timeoutMs?: number, onPoll?: () => void): Promise<string>;
}

export function openNotifySocket(name: string): NotifySocket {
  const target = notifyAddress(name);
  if (typeof target === "string") throw new Error(target);
  const library = Deno.dlopen("libc.so.6", SYMBOLS);
  const libc = library.symbols;
  const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || libc.bind(fd, target.address, target.length) !== 0) {
    if (fd >= 0) libc.close(fd);
    library.close();
    throw new Error(`cannot bind a notification socket at ${name}`);
  }
  const buffer = new Uint8Array(4096);
  const received: { text: string; at: number }[] = [];
  const socket: NotifySocket = {
    name,
    received,
    poll() {
      const fresh: string[] = [];
      for (;;) {
        const length = Number(libc.recv(fd, buffer, BigInt(buffer.length), 0));
        if (length < 0) break;
        const text = new TextDecoder().decode(buffer.subarray(0, length));
        received.push({ text, at: performance.now() });
        fresh.push(text);
      }
      return fresh;
    },
    async waitFor(line, timeoutMs = 20_000, onPoll) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const text of socket.poll()) {
          if (text.split("\n").includes(line)) return text;
        }
        onPoll?.();
        if (Date.now() > deadline) {
          throw new Error(`no ${line} on ${name}; got ${JSON.stringify(received)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    [Symbol.dispose]() {
      libc.close(fd);
      library.close();
      if (!name.startsWith("@")) {
        try {
          Deno.removeSync(name);
        } catch {
          // already gone
        }
      }
    },
  };
  return socket;
}

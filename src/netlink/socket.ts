/**
 * One rtnetlink socket (`struct nl_sock`) and the error capture every request goes through.
 *
 * libnl is not thread-safe and all calls here are synchronous on the JS thread, so one socket
 * serves one caller at a time. libnl reduces kernel errnos to NLE_* codes and loses most of
 * them, so a custom error callback records the errno of each NLMSG_ERROR reply and returns
 * NL_STOP, which leaves libnl's own return value unchanged.
 *
 * @module
 */
import { NETLINK_ROUTE, NL_CB_CUSTOM, NL_STOP } from "./constants.ts";
import { NetlinkError } from "./errors.ts";
import type { Libnl } from "./library.ts";

const RECEIVE_BUFFER_SIZE = 32768;

const ERROR_CALLBACK = {
  // (struct sockaddr_nl *who, struct nlmsgerr *error, void *arg) → NL_OK/NL_SKIP/NL_STOP
  parameters: ["pointer", "pointer", "pointer"],
  result: "i32",
} as const;

export class NetlinkSocket {
  readonly lib: Libnl;
  #socket: Deno.PointerObject | null;
  // Kept referenced while the socket lives: libnl calls it from inside our requests.
  #errorCallback: Deno.UnsafeCallback<typeof ERROR_CALLBACK>;
  #kernelErrno = 0;

  constructor(lib: Libnl) {
    this.lib = lib;
    const socket = lib.nl_socket_alloc();
    if (socket === null) throw new RangeError("libnl could not allocate a socket (out of memory)");
    this.#errorCallback = new Deno.UnsafeCallback(ERROR_CALLBACK, (_who, error) => {
      // struct nlmsgerr starts with `int error`, the negated errno.
      if (error !== null) this.#kernelErrno = -new Deno.UnsafePointerView(error).getInt32(0);
      return NL_STOP;
    });
    try {
      this.#check("connect rtnetlink socket", lib.nl_connect(socket, NETLINK_ROUTE));
      // Acknowledgements are small: read each with one recvmsg into a fixed buffer instead of
      // a MSG_PEEK to size the buffer first (a third fewer syscalls on the hot path). Replies
      // that can be large go through `requestLarge`, which peeks.
      this.#check(
        "size the netlink receive buffer",
        lib.nl_socket_set_msg_buf_size(socket, BigInt(RECEIVE_BUFFER_SIZE)),
      );
      lib.nl_socket_disable_msg_peek(socket);
      this.#check(
        "install the netlink error callback",
        lib.nl_socket_modify_err_cb(socket, NL_CB_CUSTOM, this.#errorCallback.pointer, null),
      );
    } catch (error) {
      lib.nl_socket_free(socket);
      this.#errorCallback.close();
      throw error;
    }
    this.#socket = socket;
  }

  /** The live `struct nl_sock *`; throws once closed. */
  get pointer(): Deno.PointerObject {
    if (this.#socket === null) throw new Error("The netlink socket is closed");
    return this.#socket;
  }

  /**
   * Runs one libnl call that talks to the kernel and returns its (non-negative) result; a
   * negative result throws a NetlinkError with the kernel's errno when the kernel sent one.
   */
  request(operation: string, call: (socket: Deno.PointerObject) => number): number {
    const socket = this.pointer;
    this.#kernelErrno = 0;
    return this.#check(operation, call(socket));
  }

  /**
   * `request` for calls whose replies can be large (dumps, link reads: a NIC with many VFs can
   * exceed any fixed buffer): libnl peeks at each message and sizes its buffer to fit.
   */
  requestLarge(operation: string, call: (socket: Deno.PointerObject) => number): number {
    const socket = this.pointer;
    this.lib.nl_socket_enable_msg_peek(socket);
    try {
      return this.request(operation, call);
    } finally {
      this.lib.nl_socket_disable_msg_peek(socket);
    }
  }

  /** Turns the result of a local libnl call (a setter) into an exception when negative. */
  check(operation: string, result: number): number {
    this.#kernelErrno = 0;
    return this.#check(operation, result);
  }

  #check(operation: string, result: number): number {
    if (result >= 0) return result;
    const libnlCode = -result;
    const text = this.lib.nl_geterror(libnlCode);
    throw new NetlinkError({
      operation,
      libnlCode,
      libnlMessage: text === null ? "Unknown error" : Deno.UnsafePointerView.getCString(text),
      kernelErrno: this.#kernelErrno > 0 ? this.#kernelErrno : undefined,
    });
  }

  /** The socket's netlink port id (its bound `nl_pid`); throws once closed. */
  localPort(): number {
    return this.lib.nl_socket_get_local_port(this.pointer);
  }

  /** Frees the socket (closing its file descriptor). Safe to call twice. */
  close(): void {
    if (this.#socket === null) return;
    this.lib.nl_socket_free(this.#socket);
    this.#socket = null;
    // Only now can libnl no longer call it.
    this.#errorCallback.close();
  }
}

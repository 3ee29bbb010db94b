/**
 * Errors of the netlink binding. libnl folds many kernel errnos into one NLE_* code (ENETUNREACH
 * and others all become "Unspecific failure"), so the socket captures the kernel's own errno from
 * the NLMSG_ERROR reply and every failure carries both.
 *
 * @module
 */

/** libnl's NLE_* codes (`netlink/errno.h`) that callers or the errno fallback care about. */
export const NLE = {
  FAILURE: 1,
  INTR: 2,
  BAD_SOCK: 3,
  AGAIN: 4,
  NOMEM: 5,
  EXIST: 6,
  INVAL: 7,
  RANGE: 8,
  MSGSIZE: 9,
  OPNOTSUPP: 10,
  AF_NOSUPPORT: 11,
  OBJ_NOTFOUND: 12,
  NOATTR: 13,
  MISSING_ATTR: 14,
  AF_MISMATCH: 15,
  MSG_TRUNC: 18,
  NOADDR: 19,
  BUSY: 25,
  NOACCESS: 27,
  PERM: 28,
  NODEV: 31,
} as const;

/** The kernel errnos the binding names in messages and predicates (`asm-generic/errno*.h`). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ERANGE: 34,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  EHOSTUNREACH: 113,
} as const;

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(Errno).map(([name, value]) => [value, name]),
);

/**
 * The errno that best describes a libnl code when the kernel sent none (libnl refused the
 * request itself, e.g. a family mismatch or an allocation failure).
 */
const ERRNO_OF_LIBNL_CODE = new Map<number, number>([
  [NLE.INTR, Errno.EINTR],
  [NLE.BAD_SOCK, Errno.EBADF],
  [NLE.AGAIN, Errno.EAGAIN],
  [NLE.NOMEM, Errno.ENOMEM],
  [NLE.EXIST, Errno.EEXIST],
  [NLE.INVAL, Errno.EINVAL],
  [NLE.RANGE, Errno.ERANGE],
  [NLE.MSGSIZE, Errno.EMSGSIZE],
  [NLE.MSG_TRUNC, Errno.EMSGSIZE],
  [NLE.OPNOTSUPP, Errno.EOPNOTSUPP],
  [NLE.AF_NOSUPPORT, Errno.EAFNOSUPPORT],
  [NLE.OBJ_NOTFOUND, Errno.ENOENT],
  [NLE.NOADDR, Errno.EADDRNOTAVAIL],
  [NLE.BUSY, Errno.EBUSY],
  [NLE.NOACCESS, Errno.EACCES],
  [NLE.PERM, Errno.EPERM],
  [NLE.NODEV, Errno.ENODEV],
]);

/** `ENOENT`, `EEXIST`, ... or `errno N` for numbers the binding has no name for. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
}

export interface NetlinkErrorDetails {
  /** What was being done, e.g. `create vxlan "flannel.1"`. */
  operation: string;
  /** libnl's code, positive (the library returns it negated). */
  libnlCode: number;
  /** libnl's text for the code (`nl_geterror`). */
  libnlMessage: string;
  /** The kernel's errno from the NLMSG_ERROR reply, positive; undefined when none came. */
  kernelErrno?: number;
}

/** A failed netlink request. */
export class NetlinkError extends Error {
  override readonly name = "NetlinkError";
  /**
   * Positive errno: the kernel's own when it answered with an error (e.g. 17 EEXIST, 19 ENODEV,
   * 101 ENETUNREACH), otherwise the errno closest to libnl's code.
   */
  readonly errno: number;
  /** True when `errno` is the kernel's, false when libnl failed before or without the kernel. */
  readonly fromKernel: boolean;
  readonly libnlCode: number;
  readonly operation: string;

  constructor(details: NetlinkErrorDetails) {
    const fromKernel = details.kernelErrno !== undefined && details.kernelErrno > 0;
    const errno = fromKernel
      ? details.kernelErrno!
      : ERRNO_OF_LIBNL_CODE.get(details.libnlCode) ?? Errno.EINVAL;
    const source = fromKernel ? "kernel" : "libnl";
    super(
      `${details.operation}: ${details.libnlMessage} (${source}: ${errnoName(errno)}, ` +
        `libnl code ${details.libnlCode})`,
    );
    this.errno = errno;
    this.fromKernel = fromKernel;
    this.libnlCode = details.libnlCode;
    this.operation = details.operation;
  }
}

function errnoOf(error: unknown): number | undefined {
  return error instanceof NetlinkError ? error.errno : undefined;
}

/**
 * The thing named does not exist: no such neighbour/FDB entry (ENOENT), route (ESRCH),
 * address (EADDRNOTAVAIL) or device (ENODEV).
 */
export function isNotFound(error: unknown): boolean {
  const errno = errnoOf(error);
  return errno === Errno.ENOENT || errno === Errno.ESRCH || errno === Errno.EADDRNOTAVAIL ||
    errno === Errno.ENODEV;
}

/** The device named by index or name does not exist (ENODEV). */
export function isNoDevice(error: unknown): boolean {
  return errnoOf(error) === Errno.ENODEV;
}

/** The object to create exists already (EEXIST). */
export function isExists(error: unknown): boolean {
  return errnoOf(error) === Errno.EEXIST;
}

/** No route to the destination or gateway (ENETUNREACH, EHOSTUNREACH). */
export function isUnreachable(error: unknown): boolean {
  const errno = errnoOf(error);
  return errno === Errno.ENETUNREACH || errno === Errno.EHOSTUNREACH;
}

/** The shared libraries could not be loaded. */
export class LibnlLoadError extends Error {
  override readonly name = "LibnlLoadError";
}

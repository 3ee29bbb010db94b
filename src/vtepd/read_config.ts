/**
 * Reading the daemon's input files (net-conf.json, the state file, subnet.env, machine-id) with a
 * size limit: a path pointed at /dev/zero or a runaway file costs a bounded amount of memory and
 * fails with a message naming the file and the limit.
 *
 * @module
 */
import { formatByteLimit, isRegularFile, readBounded } from "../fs/bounded_read.ts";

export const NET_CONF_LIMIT = 1024 * 1024;
export const STATE_FILE_LIMIT = 16 * 1024 * 1024;
export const SMALL_FILE_LIMIT = 64 * 1024;

export class FileTooLargeError extends Error {
  override name = "FileTooLargeError";
}

/** The text of `path`, or throws: NotFound as Deno does, FileTooLargeError past `limit`. */
export function readTextBounded(path: string, limit: number, what: string): string {
  if (!isRegularFile(path)) {
    // Deno's own NotFound (or permission) error when it is absent; a device or pipe is refused.
    Deno.statSync(path);
    throw new FileTooLargeError(`${what} ${path} is not a regular file`);
  }
  const read = readBounded(path, limit);
  if (!read.complete) {
    throw new FileTooLargeError(`${what} ${path} is larger than ${formatByteLimit(limit)}`);
  }
  return new TextDecoder().decode(read.bytes);
}

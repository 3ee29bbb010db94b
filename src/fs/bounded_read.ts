/**
 * Reading files whose size we do not control (a path from a config, a file in a directory others
 * can write) without trusting them: at most a given number of bytes is read, so `/dev/zero`, a
 * runaway log or a hostile file costs a bounded amount of memory and time.
 *
 * Synchronous for the same reason as src/fs/atomic.ts: the readers are one-shot processes.
 *
 * @module
 */

/** The first bytes of a file, and whether they are all of it. */
export interface BoundedRead {
  /** At most `limit` bytes. */
  bytes: Uint8Array;
  /** False when the file holds more than `limit` bytes. */
  complete: boolean;
}

const CHUNK = 64 * 1024;

/**
 * Reads up to `limit` bytes of `path` (following symlinks, like any open). Devices and pipes are
 * read too; use `isRegularFile` first where only regular files make sense (opening a FIFO waits
 * for a writer).
 */
export function readBounded(path: string, limit: number): BoundedRead {
  const file = Deno.openSync(path, { read: true });
  try {
    // One byte more than allowed tells a file of exactly `limit` bytes from a longer one.
    const buffer = new Uint8Array(Math.min(limit + 1, CHUNK));
    const chunks: Uint8Array[] = [];
    let size = 0;
    while (size <= limit) {
      const want = Math.min(buffer.length, limit + 1 - size);
      const read = file.readSync(buffer.subarray(0, want));
      if (read === null || read === 0) break;
      chunks.push(buffer.slice(0, read));
      size += read;
    }
    const complete = size <= limit;
    const kept = complete ? size : limit;
    if (chunks.length === 1 && complete) return { bytes: chunks[0]!, complete };
    const bytes = new Uint8Array(kept);
    let offset = 0;
    for (const chunk of chunks) {
      const part = chunk.subarray(0, Math.min(chunk.length, kept - offset));
      bytes.set(part, offset);
      offset += part.length;
      if (offset === kept) break;
    }
    return { bytes, complete };
  } finally {
    file.close();
  }
}

/** True when `path` is (or, through symlinks, leads to) a regular file. */
export function isRegularFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** "64 KiB", "4 MiB": a limit as people read it. */
export function formatByteLimit(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

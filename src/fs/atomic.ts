/**
 * Crash-safe file writes: after a crash or power loss a file written here is either complete or
 * absent (or, when replaced, the complete old version). Data goes to a temporary file in the same
 * directory, is fsync'ed, and only then gets its final name by rename(2) or link(2).
 *
 * @module
 */

/** Prefix of every temporary file; anything that starts with it is a leftover of a crash. */
export const TEMP_PREFIX = ".keepnet-tmp-";

export interface AtomicWriteOptions {
  /** Permission bits of the new file (before umask). Default 0o644. */
  mode?: number;
  /** Also fsync the directory so the new name itself survives a power loss. Default true. */
  syncDirectory?: boolean;
}

const encoder = new TextEncoder();

function dirname(path: string): string {
  const slash = path.lastIndexOf("/");
  if (slash < 0) return ".";
  return slash === 0 ? "/" : path.slice(0, slash);
}

function tempPathFor(path: string): string {
  const random = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36);
  return `${dirname(path)}/${TEMP_PREFIX}${Deno.pid}-${random}`;
}

async function writeTemp(path: string, data: string | Uint8Array, mode: number): Promise<string> {
  const temp = tempPathFor(path);
  const file = await Deno.open(temp, { write: true, createNew: true, mode });
  try {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.syncData();
  } catch (error) {
    file.close();
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  file.close();
  return temp;
}

/** fsync a directory, making renames and links inside it durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

/** Writes `data` to `path`, replacing any existing file atomically. */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const temp = await writeTemp(path, data, options.mode ?? 0o644);
  try {
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  if (options.syncDirectory ?? true) await syncDirectory(dirname(path));
}

/**
 * Creates `path` with `data` only if no file of that name exists, atomically: the name appears
 * with its full content or not at all. Returns false when the name was already taken.
 */
export async function createFileExclusive(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<boolean> {
  const temp = await writeTemp(path, data, options.mode ?? 0o644);
  try {
    await Deno.link(temp, path);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw error;
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
  if (options.syncDirectory ?? true) await syncDirectory(dirname(path));
  return true;
}

/**
 * The crash-safe replace of `atomic.ts` for a long-running process: the same steps (temporary
 * file in the same directory, fsync, rename, fsync of the directory), but each one asynchronous,
 * so a slow or failing disk stalls only the write and never the daemon's event loop — the
 * kernel keeps being repaired and the API kept up with while the disk hangs.
 *
 * @module
 */
import { TEMP_PREFIX } from "./atomic.ts";

function dirname(path: string): string {
  const slash = path.lastIndexOf("/");
  if (slash < 0) return ".";
  return slash === 0 ? "/" : path.slice(0, slash);
}

/** Replaces `path` with `data`: afterwards the file is the new one, or the old one after a crash. */
export async function replaceFileDurably(
  path: string,
  data: string | Uint8Array,
  mode = 0o644,
): Promise<void> {
  const dir = dirname(path);
  const random = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36);
  const temp = `${dir}/${TEMP_PREFIX}${Deno.pid}-${random}`;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode });
    try {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  const directory = await Deno.open(dir, { read: true });
  try {
    await directory.sync();
  } finally {
    directory.close();
  }
}

/**
 * Crash-safe file writes: after a crash or power loss a file written here is either complete or
 * absent (or, when replaced, the complete old version). Data goes to a temporary file in the same
 * directory, is fsync'ed, and only then gets its final name by rename(2) or link(2).
 *
 * The calls are synchronous: the files are small, and keepnet-ipam, a one-shot process on every
 * pod's start-up path, would otherwise start Deno's blocking thread pool just to write them.
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

/** Writes `data` to a new temporary file next to `path`; fsyncs it unless `sync` is false. */
function writeTemp(path: string, data: string | Uint8Array, mode: number, sync = true): string {
  const temp = tempPathFor(path);
  const file = Deno.openSync(temp, { write: true, createNew: true, mode });
  try {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let written = 0;
    while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
    if (sync) file.syncDataSync();
  } catch (error) {
    file.close();
    removeQuietly(temp);
    throw error;
  }
  file.close();
  return temp;
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // A leftover temporary file is removed later by whoever owns the directory.
  }
}

/** fsync a directory, making renames and links inside it durable. */
export function syncDirectory(dir: string): void {
  const handle = Deno.openSync(dir, { read: true });
  try {
    handle.syncSync();
  } finally {
    handle.close();
  }
}

/** Writes `data` to `path`, replacing any existing file atomically. */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): void {
  const temp = writeTemp(path, data, options.mode ?? 0o644);
  try {
    Deno.renameSync(temp, path);
  } catch (error) {
    removeQuietly(temp);
    throw error;
  }
  if (options.syncDirectory ?? true) syncDirectory(dirname(path));
}

/**
 * Creates `path` with `data` only if no file of that name exists, atomically: the name appears
 * with its full content or not at all. Returns false when the name was already taken.
 */
export function createFileExclusive(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): boolean {
  const temp = writeTemp(path, data, options.mode ?? 0o644);
  try {
    Deno.linkSync(temp, path);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw error;
  } finally {
    removeQuietly(temp);
  }
  if (options.syncDirectory ?? true) syncDirectory(dirname(path));
  return true;
}

/**
 * Several replacements made durable together: each `stage` writes a temporary file; `commit`
 * fsyncs them, then renames each over its target. Until `commit` the targets are untouched, so
 * a crash leaves the old versions; afterwards the new ones (fsync the directory to make the
 * names durable too). Staging lets a command write a file more than once (a change and its
 * undo) and pay for one fsync.
 */
export class StagedWrites {
  #temps = new Map<string, string>();
  /** Staged files that are only renamed, not fsync'ed (see `stage`). */
  #hints = new Set<string>();

  /**
   * Stages `data` as the next content of `path` (replacing an earlier stage of it). A `hint` is
   * a file whose readers accept any content (an old version, or an empty file after a power
   * loss): it is renamed into place like the others but not fsync'ed.
   */
  stage(path: string, data: string | Uint8Array, mode = 0o644, hint = false): void {
    this.unstage(path);
    this.#temps.set(path, writeTemp(path, data, mode, false));
    if (hint) this.#hints.add(path);
  }

  /** Drops the staged content of `path`; true when there was one. */
  unstage(path: string): boolean {
    const temp = this.#temps.get(path);
    if (temp === undefined) return false;
    this.#temps.delete(path);
    this.#hints.delete(path);
    removeQuietly(temp);
    return true;
  }

  get size(): number {
    return this.#temps.size;
  }

  /** fsyncs every staged file but hints, then renames each over its target. */
  commit(): void {
    const staged = [...this.#temps];
    const hints = new Set(this.#hints);
    this.#temps.clear();
    this.#hints.clear();
    try {
      for (const [path, temp] of staged) {
        if (hints.has(path)) continue;
        const file = Deno.openSync(temp, { read: true });
        try {
          file.syncDataSync();
        } finally {
          file.close();
        }
      }
      for (const [path, temp] of staged) Deno.renameSync(temp, path);
    } catch (error) {
      for (const [, temp] of staged) removeQuietly(temp);
      throw error;
    }
  }
}

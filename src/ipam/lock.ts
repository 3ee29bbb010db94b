/**
 * The store lock: an exclusive flock(2) on `<network dir>/lock`, the same lock Go's host-local
 * takes (go-filemutex), so keepnet-ipam and host-local exclude each other on one directory.
 * `Deno.FsFile.lock` is flock(2) on Linux.
 *
 * @module
 */
import { goPathError } from "./go_text.ts";

export interface FileLock {
  /** Releases the lock and closes the file. */
  release(): void;
}

const LOCK_FILE_MODE = 0o750;

// Opening is synchronous: it is on every call's start-up path, and a one-shot process gains
// nothing from an async open (which costs several times more).
function openLockFile(path: string): Deno.FsFile {
  try {
    // The usual case: the file exists; open it read-only, as go-filemutex does.
    return Deno.openSync(path, { read: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw goPathError("open", path, error);
  }
  try {
    return Deno.openSync(path, { read: true, write: true, create: true, mode: LOCK_FILE_MODE });
  } catch (error) {
    throw goPathError("open", path, error);
  }
}

function lockPathFor(path: string): string {
  try {
    return Deno.statSync(path).isDirectory ? `${path}/lock` : path;
  } catch (error) {
    throw goPathError("stat", path, error);
  }
}

/**
 * Takes the exclusive lock for `path`, waiting as long as another process holds it. A directory
 * path means `<dir>/lock`; the file is created (mode 0750, never truncated) when missing.
 */
export async function acquireLock(path: string): Promise<FileLock> {
  return await lockFile(lockPathFor(path));
}

/** Takes the exclusive lock on the file at `path` (created, mode 0750, when missing). */
export async function lockFile(path: string): Promise<FileLock> {
  const file = openLockFile(path);
  try {
    await file.lock(true);
  } catch (error) {
    file.close();
    throw goPathError("flock", path, error);
  }
  return {
    release() {
      // Closing the last descriptor drops a flock; unlock first anyway to be explicit.
      try {
        file.unlockSync();
      } finally {
        file.close();
      }
    },
  };
}

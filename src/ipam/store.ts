/**
 * host-local's on-disk store for one network, `<dataDir>/<network>/`, byte-compatible with Go's
 * host-local in both directions:
 *
 *   lock                   flock(2)'ed by every command (see lock.ts)
 *   <ip>                   a reservation: "<containerID>\r\n<ifname>" (legacy: "<containerID>")
 *   last_reserved_ip.<N>   the round-robin cursor of range set N
 *
 * A `NetworkStore` exists only while the lock is held, so it reads the directory once and then
 * keeps that listing (and every file content it read) up to date with its own changes instead
 * of reading again. Every write is atomic (temp file, link or rename) and, unless it is a hint
 * whose every version is valid (the round-robin cursor, a binding's release time), fsync'ed
 * first. A new reservation is linked in place at once (its name is the claim on the IP); files
 * that are replaced (cursors, bindings) are staged and put in place by `close()`, which also
 * fsyncs the directory once when a name must survive a power loss. An ADD waits for three disk
 * flushes (reservation, binding, directory), a DEL for none.
 *
 * Listing, reading and deleting are synchronous on purpose: the plugin is a one-shot process
 * with nothing else to run while it holds the lock, and here an async file operation costs
 * about 100 µs against 15 µs for its sync twin, which adds up over a directory of reservations.
 *
 * @module
 */
import { createFileExclusive, StagedWrites, syncDirectory, TEMP_PREFIX } from "../fs/atomic.ts";
import { readBounded } from "../fs/bounded_read.ts";
import { goQuote } from "../cni/json.ts";
import { formatIP, type IP, loadIPv6, parseIP } from "../net/ip.ts";
import { goJoinPath, goPathError, goTrimSpace, isSystemPathRefusal } from "./go_text.ts";
import { type FileLock, lockFile } from "./lock.ts";
import { parseBindingFileName } from "./bindings.ts";

/** Reservation and cursor files are private to root (host-local ≥ 1.4 writes 0600 too). */
export const STORE_FILE_MODE = 0o600;
const DIRECTORY_MODE = 0o755;
export const LAST_RESERVED_PREFIX = "last_reserved_ip.";

/**
 * The most of a store file that is read. Every file we write is far smaller (a reservation is
 * a container ID of at most MAX_CONTAINER_ID_LENGTH and an interface name; a binding record is
 * about 400 bytes); a larger file is damage, read as unreadable instead of filling memory.
 */
export const STORE_FILE_LIMIT = 64 * 1024;

/** The longest container ID an ADD accepts, so that its reservation can always be read back. */
export const MAX_CONTAINER_ID_LENGTH = 4096;

export interface StoreEntry {
  /** Path below the network directory, "/"-separated; top-level files have no "/". */
  readonly relPath: string;
  /** The last path element. */
  readonly name: string;
  readonly isDirectory: boolean;
  /** A regular file (not a symlink, pipe, socket or device). */
  readonly isFile: boolean;
  readonly isSymlink: boolean;
}

/** What a reservation file holds for an attachment (container ID trimmed, ifname as given). */
export function reservationContent(containerID: string, ifName: string): string {
  return `${goTrimSpace(containerID)}\r\n${ifName}`;
}

function statOrUndefined(path: string, lstat = false): Deno.FileInfo | undefined {
  try {
    return lstat ? Deno.lstatSync(path) : Deno.statSync(path);
  } catch {
    return undefined;
  }
}

/** A file's text: UTF-8, invalid bytes replaced by U+FFFD. */
function decodeText(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/**
 * The content of a store file, or null when it cannot be read, is not a regular file (pipes,
 * devices and sockets are never opened: a pipe would block), or is larger than the limit.
 * A symlink is followed only when `followSymlinks` (host-local's reservations are read through
 * symlinks; our own binding files never are).
 */
function readStoreFile(
  path: string,
  entry: StoreEntry | undefined,
  followSymlinks: boolean,
): string | null {
  if (entry && !entry.isFile) {
    if (!entry.isSymlink || !followSymlinks) return null;
    if (!statOrUndefined(path)?.isFile) return null;
  }
  try {
    const { bytes, complete } = readBounded(path, STORE_FILE_LIMIT);
    return complete ? decodeText(bytes) : null;
  } catch {
    return null;
  }
}

/** Go's `os.MkdirAll(path, 0755)`, with Go's error text (naming the component that failed). */
function mkdirAll(path: string): void {
  let info: Deno.FileInfo | undefined;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    // A path Deno refuses is not "missing": creating it would be refused too.
    if (isSystemPathRefusal(error)) throw goPathError("mkdir", path, error);
  }
  if (info?.isDirectory) return;
  if (info) throw new Error(`mkdir ${path}: not a directory`);
  let end = path.length;
  while (end > 0 && path[end - 1] === "/") end--;
  let start = end;
  while (start > 0 && path[start - 1] !== "/") start--;
  if (start > 1) mkdirAll(path.slice(0, start - 1));
  try {
    Deno.mkdirSync(path, { mode: DIRECTORY_MODE });
  } catch (error) {
    // "foo/." and races with another creator end here with a directory in place.
    if (statOrUndefined(path, true)?.isDirectory) return;
    throw goPathError("mkdir", path, error);
  }
}

export class NetworkStore {
  readonly dir: string;
  #lock: FileLock;
  #entries: Map<string, StoreEntry>;
  #contents = new Map<string, string | null>();
  /** A new name must survive a power loss: fsync the directory at close(). */
  #namesToSync = false;
  #staged = new StagedWrites();

  private constructor(dir: string, lock: FileLock, entries: Map<string, StoreEntry>) {
    this.dir = dir;
    this.#lock = lock;
    this.#entries = entries;
  }

  /**
   * Opens (creating it if needed) and locks the store of `network` under `dataDir`, lists it,
   * and removes temporary files a crashed writer left behind (they only exist under the lock).
   */
  static async open(dataDir: string, network: string): Promise<NetworkStore> {
    const dir = goJoinPath(dataDir, network);
    let lock: FileLock;
    try {
      mkdirAll(dir);
      lock = await lockFile(`${dir}/lock`);
    } catch (error) {
      // Name the key at fault when Deno refuses the path (Go's text is kept otherwise).
      if (!isSystemPathRefusal((error as Error).cause)) throw error;
      throw new Error(`ipam.dataDir ${goQuote(dataDir)}: ${(error as Error).message}`);
    }
    try {
      const entries = new Map<string, StoreEntry>();
      listInto(dir, "", entries);
      const store = new NetworkStore(dir, lock, entries);
      if (store.#mayHoldIPv6()) await loadIPv6();
      for (const entry of [...entries.values()]) {
        if (!entry.relPath.includes("/") && entry.name.startsWith(TEMP_PREFIX)) {
          store.remove(entry.relPath);
        }
      }
      return store;
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  /** Whether an entry's name or a round-robin cursor may hold IPv6 text (see loadIPv6). */
  #mayHoldIPv6(): boolean {
    for (const entry of this.#entries.values()) {
      if (entry.name.includes(":")) return true;
      if (!entry.relPath.includes("/") && entry.name.startsWith(LAST_RESERVED_PREFIX)) {
        if (this.read(entry.relPath)?.includes(":")) return true;
      }
    }
    return false;
  }

  /**
   * Makes our changes durable (staged files, then one directory fsync); releases the lock.
   * Deletions and hints alone do not flush the directory: should a power loss undo them, the
   * store is in the state before the call, which is as valid (a DEL's reservation comes back and
   * is released again by the runtime's next DEL or GC).
   */
  close(): void {
    try {
      if (this.#staged.size > 0) this.#staged.commit();
      if (this.#namesToSync) syncDirectory(this.dir);
    } finally {
      this.#lock.release();
    }
  }

  /** Every entry, files and directories, in Go's `filepath.Walk` order. */
  entries(): StoreEntry[] {
    return [...this.#entries.values()];
  }

  /** The top-level entry called `name`, if it exists. */
  get(name: string): StoreEntry | undefined {
    return this.#entries.get(name);
  }

  pathOf(relPath: string): string {
    return `${this.dir}/${relPath}`;
  }

  /**
   * The file's text, read once; null when it cannot be read, is not a regular file or is
   * larger than STORE_FILE_LIMIT. Symlinks to regular files are followed unless `noSymlinks`.
   */
  read(relPath: string, options: { noSymlinks?: boolean } = {}): string | null {
    const cached = this.#contents.get(relPath);
    if (cached !== undefined) return cached;
    const path = this.pathOf(relPath);
    const content = readStoreFile(path, this.#entries.get(relPath), !options.noSymlinks);
    this.#contents.set(relPath, content);
    return content;
  }

  /** When the entry (not a symlink's target) was last modified, in ms; 0 when unknown. */
  modifiedMs(relPath: string): number {
    return statOrUndefined(this.pathOf(relPath), true)?.mtime?.getTime() ?? 0;
  }

  /**
   * Sets a regular file's modification time (symlinks are left alone, so nothing outside the
   * store is touched). Best effort: false when it could not be set.
   */
  touch(relPath: string, ms: number): boolean {
    if (!this.#entries.get(relPath)?.isFile) return false;
    try {
      const time = new Date(ms);
      Deno.utimeSync(this.pathOf(relPath), time, time);
      return true;
    } catch {
      return false;
    }
  }

  /** Deletes a file; false when it could not be deleted. */
  remove(relPath: string): boolean {
    // A staged file that was never committed has nothing on disk to delete.
    const wasStaged = this.#staged.unstage(this.pathOf(relPath));
    try {
      Deno.removeSync(this.pathOf(relPath));
    } catch (error) {
      if (!(wasStaged && error instanceof Deno.errors.NotFound)) return false;
    }
    this.#forget(relPath);
    return true;
  }

  #forget(relPath: string): void {
    this.#entries.delete(relPath);
    this.#contents.delete(relPath);
  }

  #remember(name: string, content: string, durable: boolean): void {
    this.#entries.set(name, fileEntry(name));
    this.#contents.set(name, content);
    if (durable) this.#namesToSync = true;
  }

  /**
   * Writes a top-level file, replacing any file of that name: staged now, made durable and put
   * in place atomically by `close()`. Reads through this store see the new content at once.
   */
  write(name: string, content: string, options: { hint?: boolean } = {}): void {
    const path = this.pathOf(name);
    // Fail now, not at close(), where the rename over it would: as host-local's open() does.
    if (this.#entries.get(name)?.isDirectory) throw goPathError("open", path, "is a directory");
    try {
      this.#staged.stage(path, content, STORE_FILE_MODE, options.hint);
    } catch (error) {
      throw goPathError("open", path, error);
    }
    this.#remember(name, content, !options.hint);
  }

  /** Creates a top-level file only if the name is free; false when it is taken. */
  create(name: string, content: string): boolean {
    if (this.#entries.has(name)) return false;
    const path = this.pathOf(name);
    let created: boolean;
    try {
      created = createFileExclusive(path, content, {
        mode: STORE_FILE_MODE,
        syncDirectory: false,
      });
    } catch (error) {
      throw goPathError("open", path, error);
    }
    if (created) this.#remember(name, content, true);
    else if (!this.#entries.has(name)) this.#entries.set(name, fileEntry(name));
    return created;
  }

  /**
   * Drops what `write` staged for `name`: the file on disk stays as it was. For undoing the
   * replacement of a file whose old content could not be read.
   */
  discardWrite(name: string): void {
    this.#staged.unstage(this.pathOf(name));
    this.#contents.delete(name);
  }

  /**
   * host-local's `Store.Reserve`: creates the IP's file for the attachment (false if taken),
   * then records the IP as range set `rangeID`'s cursor. Unlike host-local, a failed cursor
   * write also removes the new reservation, so nothing leaks.
   */
  reserve(ip: IP, containerID: string, ifName: string, rangeID: number): boolean {
    const name = formatIP(ip);
    if (!this.create(name, reservationContent(containerID, ifName))) return false;
    try {
      // The cursor is a hint (an unreadable or stale one only restarts the round robin): it is
      // replaced atomically but not fsync'ed, which saves the ADD a disk flush.
      this.write(`${LAST_RESERVED_PREFIX}${rangeID}`, name, { hint: true });
    } catch (error) {
      this.remove(name);
      throw error;
    }
    return true;
  }

  /**
   * `Store.LastReservedIP`: range set `rangeID`'s cursor, or undefined. A read error other than
   * "missing" is passed to `log` (host-local prints it and starts from the beginning).
   */
  lastReservedIP(rangeID: number, log: (message: string) => void): IP | undefined {
    const name = `${LAST_RESERVED_PREFIX}${rangeID}`;
    if (!this.#entries.has(name)) return undefined;
    const path = this.pathOf(name);
    let text: string;
    const written = this.#contents.get(name);
    if (typeof written === "string") return parseIP(written);
    try {
      // A pipe would block the open: only a regular file (or a symlink to one) is read.
      const entry = this.#entries.get(name);
      const target = entry?.isFile ? undefined : statOrUndefined(path);
      if (target && !target.isFile && !target.isDirectory) throw new Error("not a regular file");
      const { bytes, complete } = readBounded(path, STORE_FILE_LIMIT);
      // Longer than any IP text: garbage, like a cursor that does not parse.
      if (!complete) return undefined;
      text = decodeText(bytes);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        log(`Error retrieving last reserved ip: ${goPathError("read", path, error).message}`);
      }
      return undefined;
    }
    // No trimming: host-local ignores a cursor with a trailing newline.
    return parseIP(text);
  }

  /**
   * Files (not directories) whose trimmed content equals `match`, in walk order. Binding files
   * are not read: their content (JSON, or empty from OpenYurt) can never equal a container ID,
   * and skipping them keeps a DEL from reading every pod's binding.
   */
  filesContaining(match: string): StoreEntry[] {
    return this.entries().filter((e) => {
      if (e.isDirectory) return false;
      if (!e.relPath.includes("/") && parseBindingFileName(e.name)) return false;
      const content = this.read(e.relPath);
      return content !== null && goTrimSpace(content) === match;
    });
  }

  /**
   * host-local's `GetByID`: the IPs (from file names, at any depth) of the attachment's files,
   * new format or legacy bare ID, in walk order.
   */
  ipsOf(containerID: string, ifName: string): IP[] {
    const match = reservationContent(containerID, ifName);
    const legacy = goTrimSpace(containerID);
    return this.entries().flatMap((entry) => {
      const ip = entry.isDirectory ? undefined : parseIP(entry.name);
      if (!ip) return [];
      const content = this.read(entry.relPath);
      if (content === null) return [];
      const trimmed = goTrimSpace(content);
      return trimmed === match || trimmed === legacy ? [ip] : [];
    });
  }

  /**
   * host-local's `ReleaseByID`: deletes every file holding the attachment; only if there was
   * none, every file holding the bare container ID (the pre-ifname format). Errors are ignored.
   * Returns the paths deleted.
   */
  releaseByID(containerID: string, ifName: string): string[] {
    const removed: string[] = [];
    for (const entry of this.filesContaining(reservationContent(containerID, ifName))) {
      if (this.remove(entry.relPath)) removed.push(entry.relPath);
    }
    if (removed.length > 0) return removed;
    for (const entry of this.filesContaining(goTrimSpace(containerID))) {
      if (this.remove(entry.relPath)) removed.push(entry.relPath);
    }
    return removed;
  }

  /** host-local's `FindByID`: whether any file holds the attachment (or its bare ID). */
  holds(containerID: string, ifName: string): boolean {
    if (this.filesContaining(reservationContent(containerID, ifName)).length > 0) return true;
    return this.filesContaining(goTrimSpace(containerID)).length > 0;
  }
}

function fileEntry(name: string): StoreEntry {
  return { relPath: name, name, isDirectory: false, isFile: true, isSymlink: false };
}

/** Lists `dir` recursively into `out`, sorted per directory as Go's filepath.Walk visits it. */
function listInto(root: string, prefix: string, out: Map<string, StoreEntry>): void {
  let items: Deno.DirEntry[];
  try {
    items = [...Deno.readDirSync(prefix === "" ? root : `${root}/${prefix}`)];
  } catch {
    return; // host-local's walk skips unreadable directories
  }
  items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const { name, isDirectory, isFile, isSymlink } of items) {
    const relPath = prefix === "" ? name : `${prefix}/${name}`;
    out.set(relPath, { relPath, name, isDirectory, isFile, isSymlink });
    if (isDirectory) listInto(root, relPath, out);
  }
}

/**
 * Runs `work` with the network's store open and locked; on success the changes are made
 * durable before the lock is released, so a result is only printed for what is on disk.
 */
export async function withNetworkStore<T>(
  dataDir: string,
  network: string,
  work: (store: NetworkStore) => T | Promise<T>,
): Promise<T> {
  const store = await NetworkStore.open(dataDir, network);
  let value: T;
  try {
    value = await work(store);
  } catch (error) {
    try {
      store.close();
    } catch {
      // The work's own error is the one to report.
    }
    throw error;
  }
  store.close();
  return value;
}

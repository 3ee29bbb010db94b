/**
 * `keepnet-ipam inspect`: what a network's store says, for a person — which container holds
 * which address, which pod each address is bound to, since when, and until when a released
 * binding is kept. It only reads: no directory, lock or file is created, changed or removed.
 *
 * Consistency: the lock is taken shared for the listing and the reads only (a few ms), so the
 * snapshot is one state between two plugin calls; a plugin call waits that long at most. When
 * the lock is not free within LOCK_WAIT_MS (a call hung while holding it), the store is read
 * without it, which is safe because every file is replaced atomically: each file read is
 * complete, only the set of files may mix the states before and after one call. The report
 * then says so.
 *
 * @module
 */
import { goQuote } from "../cni/json.ts";
import { readBounded } from "../fs/bounded_read.ts";
import { formatIP, type IP, loadIPv6, parseIP } from "../net/ip.ts";
import {
  type Binding,
  decodeBindingContent,
  parseBindingFileName,
  releasedAtMs,
} from "./bindings.ts";
import { goErrnoText, goTrimSpace } from "./go_text.ts";
import { LAST_RESERVED_PREFIX, STORE_FILE_LIMIT } from "./store.ts";

/** How long inspect waits for a plugin call to finish before it reads without the lock. */
export const LOCK_WAIT_MS = 2000;

export interface ReservationView {
  ip: string;
  /** null when the file's content is not `<id>\r\n<ifname>` or a bare ID (see `problem`). */
  containerID: string | null;
  /** null for a legacy bare-ID file (host-local before the interface name was recorded). */
  ifname: string | null;
  problem?: string;
}

export interface BindingView {
  ip: string;
  namespace: string;
  /** The pod's name (from the record; from the file name when there is no record). */
  pod: string;
  uid: string | null;
  ifname: string | null;
  /** The sandbox that holds, or last held, the address (null without a record). */
  containerID: string | null;
  /** "bound": the address is held for the pod; "released": it is free, kept for the pod. */
  state: "bound" | "released";
  /** RFC 3339: when it was bound or released; null when unknown. */
  since: string | null;
  /** RFC 3339: when bindingTTL removes it (released only); null when not known or never. */
  keptUntil: string | null;
  /** "record" (keepnet's JSON), "openyurt" (an empty file), "damaged" (see `problem`). */
  source: "record" | "openyurt" | "damaged";
  problem?: string;
}

export interface NetworkView {
  name: string;
  directory: string;
  /** Go duration text of bindingTTL, "none" when the network has none, null when unknown. */
  bindingTTL: string | null;
  /** Where bindingTTL came from: "--binding-ttl", a CNI config file, or "unknown". */
  bindingTTLSource: string;
  /**
   * "taken": read under the lock (shared); "busy": a call held it past LOCK_WAIT_MS, read
   * without it; "absent": no lock file (no call ever ran here).
   */
  lock: "taken" | "busy" | "absent";
  reservations: ReservationView[];
  bindings: BindingView[];
  /** Files that are neither reservations, bindings nor the store's own files. */
  otherFiles: string[];
}

/** bindingTTL of a network: milliseconds, none, or unknown, and where that came from. */
export interface TTLInfo {
  ms?: number;
  text: string | null;
  source: string;
}

interface Entry {
  name: string;
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
}

/**
 * Takes the network's lock shared, or gives up after LOCK_WAIT_MS ("busy"); never creates the
 * file ("absent" when there is none: no plugin call ever ran here, nothing to wait for).
 */
async function lockShared(dir: string): Promise<Deno.FsFile | "busy" | "absent"> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(`${dir}/lock`, { read: true });
  } catch {
    return "absent";
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = file.lock(false);
  const won = await Promise.race([
    pending.then(() => "locked" as const, () => "failed" as const),
    new Promise<"timeout">((resolve) => {
      timer = setTimeout(resolve, LOCK_WAIT_MS, "timeout");
    }),
  ]);
  clearTimeout(timer);
  if (won === "locked") return file;
  // Should the lock come later, it is dropped at once: nobody waits behind a finished read.
  pending.then(() => file.close(), () => file.close());
  return "busy";
}

function listTopLevel(dir: string): Entry[] {
  const entries = [...Deno.readDirSync(dir)].map(({ name, isFile, isDirectory, isSymlink }) => ({
    name,
    isFile,
    isDirectory,
    isSymlink,
  }));
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A store file's text, or why it cannot be used; symlinks are followed only when allowed. */
function readEntry(
  dir: string,
  entry: Entry,
  followSymlinks: boolean,
): string | { problem: string } {
  const path = `${dir}/${entry.name}`;
  if (!entry.isFile) {
    if (!entry.isSymlink) return { problem: "not a regular file" };
    if (!followSymlinks) return { problem: "a symlink" };
    try {
      if (!Deno.statSync(path).isFile) return { problem: "a symlink to something not a file" };
    } catch (error) {
      return { problem: `a broken symlink (${goErrnoText(error)})` };
    }
  }
  try {
    const { bytes, complete } = readBounded(path, STORE_FILE_LIMIT);
    if (!complete) return { problem: `larger than ${STORE_FILE_LIMIT / 1024} KiB` };
    return new TextDecoder().decode(bytes);
  } catch (error) {
    return { problem: `unreadable (${goErrnoText(error)})` };
  }
}

function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

function reservationView(ip: string, content: string | { problem: string }): ReservationView {
  if (typeof content !== "string") return { ip, containerID: null, ifname: null, ...content };
  const parts = goTrimSpace(content).split("\r\n");
  if (parts.length === 2) return { ip, containerID: parts[0]!, ifname: parts[1]! };
  if (parts.length === 1 && parts[0] !== "") return { ip, containerID: parts[0]!, ifname: null };
  return { ip, containerID: null, ifname: null, problem: `content is not a container ID` };
}

function bindingView(
  binding: Binding,
  content: string | { problem: string },
  reservation: ReservationView | undefined,
  ttl: TTLInfo,
  modifiedMs: () => number,
): BindingView {
  const ip = formatIP(binding.ip);
  const decoded = typeof content === "string" ? decodeBindingContent(content) : undefined;
  const record = typeof decoded === "object" ? decoded : undefined;
  const source = record ? "record" : decoded === "legacy" ? "openyurt" : "damaged";
  const withClock: Binding = record
    ? { ...binding, record, legacy: false }
    : { ...binding, legacy: true, modifiedMs: modifiedMs() };
  const released = releasedAtMs(withClock, reservation !== undefined);
  const view: BindingView = {
    ip,
    namespace: binding.namespace,
    pod: record?.name ?? binding.namePart,
    uid: record?.uid ?? null,
    ifname: record?.ifname ?? null,
    containerID: record?.containerID ?? null,
    state: released === undefined ? "bound" : "released",
    since: released === undefined
      ? (record ? isoSeconds(Date.parse(record.boundAt)) : null)
      : released > 0
      ? isoSeconds(released)
      : null,
    keptUntil: released !== undefined && ttl.ms !== undefined
      ? isoSeconds(released + ttl.ms)
      : null,
    source,
  };
  if (source === "damaged") {
    view.problem = typeof content === "string"
      ? "content is not a binding record"
      : content.problem;
  }
  return view;
}

/** Reads one network's store (a directory of `dataDir`). */
export async function inspectNetwork(
  dir: string,
  name: string,
  ttl: TTLInfo,
): Promise<NetworkView> {
  const lock = await lockShared(dir);
  try {
    const entries = listTopLevel(dir);
    if (entries.some((e) => e.name.includes(":"))) await loadIPv6();
    const reservations: ReservationView[] = [];
    const bindingEntries: [Binding, Entry][] = [];
    const otherFiles: string[] = [];
    for (const entry of entries) {
      if (entry.name === "lock" || entry.name.startsWith(LAST_RESERVED_PREFIX)) continue;
      const ip = parseIP(entry.name);
      if (ip && formatIP(ip) === entry.name) {
        const content = entry.isDirectory
          ? { problem: "a directory" }
          : readEntry(dir, entry, true);
        reservations.push(reservationView(entry.name, content));
        continue;
      }
      const binding = entry.isDirectory ? undefined : parseBindingFileName(entry.name);
      if (binding) bindingEntries.push([binding, entry]);
      else otherFiles.push(entry.name);
    }
    const byIP = new Map(reservations.map((r) => [r.ip, r]));
    const bindings = bindingEntries.map(([binding, entry]) =>
      bindingView(
        binding,
        readEntry(dir, entry, false),
        byIP.get(formatIP(binding.ip)),
        ttl,
        () => Deno.lstatSync(`${dir}/${entry.name}`).mtime?.getTime() ?? 0,
      )
    );
    return {
      name,
      directory: dir,
      bindingTTL: ttl.text,
      bindingTTLSource: ttl.source,
      lock: typeof lock === "string" ? lock : "taken",
      reservations: sortByIP(reservations),
      bindings: sortByIP(bindings),
      otherFiles,
    };
  } finally {
    if (typeof lock !== "string") lock.close();
  }
}

/** Sorts by family, then address (IPv4 first); anything not an IP last. */
export function compareIPText(a: string, b: string): number {
  const [fa, va] = ipOrder(a);
  const [fb, vb] = ipOrder(b);
  return fa !== fb ? fa - fb : va < vb ? -1 : va > vb ? 1 : 0;
}

function ipOrder(text: string): [number, bigint] {
  const ip: IP | undefined = parseIP(text);
  return ip ? [ip.family, ip.value] : [99, 0n];
}

function sortByIP<T extends { ip: string }>(items: T[]): T[] {
  return items.sort((a, b) => compareIPText(a.ip, b.ip));
}

/** The networks (subdirectories) of a data directory, by name. */
export function networksIn(dataDir: string): string[] {
  let items: Deno.DirEntry[];
  try {
    items = [...Deno.readDirSync(dataDir)];
  } catch (error) {
    throw new Error(`open ${dataDir}: ${goErrnoText(error)}`);
  }
  return items.filter((item) => item.isDirectory).map((item) => item.name).sort();
}

/** Checks a network name given on the command line: one directory name, nothing else. */
export function checkNetworkName(name: string): void {
  if (name === "" || name === "." || name === ".." || name.includes("/")) {
    throw new Error(`invalid network name ${goQuote(name)}`);
  }
}

/**
 * Pod bindings: which IP a pod (namespace/name) had, so it gets it back. One file per binding in
 * the network directory, named as the OpenYurt documentation shows, `<ip>_<namespace>_<name>`,
 * holding a JSON record (OpenYurt's patched host-local wrote empty files; those still count).
 *
 * The names never parse as an IP and the JSON never equals a container ID, so Go's host-local
 * (which compares file contents with container IDs, and names with IPs) never touches them.
 *
 * Names too long for a file name (NAME_MAX = 255 bytes, with the longest IPv6 text) are shortened
 * to `<ip>_<namespace>_<first 133 characters of the name>.~<16 hex digits of SHA-256("ns/name")>`;
 * the record inside names the pod in full and is always checked.
 *
 * @module
 */
import { formatIP, type IP, parseIP } from "../net/ip.ts";
import { isValidNamespace, isValidPodName, type PodIdentity } from "./pod_identity.ts";

/** What a binding file holds. */
export interface BindingRecord {
  ip: string;
  namespace: string;
  name: string;
  uid: string | null;
  ifname: string;
  /** The container (sandbox) that holds, or last held, the IP. */
  containerID: string;
  /** `RangeSet.String()` of the range set the IP was allocated from. */
  rangeSet: string;
  family: 4 | 6;
  /** RFC 3339 time of the last ADD that bound the IP. */
  boundAt: string;
  /** RFC 3339 time of the DEL (or GC) that released it; null while it is held. */
  releasedAt: string | null;
}

/** A binding file found in the network directory. */
export interface Binding {
  fileName: string;
  ip: IP;
  namespace: string;
  /** The name as it appears in the file name (possibly shortened). */
  namePart: string;
  /** The record; undefined for an empty (OpenYurt) or damaged file, or one not yet read. */
  record?: BindingRecord;
  /**
   * True for a binding without a record, known by its file name alone: an empty file written
   * by OpenYurt's host-local, or a damaged one (`damaged`).
   */
  legacy: boolean;
  /**
   * True when the file's content is neither a record nor empty (garbage, cut short, too large,
   * unreadable, or not a regular file). It is still the binding its name says: a damaged file
   * must not take the IP away from its pod, nor block the IP for everyone.
   */
  damaged?: boolean;
  /** For a binding without a record: the file's modification time (ms), its only clock. */
  modifiedMs?: number;
}

const NAME_MAX = 255;
const LONGEST_IP_TEXT = 39;
const MAX_NAMESPACE = 63;
const HASH_SUFFIX_LENGTH = 2 + 16; // ".~" + 16 hex digits
/** How much of a long name is kept: the most that fits next to any IP and any namespace. */
export const SHORTENED_NAME_LENGTH = NAME_MAX - LONGEST_IP_TEXT - 1 - MAX_NAMESPACE - 1 -
  HASH_SUFFIX_LENGTH;
const SHORTENED_NAME = /^[a-z0-9.-]{1,133}\.~[0-9a-f]{16}$/;

async function shortHash(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest, 0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The part of a pod's binding file names after the IP: `_<namespace>_<name or shortened>`. */
export async function bindingSuffix(pod: PodIdentity): Promise<string> {
  if (LONGEST_IP_TEXT + 1 + pod.namespace.length + 1 + pod.name.length <= NAME_MAX) {
    return `_${pod.namespace}_${pod.name}`;
  }
  const hash = await shortHash(`${pod.namespace}/${pod.name}`);
  return `_${pod.namespace}_${pod.name.slice(0, SHORTENED_NAME_LENGTH)}.~${hash}`;
}

/** Parses `<ip>_<namespace>_<name>`; undefined for anything else. */
export function parseBindingFileName(fileName: string): Binding | undefined {
  const first = fileName.indexOf("_");
  if (first < 0) return undefined;
  const second = fileName.indexOf("_", first + 1);
  if (second < 0) return undefined;
  const ipText = fileName.slice(0, first);
  const namespace = fileName.slice(first + 1, second);
  const namePart = fileName.slice(second + 1);
  if (!isValidNamespace(namespace)) return undefined;
  if (!isValidPodName(namePart) && !SHORTENED_NAME.test(namePart)) return undefined;
  const ip = parseIP(ipText);
  // Only Go's canonical spelling: it is what the reservation file of the IP is called.
  if (!ip || formatIP(ip) !== ipText) return undefined;
  return { fileName, ip, namespace, namePart, legacy: false };
}

/** The record of `content`; "legacy" for an empty file; undefined when it is not a binding. */
export function decodeBindingContent(content: string): BindingRecord | "legacy" | undefined {
  if (content.trim() === "") return "legacy";
  if (!content.startsWith("{")) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch {
    return undefined;
  }
  const r = value as Partial<BindingRecord> | null;
  const isString = (x: unknown) => typeof x === "string";
  // A time that does not parse would never age out (NaN compares false with everything).
  const isTime = (x: unknown) => isString(x) && !Number.isNaN(Date.parse(x as string));
  if (
    !r || typeof r !== "object" || !isString(r.ip) || !isString(r.namespace) ||
    !isString(r.name) || !isString(r.ifname) || !isString(r.containerID) ||
    !isTime(r.boundAt) || !(r.releasedAt === null || isTime(r.releasedAt)) ||
    !(r.uid === null || isString(r.uid)) || !(r.family === 4 || r.family === 6)
  ) {
    return undefined;
  }
  return { rangeSet: "", ...r } as BindingRecord;
}

/** The file content of a record: JSON, one line. */
export function encodeBindingContent(record: BindingRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** True when `binding` is `pod`'s binding for interface `ifName`. */
export function belongsTo(
  binding: Binding,
  pod: PodIdentity,
  suffix: string,
  ifName: string,
): boolean {
  if (!binding.fileName.endsWith(suffix)) return false;
  // Without a record the file name is all there is: it names the pod (any interface).
  if (binding.legacy) return true;
  const record = binding.record;
  return record !== undefined && record.namespace === pod.namespace &&
    record.name === pod.name && record.ifname === ifName;
}

/**
 * When the binding's IP was released, in ms since the epoch, or undefined while it is held. A
 * binding is released when its record says so, or when no reservation holds its IP any more
 * (then the last bind time stands in). A binding without a record has the file's modification
 * time instead, which a DEL or GC that releases its IP sets (see binding_store.ts); without one
 * known it counts as oldest.
 */
export function releasedAtMs(binding: Binding, ipIsReserved: boolean): number | undefined {
  const record = binding.record;
  if (record?.releasedAt) return Date.parse(record.releasedAt);
  if (ipIsReserved) return undefined;
  if (!record) return binding.modifiedMs ?? 0;
  return Date.parse(record.boundAt) || 0;
}

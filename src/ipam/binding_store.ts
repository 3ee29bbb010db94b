/**
 * Finding, reading, releasing and pruning the binding files of a locked network store.
 *
 * @module
 */
import { formatIP } from "../net/ip.ts";
import {
  type Binding,
  type BindingRecord,
  decodeBindingContent,
  encodeBindingContent,
  parseBindingFileName,
  releasedAtMs,
} from "./bindings.ts";
import type { NetworkStore } from "./store.ts";

/** Every binding file in the directory, by name only (contents not read yet). */
export function listBindings(store: NetworkStore): Binding[] {
  return store.entries().flatMap((entry) => {
    if (entry.isDirectory || entry.relPath.includes("/")) return [];
    const binding = parseBindingFileName(entry.name);
    return binding ? [binding] : [];
  });
}

/**
 * Reads the bindings' contents. A file without a record (an empty OpenYurt file, or a damaged
 * one: garbage, too large, unreadable, a symlink or other non-regular file, never followed) is
 * kept as a binding known by its name, with its modification time as its clock.
 */
export function readBindings(store: NetworkStore, bindings: Binding[]): Binding[] {
  return bindings.map((binding): Binding => {
    const content = store.read(binding.fileName, { noSymlinks: true });
    const decoded = content === null ? undefined : decodeBindingContent(content);
    if (decoded !== undefined && decoded !== "legacy") {
      return { ...binding, legacy: false, damaged: false, record: decoded };
    }
    return {
      ...binding,
      legacy: true,
      damaged: decoded === undefined,
      record: undefined,
      modifiedMs: store.modifiedMs(binding.fileName),
    };
  });
}

/** True when a reservation file for the binding's IP exists. */
export function isReserved(store: NetworkStore, binding: Binding): boolean {
  return store.get(formatIP(binding.ip)) !== undefined;
}

/** Deletes released bindings older than `ttlMs`; returns the ones kept. */
export function pruneExpired(
  store: NetworkStore,
  bindings: Binding[],
  ttlMs: number,
  now: number,
): Binding[] {
  const kept: Binding[] = [];
  for (const binding of bindings) {
    const releasedAt = releasedAtMs(binding, isReserved(store, binding));
    if (releasedAt !== undefined && now - releasedAt > ttlMs) {
      if (store.remove(binding.fileName)) continue;
    }
    kept.push(binding);
  }
  return kept;
}

/**
 * Starts the release clock of the record-less bindings (OpenYurt or damaged files) of the IPs
 * a DEL or GC just released: their modification time becomes `now`, so `bindingTTL` counts from
 * the release, as it does for a record's `releasedAt`. The content is never rewritten.
 */
export function touchReleased(
  store: NetworkStore,
  bindings: Binding[],
  releasedIPs: ReadonlySet<string>,
  now: number,
): void {
  for (const binding of bindings) {
    if (binding.record || !releasedIPs.has(formatIP(binding.ip))) continue;
    if (store.touch(binding.fileName, now)) binding.modifiedMs = now;
  }
}

/** Records `releasedAt = now` in every held binding `matches` selects. */
export function markReleased(
  store: NetworkStore,
  bindings: Binding[],
  matches: (record: BindingRecord) => boolean,
  now: number,
): void {
  const releasedAt = new Date(now).toISOString();
  for (const binding of bindings) {
    const record = binding.record;
    if (!record || record.releasedAt !== null || !matches(record)) continue;
    binding.record = { ...record, releasedAt };
    // A hint, replaced atomically but not flushed: should a power loss undo it, the binding's
    // IP is free all the same and the binding counts as released at its bind time.
    store.write(binding.fileName, encodeBindingContent(binding.record), { hint: true });
  }
}

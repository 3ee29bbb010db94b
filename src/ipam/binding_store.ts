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

/** Reads the bindings' contents; returns those that hold a record or are empty (OpenYurt). */
export function readBindings(store: NetworkStore, bindings: Binding[]): Binding[] {
  return bindings.flatMap((binding): Binding[] => {
    const content = store.read(binding.fileName);
    if (content === null) return [];
    const decoded = decodeBindingContent(content);
    if (decoded === undefined) return [];
    if (decoded === "legacy") return [{ ...binding, legacy: true, record: undefined }];
    return [{ ...binding, legacy: false, record: decoded }];
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

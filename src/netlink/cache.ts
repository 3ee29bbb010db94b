/**
 * Dumps through libnl caches: one request fills a `struct nl_cache`, we copy what we need out of
 * its objects, then free it. Cache objects belong to the cache, so only `nl_cache_free` is
 * called; nothing read from an object may be kept past that (everything is copied to JS values).
 *
 * @module
 */
import { cString, pointerIn, pointerSlot } from "./outparam.ts";
import type { NetlinkSocket } from "./socket.ts";

/**
 * Runs a libnl `*_alloc_cache` function that dumps from the kernel into a new cache stored in
 * `slot`, and returns that cache; the caller must free it (see `drainCache`).
 */
export function dumpToCache(
  socket: NetlinkSocket,
  operation: string,
  alloc: (socket: Deno.PointerObject, slot: BigUint64Array) => number,
): Deno.PointerObject {
  const slot = pointerSlot();
  socket.requestLarge(operation, (sk) => alloc(sk, slot));
  const cache = pointerIn(slot);
  if (cache === null) throw new Error(`${operation}: libnl returned no cache`);
  return cache;
}

/**
 * Dumps through a cache type looked up by name (e.g. `route/neigh`) after setting its first
 * argument, which some types use as the dump's address family. The caller must free the cache.
 */
export function dumpToNamedCache(
  socket: NetlinkSocket,
  operation: string,
  kind: string,
  arg1: number,
): Deno.PointerObject {
  const lib = socket.lib;
  const slot = pointerSlot();
  socket.check(operation, lib.nl_cache_alloc_name(cString(kind), slot));
  const cache = pointerIn(slot);
  if (cache === null) throw new Error(`${operation}: libnl returned no cache`);
  try {
    lib.nl_cache_set_arg1(cache, arg1);
    socket.requestLarge(operation, (sk) => lib.nl_cache_refill(sk, cache));
  } catch (error) {
    lib.nl_cache_free(cache);
    throw error;
  }
  return cache;
}

/**
 * Calls `visit` on every object of `cache` and collects what it returns (undefined results are
 * skipped), then frees the cache, also when `visit` throws.
 */
export function drainCache<T>(
  socket: NetlinkSocket,
  cache: Deno.PointerObject,
  visit: (object: Deno.PointerObject) => T | undefined,
): T[] {
  const lib = socket.lib;
  const results: T[] = [];
  try {
    for (
      let object = lib.nl_cache_get_first(cache);
      object !== null;
      object = lib.nl_cache_get_next(object)
    ) {
      const result = visit(object);
      if (result !== undefined) results.push(result);
    }
  } finally {
    lib.nl_cache_free(cache);
  }
  return results;
}

/**
 * Ordering Kubernetes resourceVersions. The API says they are opaque strings, but every
 * kube-apiserver backed by etcd hands out etcd revisions: unsigned integers that only grow. That
 * is what lets the daemon tell a cache older than what it already saw (a yurthub answering from a
 * stale snapshot) from a fresh answer. When a version is not such an integer, nothing can be
 * said about the order and the caller falls back to its other rules.
 *
 * @module
 */

const UNSIGNED = /^(0|[1-9][0-9]*)$/;

/** The version as an unsigned integer, or undefined when it is not one. */
export function parseResourceVersion(text: string): bigint | undefined {
  return UNSIGNED.test(text) ? BigInt(text) : undefined;
}

/** -1, 0 or 1 as `a` is older than, equal to or newer than `b`; undefined when not comparable. */
export function compareResourceVersions(a: string, b: string): -1 | 0 | 1 | undefined {
  const left = parseResourceVersion(a);
  const right = parseResourceVersion(b);
  if (left === undefined || right === undefined) return undefined;
  return left < right ? -1 : left > right ? 1 : 0;
}

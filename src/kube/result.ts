/**
 * The outcome of decoding something that comes from outside (the API server, another node):
 * a value, or a message saying what is wrong with the input. Malformed input is expected, so it
 * is a value the caller handles rather than an exception.
 *
 * @module
 */

export type Result<T> = { ok: T } | { error: string };

/** True when `result` carries a value. */
export function isOk<T>(result: Result<T>): result is { ok: T } {
  return "ok" in result;
}

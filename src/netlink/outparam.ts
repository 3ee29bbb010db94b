/**
 * Out-parameters for C functions that return through a pointer (`T **result`, `uint32_t *out`):
 * JS buffers passed as `"buffer"`, read back after the call.
 *
 * @module
 */

/** Room for one `T *` that C fills in. */
export function pointerSlot(): BigUint64Array {
  return new BigUint64Array(1);
}

/** The pointer C stored in `slot`, or null. */
export function pointerIn(slot: BigUint64Array): Deno.PointerValue {
  return Deno.UnsafePointer.create(slot[0]!);
}

/** Room for one `uint32_t` that C fills in. */
export function u32Slot(): Uint32Array {
  return new Uint32Array(1);
}

/** A NUL-terminated copy of `text` for a `const char *` parameter. */
export function cString(text: string): Uint8Array {
  return new TextEncoder().encode(`${text}\0`);
}

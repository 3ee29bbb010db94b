/**
 * Waiting for something with a deadline, without leaving a timer behind when it comes first.
 *
 * @module
 */

/** Resolves true when `promise` settles within `ms`, false when the deadline comes first. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true, () => true), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

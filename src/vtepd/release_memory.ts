/**
 * Hands memory the daemon no longer needs back to the kernel. Applying a node list is the
 * daemon's largest transient allocation (a real Node is 5–30 KB of JSON, read in pages of 100),
 * and without help it would stay resident for the daemon's lifetime: V8 collects that garbage
 * lazily and keeps the pages it grew into, and glibc keeps freed heap memory mapped. With 1000
 * peers this saves about 10 MiB (scripts/bench_vtepd.ts).
 *
 * @module
 */
import { loadLibc } from "../netlink/libc.ts";

/** A full garbage collection (`--expose-gc`, baked into the binary), then `malloc_trim(0)`. */
export function releaseMemory(): void {
  (globalThis as { gc?: () => void }).gc?.();
  loadLibc().malloc_trim(0n);
}

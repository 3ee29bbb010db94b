/**
 * Runs a synchronous function with the calling thread (the test's JS thread) inside a test's
 * network namespace, and back in its own one afterwards, even when the function throws.
 *
 * A netlink socket belongs to the namespace it was created in, for good: a monitor or Netlink
 * opened inside `insideNetns` sees and changes that namespace only, from then on, while the
 * rest of the test process stays where it was. Nothing here changes the host's namespace.
 *
 * @module
 */

const LIBC = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

const O_RDONLY_CLOEXEC = 0x80000;
const CLONE_NEWNET = 0x40000000;

let libc: Deno.DynamicLibrary<typeof LIBC>["symbols"] | undefined;

function openFd(path: string): number {
  libc ??= Deno.dlopen("libc.so.6", LIBC).symbols;
  const fd = libc.open(new TextEncoder().encode(`${path}\0`), O_RDONLY_CLOEXEC);
  if (fd < 0) throw new Error(`cannot open ${path}`);
  return fd;
}

/** `fn()` with this thread in the namespace `name` (as made by createNetns). */
export function insideNetns<T>(name: string, fn: () => T): T {
  const own = openFd("/proc/thread-self/ns/net");
  try {
    const target = openFd(`/run/netns/${name}`);
    try {
      if (libc!.setns(target, CLONE_NEWNET) !== 0) throw new Error(`setns into ${name} failed`);
    } finally {
      libc!.close(target);
    }
    let outcome: { value: T } | { error: unknown };
    try {
      outcome = { value: fn() };
    } catch (error) {
      outcome = { error };
    }
    if (libc!.setns(own, CLONE_NEWNET) !== 0) {
      // This thread would go on acting in the test's namespace: nothing sane can follow.
      throw new Error(`setns back from ${name} failed`);
    }
    if ("error" in outcome) throw outcome.error;
    return outcome.value;
  } finally {
    libc!.close(own);
  }
}

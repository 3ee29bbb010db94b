import assert from "node:assert/strict";
import { createNetns } from "./netns.ts";
import { insideNetns } from "./netns_thread.ts";

const current = () => Deno.readLinkSync("/proc/thread-self/ns/net");

Deno.test("insideNetns runs the function in the namespace and returns, even when it throws", async () => {
  await using ns = await createNetns("kn-thr-");
  const own = current();
  const inside = insideNetns(ns.name, current);
  assert.notEqual(inside, own);
  assert.equal(current(), own);
  assert.throws(() =>
    insideNetns(ns.name, () => {
      throw new Error("boom");
    }), /boom/);
  assert.equal(current(), own);
  // The namespace seen inside is the one `ip netns exec` enters.
  assert.equal(inside, (await ns.check(["readlink", "/proc/self/ns/net"])).trim());
});

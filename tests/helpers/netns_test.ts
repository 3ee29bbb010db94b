import assert from "node:assert/strict";
import { createNetns } from "./netns.ts";

async function namespaces(): Promise<string[]> {
  const output = await new Deno.Command("ip", { args: ["netns", "list"] }).output();
  return new TextDecoder().decode(output.stdout).split("\n").map((line) => line.split(" ")[0]!);
}

Deno.test("createNetns makes a unique namespace with lo up, and delete removes it", async () => {
  const first = await createNetns("kn-nstest-");
  const second = await createNetns("kn-nstest-");
  try {
    assert.notEqual(first.name, second.name);
    assert.match(first.name, /^kn-nstest-/);
    assert.ok((await namespaces()).includes(first.name));
    const [lo] = await first.json<Array<{ flags: string[] }>>(["ip", "-j", "link", "show", "lo"]);
    assert.ok(lo?.flags.includes("UP"));
    // Separate namespaces: a device made in one is absent from the other.
    await first.check(["ip", "link", "add", "kn0", "type", "veth", "peer", "name", "kn1"]);
    assert.equal((await second.run(["ip", "link", "show", "kn0"])).code, 1);
  } finally {
    await first.delete();
    await second.delete();
  }
  await first.delete(); // twice is fine
  const left = await namespaces();
  assert.ok(!left.includes(first.name) && !left.includes(second.name));
});

Deno.test("run reports the exit code and output; check throws with stderr", async () => {
  await using ns = await createNetns("kn-nstest-");
  const result = await ns.run(["sh", "-c", "cat; echo oops >&2; exit 3"], { stdin: "hello" });
  assert.deepEqual(result, { code: 3, stdout: "hello", stderr: "oops\n" });
  await assert.rejects(ns.check(["ip", "link", "show", "nothere0"]), /exited 1: .*nothere0/);
});

import assert from "node:assert/strict";
import { parseResolvConf, parseResolvConfText } from "../../src/ipam/dns.ts";
import { withTempDir } from "./harness.ts";

Deno.test("DNS-1 indented nameserver lines", () => {
  assert.deepEqual(parseResolvConfText("  nameserver 192.0.2.0\n\tnameserver 192.0.2.1\n"), {
    nameservers: ["192.0.2.0", "192.0.2.1"],
    domain: "",
    search: [],
    options: [],
  });
});

Deno.test("DNS-2 a ';' line is a comment", () => {
  assert.deepEqual(
    parseResolvConfText(";nameserver 192.0.2.0\nnameserver 192.0.2.1\n").nameservers,
    [
      "192.0.2.1",
    ],
  );
});

Deno.test("DNS-3 every field; search and options accumulate; comments ignored", () => {
  const text = [
    "nameserver 192.0.2.0",
    "domain example.com",
    "# nameserver 192.0.2.9",
    "search example.net example.org",
    "search example.gov",
    "options one two",
    "options three four",
    "nameserver 192.0.2.1 extra",
    "sortlist 1.2.3.4",
    "nameserver",
  ].join("\n");
  assert.deepEqual(parseResolvConfText(text), {
    nameservers: ["192.0.2.0", "192.0.2.1"],
    domain: "example.com",
    search: ["example.net", "example.org", "example.gov"],
    options: ["one", "two", "three", "four"],
  });
});

Deno.test("resolvConf read errors carry Go's text", async () => {
  assert.throws(() => parseResolvConf("/nonexistent-keepnet"), {
    message: "open /nonexistent-keepnet: no such file or directory",
  });
  await withTempDir(async (dir) => {
    assert.throws(() => parseResolvConf(dir), { message: `read ${dir}: is a directory` });
    await Deno.writeTextFile(`${dir}/long`, `nameserver 1.2.3.4\n${"x".repeat(70000)}\n`);
    assert.throws(() => parseResolvConf(`${dir}/long`), {
      message: "bufio.Scanner: token too long",
    });
    await Deno.writeTextFile(`${dir}/ok`, "nameserver 1.2.3.4\n");
    assert.deepEqual(parseResolvConf(`${dir}/ok`).nameservers, ["1.2.3.4"]);
  });
});

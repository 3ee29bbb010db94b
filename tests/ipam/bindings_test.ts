import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import {
  belongsTo,
  bindingSuffix,
  decodeBindingContent,
  parseBindingFileName,
  releasedAtMs,
  SHORTENED_NAME_LENGTH,
} from "../../src/ipam/bindings.ts";

Deno.test("binding file names: <ip>_<namespace>_<name>, canonical IPs only", () => {
  const binding = parseBindingFileName("10.200.0.2_default_web-0")!;
  assert.equal(binding.namespace, "default");
  assert.equal(binding.namePart, "web-0");
  assert.equal(parseBindingFileName("fd00::2_kube-system_coredns.abc")?.namePart, "coredns.abc");
  for (
    const name of [
      "lock",
      "last_reserved_ip.0",
      "10.200.0.2",
      "orphan-pod",
      "fd00:0::2_default_x", // not Go's spelling of the IP
      "10.200.0.2_Default_x",
      "10.200.0.2_default_web_0",
      "nope_default_x",
    ]
  ) {
    assert.equal(parseBindingFileName(name), undefined, name);
  }
});

Deno.test("long names are shortened deterministically and fit NAME_MAX with any IP", async () => {
  const pod = { namespace: "n".repeat(63), name: "a".repeat(253) };
  const suffix = await bindingSuffix(pod);
  assert.equal(suffix, await bindingSuffix(pod));
  assert.notEqual(suffix, await bindingSuffix({ ...pod, name: `${"a".repeat(252)}b` }));
  const longestIP = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  assert.equal(`${longestIP}${suffix}`.length, 255);
  assert.equal(SHORTENED_NAME_LENGTH, 133);
  const parsed = parseBindingFileName(`${longestIP}${suffix}`)!;
  assert.match(parsed.namePart, /^a{133}\.~[0-9a-f]{16}$/);
  assert.equal(await bindingSuffix({ namespace: "default", name: "web-0" }), "_default_web-0");
});

Deno.test("binding content: JSON records (with times that parse), empty OpenYurt files, else none", () => {
  assert.equal(decodeBindingContent(""), "legacy");
  assert.equal(decodeBindingContent("c1\r\neth0"), undefined);
  assert.equal(decodeBindingContent("{not json"), undefined);
  assert.equal(decodeBindingContent('{"ip":"10.0.0.2"}'), undefined);
  const record = decodeBindingContent(JSON.stringify({
    ip: "10.0.0.2",
    namespace: "default",
    name: "web-0",
    uid: null,
    ifname: "eth0",
    containerID: "c1",
    rangeSet: "10.0.0.1-10.0.0.254",
    family: 4,
    boundAt: "2026-01-01T00:00:00.000Z",
    releasedAt: null,
  }));
  assert.equal(typeof record, "object");
  // Times that do not parse would never age out: such a record is not a record.
  const withTime = (times: Record<string, unknown>) =>
    decodeBindingContent(JSON.stringify({ ...(record as object), ...times }));
  assert.equal(withTime({ releasedAt: "yesterday" }), undefined);
  assert.equal(withTime({ boundAt: "" }), undefined);
  assert.equal(typeof withTime({ releasedAt: "2026-01-02T00:00:00.000Z" }), "object");
});

Deno.test("ownership and release time of bindings", () => {
  const pod = { namespace: "default", name: "web-0" };
  const legacy = { ...parseBindingFileName("10.0.0.2_default_web-0")!, legacy: true };
  assert.equal(belongsTo(legacy, pod, "_default_web-0", "eth1"), true);
  assert.equal(belongsTo(legacy, { ...pod, name: "web-1" }, "_default_web-1", "eth0"), false);
  assert.equal(releasedAtMs(legacy, false), 0);
  assert.equal(releasedAtMs(legacy, true), undefined);
  // Without a record, the file's modification time is the release clock.
  assert.equal(releasedAtMs({ ...legacy, damaged: true, modifiedMs: 1234 }, false), 1234);
  const record = {
    ip: "10.0.0.3",
    namespace: "default",
    name: "web-0",
    uid: null,
    ifname: "eth0",
    containerID: "c1",
    rangeSet: "",
    family: 4 as const,
    boundAt: "2026-01-01T00:00:00.000Z",
    releasedAt: null,
  };
  const bound = { ...parseBindingFileName("10.0.0.3_default_web-0")!, record };
  assert.equal(belongsTo(bound, pod, "_default_web-0", "eth0"), true);
  assert.equal(belongsTo(bound, pod, "_default_web-0", "net1"), false);
  assert.equal(releasedAtMs(bound, true), undefined);
  assert.equal(releasedAtMs(bound, false), Date.parse("2026-01-01T00:00:00.000Z"));
  const released = { ...bound, record: { ...record, releasedAt: "2026-02-01T00:00:00.000Z" } };
  assert.equal(releasedAtMs(released, true), Date.parse("2026-02-01T00:00:00.000Z"));
});

import assert from "node:assert/strict";
import { encodeVersionInfo, parseVersion, versionAtLeast } from "../../src/cni/version.ts";

Deno.test("S-1 VERSION output is the library's one JSON line with a newline", () => {
  assert.equal(
    encodeVersionInfo(),
    '{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n',
  );
});

Deno.test("versions compare numerically; empty is 0.1.0; bad ones fail with Go's text", () => {
  assert.deepEqual(parseVersion(""), [0, 1, 0]);
  assert.deepEqual(parseVersion("1.10"), [1, 10, 0]);
  assert.equal(versionAtLeast("0.10.0", "0.4.0"), true);
  assert.equal(versionAtLeast("0.3.1", "0.4.0"), false);
  assert.equal(versionAtLeast("1.1.0", "1.1.0"), true);
  assert.throws(() => parseVersion("1.2.3.4"), {
    message: 'invalid version "1.2.3.4": too many parts',
  });
  assert.throws(() => parseVersion("abc"), {
    message:
      'failed to convert major version part "abc": strconv.Atoi: parsing "abc": invalid syntax',
  });
});

import assert from "node:assert/strict";
import { goJSON, goQuote, goQuoteList, sortKeysDeep } from "../../src/cni/json.ts";

Deno.test("goJSON escapes <, >, &, U+2028 and U+2029 as Go does (S-3)", () => {
  assert.equal(
    goJSON({ msg: "IP <nil> & x > y" }),
    '{"msg":"IP \\u003cnil\\u003e \\u0026 x \\u003e y"}',
  );
  assert.equal(goJSON("a\u2028b\u2029c"), '"a\\u2028b\\u2029c"');
});

Deno.test("goJSON keeps an escaped backslash and replaces lone surrogates with U+FFFD", () => {
  assert.equal(goJSON("\\ud800"), '"\\\\ud800"');
  assert.equal(goJSON("x\ud800y"), '"x\ufffdy"');
  assert.equal(goJSON("\u{1f600}"), '"\u{1f600}"');
});

Deno.test("goJSON indents like json.MarshalIndent with 4 spaces", () => {
  assert.equal(
    goJSON({ a: [1], b: {}, c: [] }, 4),
    '{\n    "a": [\n        1\n    ],\n    "b": {},\n    "c": []\n}',
  );
});

Deno.test("goQuote is strconv.Quote", () => {
  assert.equal(goQuote('A="b"'), '"A=\\"b\\""');
  assert.equal(goQuote("C=d\\"), '"C=d\\\\"');
  assert.equal(goQuote("tab\there\n"), '"tab\\there\\n"');
  assert.equal(goQuote("\x00\x7f"), '"\\x00\\x7f"');
  assert.equal(goQuote("é\u200b"), '"é\\u200b"');
  assert.equal(goQuoteList(["A=b", "C=d"]), '["A=b" "C=d"]');
  assert.equal(goQuoteList([]), "[]");
});

Deno.test("sortKeysDeep orders keys at every level, as Go marshals a map", () => {
  assert.equal(
    JSON.stringify(sortKeysDeep({ b: 1, a: [{ z: 1, y: null }], c: { e: 1, d: 2 } })),
    '{"a":[{"y":null,"z":1}],"b":1,"c":{"d":2,"e":1}}',
  );
});

/**
 * `--iface-regex` takes Go regular expressions: they must match the same interface names and
 * addresses here as in flanneld, or be refused with the reason.
 */
import assert from "node:assert/strict";
import { compileGoRegexp, GoRegexpError } from "../../src/vtepd/go_regexp.ts";

interface Row {
  pattern: string;
  matches: string[];
  misses: string[];
}

const SAME_MEANING: Row[] = [
  { pattern: "^eth[0-9]+$", matches: ["eth0", "eth12"], misses: ["veth0", "eth", "eth0a"] },
  { pattern: "10\\.0\\.0\\..*", matches: ["10.0.0.7"], misses: ["10.0.10.7", "10x0x0x7"] },
  // Unanchored, as Go's MatchString.
  { pattern: "ens", matches: ["ens3", "wlens1"], misses: ["eth0"] },
  // Leading inline flags become RegExp flags.
  { pattern: "(?i)^ETH0$", matches: ["eth0", "Eth0"], misses: ["eth1"] },
  { pattern: "(?s)a.b", matches: ["a\nb"], misses: ["ab"] },
  { pattern: "(?m)^b$", matches: ["a\nb"], misses: ["ab"] },
  // Scoped flags are the same syntax in both.
  { pattern: "^(?i:E)th0$", matches: ["eth0", "Eth0"], misses: ["ETH0"] },
  // Go's \A and \z; its \a and \x{...}; octal.
  { pattern: "\\Aeth0\\z", matches: ["eth0"], misses: ["eth0\n", "xeth0"] },
  { pattern: "^\\x{65}th\\x30$", matches: ["eth0"], misses: ["eth1"] },
  { pattern: "^\\145th\\060$", matches: ["eth0"], misses: ["eth1"] },
  { pattern: "\\a", matches: ["\x07"], misses: ["a"] },
  // \Q...\E quotes everything.
  { pattern: "^\\Q10.0.*\\E$", matches: ["10.0.*"], misses: ["10.0.0.1"] },
  // Escaped punctuation is a literal, whatever it is.
  { pattern: "^br\\-lan\\:0$", matches: ["br-lan:0"], misses: ["brxlan:0"] },
  // POSIX classes, and a ] first in a class.
  { pattern: "^eth[[:digit:]]$", matches: ["eth7"], misses: ["etha"] },
  { pattern: "^[]a]$", matches: ["]", "a"], misses: ["b"] },
  // Braces that start no repeat are literals in Go; real repeats stay repeats.
  { pattern: "^a{$", matches: ["a{"], misses: ["a"] },
  { pattern: "^a{,2}$", matches: ["a{,2}"], misses: ["aa"] },
  { pattern: "^a{2}$", matches: ["aa"], misses: ["a", "a{2}"] },
  // Named groups in Go's spelling.
  { pattern: "^(?P<kind>eth|ens)[0-9]$", matches: ["ens3"], misses: ["wlan0"] },
  // Unicode classes, short and by script.
  { pattern: "^\\pL+$", matches: ["eth"], misses: ["eth0"] },
  { pattern: "^\\p{Greek}$", matches: ["λ"], misses: ["l"] },
];

for (const row of SAME_MEANING) {
  Deno.test(`go regexp: ${JSON.stringify(row.pattern)} means what it means in Go`, () => {
    const regex = compileGoRegexp(row.pattern);
    for (const text of row.matches) assert.ok(regex.test(text), `should match ${text}`);
    for (const text of row.misses) assert.ok(!regex.test(text), `should not match ${text}`);
  });
}

const REFUSED: Array<[string, RegExp]> = [
  // Go refuses these too.
  ["eth(", /Unterminated group/],
  ["[eth", /missing closing \]/],
  ["a**", /Nothing to repeat/],
  ["(?=eth)", /lookahead and lookbehind are not Go regexp syntax/],
  ["(?<!x)eth", /lookahead and lookbehind/],
  ["(eth)\\1", /backreference \\1 is not Go regexp syntax/],
  ["\\z\\y", /invalid escape \\y/],
  ["a{1001}", /over Go's limit of 1000/],
  ["eth\\", /trailing backslash/],
  ["[[:bogus:]]", /unknown POSIX class/],
  // Go accepts these, but JavaScript has no equivalent: refused rather than read differently.
  ["(?U)a+", /ungreedy flag U/],
  [
    "eth(?i)0",
    /inline flags \(\?i\) are supported only at the start; use the scoped form \(\?i:\.\.\.\)/,
  ],
  ["[[:^digit:]]", /negated POSIX class/],
];

for (const [pattern, reason] of REFUSED) {
  Deno.test(`go regexp: ${JSON.stringify(pattern)} is refused, saying why`, () => {
    assert.throws(() => compileGoRegexp(pattern), (error: unknown) => {
      assert.ok(error instanceof GoRegexpError);
      assert.match(error.message, reason);
      // The reason is about the pattern as given, never the translated source.
      assert.doesNotMatch(error.message, /\\u\{/);
      return true;
    });
  });
}

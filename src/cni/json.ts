/**
 * Text the way Go writes it. CNI runtimes and tests compare our output with what the Go plugins
 * print, so JSON goes through Go's `encoding/json` escaping and messages quote strings with
 * `strconv.Quote` (`%q`).
 *
 * @module
 */

// One pass over JSON.stringify's output. Escaped backslashes are matched (and kept) first so a
// literal "\ud800" typed by a user is never mistaken for the escape of a lone surrogate.
const GO_ESCAPES = /\\\\|\\ud[89a-f][0-9a-f]{2}|[<>&\u2028\u2029]/g;

function goEscape(match: string): string {
  if (match === "\\\\") return match;
  // JSON.stringify escapes only lone surrogates this way; Go writes U+FFFD for invalid text.
  if (match.length === 6) return "\ufffd";
  return `\\u${match.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * `json.Marshal` (no indent) or `json.MarshalIndent(v, "", "<indent spaces>")`: object keys in
 * insertion order, `<`, `>`, `&`, U+2028 and U+2029 escaped as `\u003c` … as Go does.
 */
export function goJSON(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(GO_ESCAPES, goEscape);
}

// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const SHORT_ESCAPES: Record<string, string> = {
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
  '"': '\\"',
  "\\": "\\\\",
};

/** Go's `strconv.Quote`, i.e. what `%q` prints for a string. */
export function goQuote(text: string): string {
  let out = '"';
  for (const char of text) {
    const short = SHORT_ESCAPES[char];
    if (short) {
      out += short;
      continue;
    }
    if (PRINTABLE.test(char)) {
      out += char;
      continue;
    }
    const code = char.codePointAt(0)!;
    if (code < 0x80) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += `\\U${code.toString(16).padStart(8, "0")}`;
  }
  return `${out}"`;
}

/** What `%q` prints for a `[]string`: `["a" "b"]`. */
export function goQuoteList(items: readonly string[]): string {
  return `[${items.map(goQuote).join(" ")}]`;
}

/** A copy of `value` with the keys of every object sorted, as Go marshals a map. */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value === null || typeof value !== "object") return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    sorted[key] = sortKeysDeep((value as Record<string, unknown>)[key]);
  }
  return sorted;
}

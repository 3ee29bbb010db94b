/**
 * CNI_ARGS (`K=V;K=V`) as the Go library's `types.LoadArgs` reads it into a struct: keys match
 * Go field names case-sensitively, every struct embeds `CommonArgs` (`IgnoreUnknown`), unknown
 * keys are an error unless IgnoreUnknown is true.
 *
 * @module
 */
import { goQuote, goQuoteList } from "./json.ts";

/** One `K=V` pair, as written. */
export interface ArgPair {
  key: string;
  value: string;
  /** The pair's text, for messages. */
  text: string;
}

/** Splits CNI_ARGS into pairs; each must have exactly one `=` (`ARGS: invalid pair "…"`). */
export function splitArgs(args: string): ArgPair[] {
  if (args === "") return [];
  return args.split(";").map((text) => {
    const parts = text.split("=");
    if (parts.length !== 2) throw new Error(`ARGS: invalid pair ${goQuote(text)}`);
    return { key: parts[0]!, value: parts[1]!, text };
  });
}

/** The last value given for `key` (keys are case-sensitive), or "" when absent. */
export function argValue(pairs: readonly ArgPair[], key: string): string {
  let value = "";
  for (const pair of pairs) if (pair.key === key) value = pair.value;
  return value;
}

/** `types.UnmarshallableBool`: 1/true/0/false in any case. */
function parseArgBool(value: string): boolean {
  const lower = value.toLowerCase();
  if (lower === "1" || lower === "true") return true;
  if (lower === "0" || lower === "false") return false;
  throw new Error(`boolean unmarshal error: invalid input ${lower}`);
}

/**
 * Feeds each known pair to its field parser (which throws the Go `UnmarshalText` message), then
 * rejects unknown keys unless `IgnoreUnknown` was true. `fields` maps Go field names to parsers.
 */
export function loadArgs(
  args: string,
  fields: Readonly<Record<string, (value: string) => void>>,
): void {
  const unknown: string[] = [];
  let ignoreUnknown = false;
  for (const pair of splitArgs(args)) {
    let parse: ((value: string) => void) | undefined;
    if (pair.key === "IgnoreUnknown") parse = (value) => (ignoreUnknown = parseArgBool(value));
    else if (pair.key === "CommonArgs") {
      throw new Error(
        "ARGS: cannot unmarshal into field 'CommonArgs' - type '*types.CommonArgs' does not implement encoding.TextUnmarshaler",
      );
    } else if (Object.hasOwn(fields, pair.key)) parse = fields[pair.key];
    if (!parse) {
      unknown.push(pair.text);
      continue;
    }
    try {
      parse(pair.value);
    } catch (error) {
      throw new Error(
        `ARGS: error parsing value of pair ${goQuote(pair.text)}: ${(error as Error).message}`,
      );
    }
  }
  if (unknown.length > 0 && !ignoreUnknown) {
    throw new Error(`ARGS: unknown args ${goQuoteList(unknown)}`);
  }
}

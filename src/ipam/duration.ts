/**
 * Go's `time.ParseDuration` ("168h", "1h30m", "90s", "1.5h"), for `ipam.bindingTTL`.
 *
 * @module
 */
import { goQuote } from "../cni/json.ts";

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "\u00b5s": 1e-3,
  "\u03bcs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const COMPONENT = /^([0-9]*(?:\.[0-9]*)?)([^0-9.]*)/;

/** Parses a Go duration; returns milliseconds. Throws Go's `time: …` messages. */
export function parseGoDuration(text: string): number {
  const invalid = () => new Error(`time: invalid duration ${goQuote(text)}`);
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest.startsWith("-") ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") throw invalid();
  let total = 0;
  while (rest !== "") {
    const match = COMPONENT.exec(rest)!;
    const [whole, number, unit] = match as unknown as [string, string, string];
    if (number === "" || number === ".") throw invalid();
    if (unit === "") throw new Error(`time: missing unit in duration ${goQuote(text)}`);
    const scale = UNIT_MS[unit];
    if (scale === undefined) {
      throw new Error(`time: unknown unit ${goQuote(unit)} in duration ${goQuote(text)}`);
    }
    total += Number(number) * scale;
    rest = rest.slice(whole.length);
  }
  return sign * total;
}

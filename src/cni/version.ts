/**
 * CNI spec versions: which ones we speak, how a config's `cniVersion` is compared, and the
 * VERSION command's answer. Semantics of the Go library's `pkg/version` (cni v1.3).
 *
 * @module
 */
import { goQuote } from "./json.ts";

/** Spec versions keepnet-ipam accepts, oldest first (the Go library's order). */
export const SUPPORTED_VERSIONS = [
  "0.1.0",
  "0.2.0",
  "0.3.0",
  "0.3.1",
  "0.4.0",
  "1.0.0",
  "1.1.0",
] as const;

/** The version the plugin reports for itself (the newest it speaks). */
export const CURRENT_VERSION = "1.1.0";

const DECIMAL = /^[+-]?[0-9]+$/;

function atoi(part: string): number {
  if (!DECIMAL.test(part)) {
    throw new Error(`strconv.Atoi: parsing ${goQuote(part)}: invalid syntax`);
  }
  const value = Number(part);
  if (!Number.isSafeInteger(value)) {
    throw new Error(`strconv.Atoi: parsing ${goQuote(part)}: value out of range`);
  }
  return value;
}

/** `version.ParseVersion`: "" is 0.1.0; at most three numeric parts. Throws Go's messages. */
export function parseVersion(version: string): [number, number, number] {
  if (version === "") return [0, 1, 0];
  const parts = version.split(".");
  if (parts.length >= 4) throw new Error(`invalid version ${goQuote(version)}: too many parts`);
  const names = ["major", "minor", "micro"];
  const numbers: [number, number, number] = [0, 0, 0];
  parts.forEach((part, index) => {
    try {
      numbers[index] = atoi(part);
    } catch (error) {
      throw new Error(
        `failed to convert ${names[index]} version part ${goQuote(part)}: ${
          (error as Error).message
        }`,
      );
    }
  });
  return numbers;
}

/** `version.GreaterThanOrEqualTo(a, b)`. Throws when either does not parse. */
export function versionAtLeast(version: string, minimum: string): boolean {
  const [a1, a2, a3] = parseVersion(version);
  const [b1, b2, b3] = parseVersion(minimum);
  if (a1 !== b1) return a1 > b1;
  if (a2 !== b2) return a2 > b2;
  return a3 >= b3;
}

/** The VERSION command's output: one JSON line with a trailing newline (a Go json.Encoder). */
export function encodeVersionInfo(): string {
  return `${
    JSON.stringify({ cniVersion: CURRENT_VERSION, supportedVersions: SUPPORTED_VERSIONS })
  }\n`;
}

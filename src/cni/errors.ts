/**
 * CNI errors: the well-known codes of the CNI spec and the exact JSON the Go library prints for
 * them (on stdout, with exit status 1).
 *
 * @module
 */
import { goJSON } from "./json.ts";

/** Well-known error codes (CNI SPEC "Error"; cni `pkg/types` constants). */
export const ErrorCode = {
  IncompatibleCNIVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironmentVariables: 4,
  IOFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  /** What the Go library wraps every plugin error in. */
  Internal: 999,
} as const;

/** An error with a CNI code; anything else a command throws is reported as code 999. */
export class CNIError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details: string = "",
  ) {
    super(message);
    this.name = "CNIError";
  }
}

/** Converts anything thrown into the CNI error that gets printed. */
export function toCNIError(error: unknown): CNIError {
  if (error instanceof CNIError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CNIError(ErrorCode.Internal, message);
}

/** `json.MarshalIndent(err, "", "    ")` of a `types.Error`: code, msg, details (if any). */
export function encodeError(error: CNIError): string {
  const body: Record<string, unknown> = { code: error.code, msg: error.message };
  if (error.details !== "") body.details = error.details;
  return goJSON(body, 4);
}

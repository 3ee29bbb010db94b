/**
 * The CNI library's checks of container IDs, interface names and network names (cni
 * `pkg/utils`), with its exact codes and messages.
 *
 * @module
 */
import { CNIError, ErrorCode } from "./errors.ts";

const CNI_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$/;
const MAX_INTERFACE_NAME_LENGTH = 15;
// `/`, `:` and Go's unicode.IsSpace (which, unlike JavaScript's \s, has U+0085 but not U+FEFF).
const BAD_INTERFACE_CHAR =
  /[/:\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

export function validateContainerID(id: string): void {
  if (id === "") throw new CNIError(ErrorCode.UnknownContainer, "missing containerID");
  if (!CNI_NAME.test(id)) {
    throw new CNIError(
      ErrorCode.InvalidEnvironmentVariables,
      "invalid characters in containerID",
      id,
    );
  }
}

export function validateInterfaceName(name: string): void {
  const invalid = (message: string, details = "") =>
    new CNIError(ErrorCode.InvalidEnvironmentVariables, message, details);
  if (name.length === 0) throw invalid("interface name is empty");
  if (new TextEncoder().encode(name).length > MAX_INTERFACE_NAME_LENGTH) {
    throw invalid(
      "interface name is too long",
      `interface name should be less than ${MAX_INTERFACE_NAME_LENGTH + 1} characters`,
    );
  }
  if (name === "." || name === "..") throw invalid("interface name is . or ..");
  if (BAD_INTERFACE_CHAR.test(name)) {
    throw invalid("interface name contains / or : or whitespace characters");
  }
}

export function validateNetworkName(name: string): void {
  if (name === "") throw new CNIError(ErrorCode.InvalidNetworkConfig, "missing network name");
  if (!CNI_NAME.test(name)) {
    throw new CNIError(
      ErrorCode.InvalidNetworkConfig,
      "invalid characters found in network name",
      name,
    );
  }
}

/**
 * The CNI_* environment of one plugin call, read and checked in the order of the Go library
 * (cni v1.3 `skel.getCmdArgsFromEnv`): each variable in turn, a present one validated at once
 * when the command needs it, then all missing required ones reported together.
 *
 * @module
 */
import { CNIError, ErrorCode } from "./errors.ts";
import { validateContainerID, validateInterfaceName } from "./validate.ts";

export interface CmdEnv {
  command: string;
  containerID: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS, `K=V;K=V`. */
  args: string;
  path: string;
}

interface VariableRule {
  name: string;
  key: keyof CmdEnv;
  requiredFor: readonly string[];
  validate?: (value: string) => void;
}

const VARIABLES: readonly VariableRule[] = [
  { name: "CNI_COMMAND", key: "command", requiredFor: ["ADD", "CHECK", "DEL", "GC", "STATUS"] },
  {
    name: "CNI_CONTAINERID",
    key: "containerID",
    requiredFor: ["ADD", "CHECK", "DEL"],
    validate: validateContainerID,
  },
  { name: "CNI_NETNS", key: "netns", requiredFor: ["ADD", "CHECK"] },
  {
    name: "CNI_IFNAME",
    key: "ifName",
    requiredFor: ["ADD", "CHECK", "DEL"],
    validate: validateInterfaceName,
  },
  { name: "CNI_ARGS", key: "args", requiredFor: [] },
  { name: "CNI_PATH", key: "path", requiredFor: ["ADD", "CHECK", "DEL", "GC", "STATUS"] },
];

/** Reads the CNI_* variables through `getenv`; throws the library's code 3/4 errors. */
export function readCmdEnv(getenv: (name: string) => string | undefined): CmdEnv {
  const env: CmdEnv = { command: "", containerID: "", netns: "", ifName: "", args: "", path: "" };
  const missing: string[] = [];
  for (const rule of VARIABLES) {
    const value = getenv(rule.name) ?? "";
    env[rule.key] = value;
    const required = rule.requiredFor.includes(env.command);
    if (value === "") {
      if (required || rule.name === "CNI_COMMAND") missing.push(rule.name);
    } else if (required && rule.validate) {
      rule.validate(value);
    }
  }
  if (missing.length > 0) {
    throw new CNIError(
      ErrorCode.InvalidEnvironmentVariables,
      `required env variables [${missing.join(",")}] missing`,
    );
  }
  return env;
}

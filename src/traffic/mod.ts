/**
 * flanneld's masquerade and forward rules (iptables or nftables), installed and kept in place.
 *
 * @module
 */
export type { TrafficAction } from "./actions.ts";
export {
  type FamilyLease,
  type IptablesVariant,
  type PreviousLease,
  type TrafficConfig,
  TrafficConfigError,
} from "./config.ts";
export {
  type PreviousLeases,
  previousLeasesFromSubnetEnv,
  readPreviousLeases,
} from "./previous_lease.ts";
export {
  type CommandResult,
  type CommandRunner,
  DenoCommandRunner,
  MissingToolError,
} from "./runner.ts";
export {
  type TrafficReport,
  TrafficRules,
  type TrafficRulesOptions,
  type TrafficStats,
} from "./traffic_rules.ts";

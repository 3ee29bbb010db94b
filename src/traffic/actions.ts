/**
 * What the traffic rules did, for logs and metrics, and the contract each mode's applier meets.
 *
 * @module
 */

/** One thing done to the kernel's rules (or deliberately not done). */
export type TrafficAction =
  /** A unit (e.g. "iptables IPv4 masquerade") was installed at start. */
  | { kind: "installed"; unit: string }
  /** A unit was found missing, out of order or altered, and installed again. */
  | { kind: "repaired"; unit: string }
  /** Rules were removed: the other mode's, a disabled feature's, an old lease's. */
  | { kind: "removed"; unit: string; reason: string }
  /** Something was left alone, and why (a missing optional tool, an unsupported option). */
  | { kind: "skipped"; unit: string; reason: string };

/** One mode (iptables or nftables) of installing flanneld's rules. */
export interface ModeApplier {
  /** Removes the other mode's and stale state, then installs every unit. */
  install(actions: TrafficAction[]): Promise<void>;
  /** The units that are not exactly in place now. */
  check(): Promise<string[]>;
  /** Installs the named units again. */
  repair(units: readonly string[], actions: TrafficAction[]): Promise<void>;
}

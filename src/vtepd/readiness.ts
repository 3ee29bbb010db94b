/**
 * What `/readyz` says about the daemon: the data plane checks that decide readiness, and the
 * conditions an operator should know of that do not (pods still get a network while the state
 * file cannot be written or the API is away, but the node then would not survive a reboot with
 * its latest peers, or hears of no new ones).
 *
 * @module
 */
import type { DaemonStatus } from "./daemon.ts";
import type { Readiness } from "./health.ts";

export function readiness(status: DaemonStatus, device: string): Readiness {
  const checks = [
    status.device ? `[+] device ${device} configured` : `[-] device ${device} not configured yet`,
    status.subnetEnv ? "[+] subnet.env written" : "[-] subnet.env not written",
  ];
  const state = status.state;
  if (state.lastError !== undefined) {
    checks.push(
      `[!] state file: writes failing since ${state.failingSince?.toISOString()}: ${state.lastError}` +
        " (a reboot now would lose the newest peers)",
    );
  } else checks.push(`[+] state file written (${state.writes} writes)`);
  const sync = status.lastSync;
  const last = sync
    ? `last node list ${sync.at.toISOString()}${sync.authoritative ? "" : " (not authoritative)"}`
    : "no node list yet";
  checks.push(
    status.apiReachable
      ? `[+] API reachable; ${last}`
      : `[!] API unreachable; data plane kept as it is; ${last}`,
  );
  checks.push(`[+] peers: ${status.peers}`);
  return { ready: status.ready, checks };
}

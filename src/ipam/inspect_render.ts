/**
 * `keepnet-ipam inspect` output: one table per network for a person, or one JSON document.
 *
 * @module
 */
import {
  type BindingView,
  compareIPText,
  type NetworkView,
  type ReservationView,
} from "./inspect.ts";

/** How much of a container ID the table shows (as crictl does); JSON has it whole. */
const SHORT_ID = 13;

const HEADER = ["IP", "CONTAINER", "IFACE", "POD", "STATE", "SINCE", "KEPT UNTIL"] as const;
type Row = [string, string, string, string, string, string, string];

function shortID(id: string | null): string {
  if (id === null) return "?";
  return id.length > SHORT_ID ? id.slice(0, SHORT_ID) : id;
}

function keptUntil(network: NetworkView, binding: BindingView): string {
  if (binding.state === "bound") return "while bound";
  if (binding.keptUntil !== null) return binding.keptUntil;
  return network.bindingTTL === "none" ? "forever" : "unknown";
}

function bindingRow(
  network: NetworkView,
  binding: BindingView,
  reservation: ReservationView | undefined,
): Row {
  return [
    binding.ip,
    reservation ? shortID(reservation.containerID) : "-",
    reservation ? (reservation.ifname ?? "-") : "-",
    `${binding.namespace}/${binding.pod}`,
    binding.state,
    binding.since ?? "unknown",
    keptUntil(network, binding),
  ];
}

function reservationRow(reservation: ReservationView): Row {
  return [
    reservation.ip,
    shortID(reservation.containerID),
    reservation.ifname ?? "-",
    "-",
    "reserved",
    "-",
    "-",
  ];
}

/** A bound binding is shown on its reservation's row when that reservation is the pod's. */
function heldBy(binding: BindingView, reservation: ReservationView): boolean {
  return binding.state === "bound" && binding.ip === reservation.ip &&
    (binding.containerID === null || binding.containerID === reservation.containerID);
}

function rowsOf(network: NetworkView): Row[] {
  const rows: Row[] = [];
  const shown = new Set<BindingView>();
  const byIP = new Map(network.reservations.map((r) => [r.ip, r]));
  for (const reservation of network.reservations) {
    const binding = network.bindings.find((b) => !shown.has(b) && heldBy(b, reservation));
    if (binding) {
      shown.add(binding);
      rows.push(bindingRow(network, binding, reservation));
    } else rows.push(reservationRow(reservation));
  }
  for (const binding of network.bindings) {
    if (shown.has(binding)) continue;
    const reservation = binding.state === "bound" ? byIP.get(binding.ip) : undefined;
    rows.push(bindingRow(network, binding, reservation));
  }
  // In address order; a reservation's row before the released bindings of its address.
  return rows.sort((a, b) => compareIPText(a[0], b[0]));
}

function table(rows: Row[]): string {
  const all: readonly (readonly string[])[] = [HEADER, ...rows];
  const widths = HEADER.map((_, column) => Math.max(...all.map((row) => row[column]!.length)));
  return all.map((row) =>
    row.map((cell, column) => column === row.length - 1 ? cell : cell.padEnd(widths[column]!))
      .join("  ")
  ).join("\n");
}

function notesOf(network: NetworkView): string[] {
  const notes: string[] = [];
  if (network.lock === "busy") {
    notes.push("the lock was busy: read without it (each file is whole; the set may be mid-call)");
  }
  for (const r of network.reservations) {
    if (r.problem) notes.push(`reservation ${r.ip}: ${r.problem}; the address stays taken`);
  }
  for (const b of network.bindings) {
    if (b.source === "openyurt") {
      notes.push(`binding ${b.ip} of ${b.namespace}/${b.pod}: OpenYurt file (no record)`);
    }
    if (b.problem) {
      notes.push(
        `binding ${b.ip} of ${b.namespace}/${b.pod}: damaged (${b.problem}); ` +
          "it counts as the pod's binding, aged by the file's modification time",
      );
    }
  }
  for (const name of network.otherFiles) notes.push(`unexpected entry: ${name}`);
  return notes;
}

function ttlLine(network: NetworkView): string {
  if (network.bindingTTL === null) return "bindingTTL unknown (give --binding-ttl)";
  const value = network.bindingTTL === "none" ? "none (kept forever)" : network.bindingTTL;
  return `bindingTTL ${value} (${network.bindingTTLSource})`;
}

/** The table view of every network. */
export function renderTables(networks: NetworkView[]): string {
  return networks.map((network) => {
    const lines = [`network ${network.name} (${network.directory}), ${ttlLine(network)}`];
    const rows = rowsOf(network);
    lines.push(rows.length === 0 ? "no reservations and no bindings" : table(rows));
    for (const note of notesOf(network)) lines.push(`note: ${note}`);
    return `${lines.join("\n")}\n`;
  }).join("\n");
}

/** The JSON document: `{"networks": [...]}`. */
export function renderJSON(networks: NetworkView[]): string {
  return `${JSON.stringify({ networks }, null, 2)}\n`;
}

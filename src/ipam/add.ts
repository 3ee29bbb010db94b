/**
 * ADD: one address per range set, under one lock for the whole command.
 *
 * Without a pod identity (or with `keepPodIP: false`) this is host-local's ADD exactly. With
 * one, each set is served in this order: a requested IP; else the pod's bound IP if it is still
 * in the set, not the gateway, and free or held by the pod's previous sandbox; else round-robin
 * over IPs no other pod is bound to; else the free IP of the oldest released binding. Bindings
 * are written only once every set has its address, and a failed ADD undoes what it did.
 *
 * @module
 */
import { CNIError, ErrorCode } from "../cni/errors.ts";
import type { CmdArgs } from "../cni/skel.ts";
import { emptyDNS, encodeResult, type IPConfig } from "../cni/result.ts";
import { formatIP, type IP, ipEquals } from "../net/ip.ts";
import {
  exhaustedError,
  ipConfigFor,
  rejectDuplicate,
  reserveNext,
  reserveRequested,
} from "./allocator.ts";
import { isReserved, listBindings, pruneExpired, readBindings } from "./binding_store.ts";
import {
  belongsTo,
  type Binding,
  bindingSuffix,
  encodeBindingContent,
  releasedAtMs,
} from "./bindings.ts";
import { DEFAULT_DATA_DIR, type IPAMConfig, loadIPAMConfig } from "./config.ts";
import { parseResolvConf } from "./dns.ts";
import { goLogLine, goTrimSpace } from "./go_text.ts";
import { type PodIdentity, podIdentityFromArgs } from "./pod_identity.ts";
import {
  findRange,
  formatRangeSet,
  type RangeSet,
  rangeSetContains,
  rangeSetFamily,
} from "./range_set.ts";
import {
  MAX_CONTAINER_ID_LENGTH,
  type NetworkStore,
  reservationContent,
  withNetworkStore,
} from "./store.ts";

interface Attachment {
  containerID: string;
  ifName: string;
}

/** Something this ADD changed in the store, to undo if it fails. */
type Change =
  | { kind: "created"; name: string }
  | { kind: "replaced"; name: string; previous: string }
  /** A staged replacement of a file whose old content could not be read: drop the stage. */
  | { kind: "staged"; name: string };

function undo(store: NetworkStore, changes: Change[]): void {
  for (const change of [...changes].reverse()) {
    if (change.kind === "created") store.remove(change.name);
    else if (change.kind === "staged") store.discardWrite(change.name);
    else {
      try {
        store.write(change.name, change.previous);
      } catch {
        // Undo is best effort; the error that caused it is reported.
      }
    }
  }
}

/** Requested IPs by text, duplicates collapsed, in host-local's collection order. */
function pendingRequests(ips: readonly IP[]): Map<string, IP> {
  const pending = new Map<string, IP>();
  for (const ip of ips) {
    const key = formatIP(ip);
    if (!pending.has(key)) pending.set(key, ip);
  }
  return pending;
}

/** Takes the first pending request `set` contains. */
function takeRequest(pending: Map<string, IP>, set: RangeSet): IP | undefined {
  for (const [key, ip] of pending) {
    if (rangeSetContains(set, ip)) {
      pending.delete(key);
      return ip;
    }
  }
  return undefined;
}

function unmatchedRequestsError(pending: Map<string, IP>): Error {
  return new Error(`failed to allocate all requested IPs: ${[...pending.keys()].join(" ")}`);
}

/** host-local's ADD, quirks included (its rollback releases everything of the attachment). */
function addAsHostLocal(
  store: NetworkStore,
  conf: IPAMConfig,
  attachment: Attachment,
  log: (line: string) => void,
): IPConfig[] {
  const pending = pendingRequests(conf.requestedIPs);
  const configs: IPConfig[] = [];
  const releaseAll = () => {
    for (const _ of configs) store.releaseByID(attachment.containerID, attachment.ifName);
  };
  for (const [index, set] of conf.rangeSets.entries()) {
    const requested = takeRequest(pending, set);
    try {
      if (requested) {
        configs.push(reserveRequested(store, set, index, attachment, requested));
        continue;
      }
      rejectDuplicate(store, set, attachment);
      const config = reserveNext(store, set, index, attachment, { log });
      if (!config) throw exhaustedError(set);
      configs.push(config);
    } catch (error) {
      releaseAll();
      throw new Error(`failed to allocate for range ${index}: ${(error as Error).message}`);
    }
  }
  if (pending.size > 0) {
    releaseAll();
    throw unmatchedRequestsError(pending);
  }
  return configs;
}

/** Newest first: a record beats an OpenYurt file, a later bind beats an earlier one. */
function byPreference(a: Binding, b: Binding): number {
  if (a.legacy !== b.legacy) return a.legacy ? 1 : -1;
  return (b.record?.boundAt ?? "").localeCompare(a.record?.boundAt ?? "");
}

/**
 * Reserves the pod's bound IP in `set` again if it is still allowed: in the set, not its
 * range's gateway, and either free or held by the sandbox the binding names (a new sandbox
 * started before the old one's DEL: the reservation moves to the new sandbox).
 */
function reuseBinding(
  store: NetworkStore,
  set: RangeSet,
  own: readonly Binding[],
  attachment: Attachment,
  changes: Change[],
): IPConfig | undefined {
  const content = reservationContent(attachment.containerID, attachment.ifName);
  const candidates = own.filter((b) => rangeSetContains(set, b.ip)).sort(byPreference);
  for (const binding of candidates) {
    const range = findRange(set, binding.ip)!;
    if (ipEquals(binding.ip, range.gateway)) continue;
    const name = formatIP(binding.ip);
    if (!store.get(name)) {
      if (store.create(name, content)) {
        changes.push({ kind: "created", name });
        return ipConfigFor(binding.ip, range);
      }
      continue;
    }
    const record = binding.record;
    const held = record ? store.read(name) : null;
    if (!record || held === null) continue;
    const holder = goTrimSpace(held);
    const previousSandbox = goTrimSpace(record.containerID);
    const heldByPreviousSandbox =
      holder === reservationContent(record.containerID, record.ifname) ||
      holder === previousSandbox;
    if (!heldByPreviousSandbox || previousSandbox === goTrimSpace(attachment.containerID)) continue;
    store.write(name, content);
    changes.push({ kind: "replaced", name, previous: held });
    return ipConfigFor(binding.ip, range);
  }
  return undefined;
}

/** When every unbound IP is taken: the free IP of the longest-released other binding. */
function takeOldestReleased(
  store: NetworkStore,
  set: RangeSet,
  rangeID: number,
  others: readonly Binding[],
  attachment: Attachment,
): IPConfig | undefined {
  const candidates = readBindings(store, [...others]).filter((binding) => {
    const range = findRange(set, binding.ip);
    return range && !ipEquals(binding.ip, range.gateway) && !isReserved(store, binding);
  }).sort((a, b) => releasedAtMs(a, false)! - releasedAtMs(b, false)!);
  for (const binding of candidates) {
    if (store.reserve(binding.ip, attachment.containerID, attachment.ifName, rangeID)) {
      return ipConfigFor(binding.ip, findRange(set, binding.ip)!);
    }
  }
  return undefined;
}

async function addForPod(
  store: NetworkStore,
  conf: IPAMConfig,
  attachment: Attachment,
  pod: PodIdentity,
  log: (line: string) => void,
): Promise<IPConfig[]> {
  const now = Date.now();
  const suffix = await bindingSuffix(pod);
  let bindings = listBindings(store);
  if (conf.bindingTTL) {
    bindings = pruneExpired(store, readBindings(store, bindings), conf.bindingTTL, now);
  }
  // Only the pod's own bindings are read now; other pods' are needed by name alone, unless
  // every unbound IP is taken (takeOldestReleased reads them then).
  const mayBeOwn = (b: Binding) =>
    b.namespace === pod.namespace && (b.fileName.endsWith(suffix) || b.namePart === pod.name);
  const own = readBindings(store, bindings.filter(mayBeOwn))
    .filter((b) => belongsTo(b, pod, suffix, attachment.ifName));
  const ownNames = new Set(own.map((b) => b.fileName));
  const others = bindings.filter((b) => !ownNames.has(b.fileName));
  const boundToOthers = new Set(others.map((b) => formatIP(b.ip)));

  const pending = pendingRequests(conf.requestedIPs);
  const configs: IPConfig[] = [];
  const changes: Change[] = [];
  for (const [index, set] of conf.rangeSets.entries()) {
    const requested = takeRequest(pending, set);
    try {
      let config: IPConfig | undefined;
      if (requested) {
        config = reserveRequested(store, set, index, attachment, requested);
        changes.push({ kind: "created", name: formatIP(requested) });
      } else {
        rejectDuplicate(store, set, attachment);
        config = reuseBinding(store, set, own, attachment, changes);
        if (!config) {
          config = reserveNext(store, set, index, attachment, {
            avoid: (ip) => boundToOthers.has(formatIP(ip)),
            log,
          }) ?? takeOldestReleased(store, set, index, others, attachment);
          if (!config) throw exhaustedError(set);
          changes.push({ kind: "created", name: formatIP(config.ip) });
        }
      }
      configs.push(config);
    } catch (error) {
      undo(store, changes);
      throw new Error(`failed to allocate for range ${index}: ${(error as Error).message}`);
    }
  }
  if (pending.size > 0) {
    undo(store, changes);
    throw unmatchedRequestsError(pending);
  }
  bindPod(store, conf, attachment, pod, { suffix, own, others, configs, changes, now });
  return configs;
}

/**
 * Writes the pod's binding for every set, then drops what they replace: the pod's other or
 * out-of-range bindings of those families, and other pods' bindings to the IPs it now holds.
 */
function bindPod(
  store: NetworkStore,
  conf: IPAMConfig,
  attachment: Attachment,
  pod: PodIdentity,
  state: {
    suffix: string;
    own: readonly Binding[];
    others: readonly Binding[];
    configs: readonly IPConfig[];
    changes: Change[];
    now: number;
  },
): void {
  const boundAt = new Date(state.now).toISOString();
  const written: Change[] = [];
  try {
    for (const [index, config] of state.configs.entries()) {
      const set = conf.rangeSets[index]!;
      const name = `${formatIP(config.ip)}${state.suffix}`;
      const exists = store.get(name) !== undefined;
      const previous = exists ? store.read(name, { noSymlinks: true }) : null;
      store.write(
        name,
        encodeBindingContent({
          ip: formatIP(config.ip),
          namespace: pod.namespace,
          name: pod.name,
          uid: pod.uid ?? null,
          ifname: attachment.ifName,
          containerID: goTrimSpace(attachment.containerID),
          rangeSet: formatRangeSet(set),
          family: rangeSetFamily(set),
          boundAt,
          releasedAt: null,
        }),
      );
      written.push(
        !exists
          ? { kind: "created", name }
          : previous === null
          ? { kind: "staged", name }
          : { kind: "replaced", name, previous },
      );
    }
  } catch (error) {
    undo(store, written);
    undo(store, state.changes);
    throw error;
  }
  const current = new Set(written.map((change) => change.name));
  const families = new Set(conf.rangeSets.map(rangeSetFamily));
  for (const binding of state.own) {
    if (!current.has(binding.fileName) && families.has(binding.ip.family)) {
      store.remove(binding.fileName);
    }
  }
  const held = new Set(state.configs.map((config) => formatIP(config.ip)));
  for (const binding of state.others) {
    if (held.has(formatIP(binding.ip))) store.remove(binding.fileName);
  }
}

/** An ADD writes the container ID into the store: it must be short enough to be read back. */
function checkContainerIDLength(containerID: string): void {
  if (containerID.length <= MAX_CONTAINER_ID_LENGTH) return;
  throw new CNIError(
    ErrorCode.InvalidEnvironmentVariables,
    "containerID is too long",
    `a container ID has at most ${MAX_CONTAINER_ID_LENGTH} characters`,
  );
}

export async function cmdAdd(args: CmdArgs): Promise<string> {
  checkContainerIDLength(args.env.containerID);
  const conf = loadIPAMConfig(args.config, args.env.args);
  const dns = conf.resolvConf !== "" ? parseResolvConf(conf.resolvConf) : emptyDNS();
  const pod = conf.keepPodIP ? podIdentityFromArgs(args.env.args) : undefined;
  const attachment = { containerID: args.env.containerID, ifName: args.env.ifName };
  const log = (message: string) => args.log(goLogLine(message));
  const configs = await withNetworkStore(
    conf.dataDir || DEFAULT_DATA_DIR,
    conf.name,
    (store) =>
      pod
        ? addForPod(store, conf, attachment, pod, log)
        : addAsHostLocal(store, conf, attachment, log),
  );
  return encodeResult({ ips: configs, routes: conf.routes, dns }, conf.cniVersion);
}

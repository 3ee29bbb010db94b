/**
 * GC (CNI 1.1): releases every reservation whose attachment is not in the runtime's list of
 * valid attachments, following the proposed host-local GC (containernetworking/plugins#1289):
 * only reservation files are considered (never `lock`, `last_reserved_ip.*`, bindings or other
 * files), a legacy bare-ID file survives if any valid attachment has its container ID, and
 * errors do not stop the sweep. Bindings are marked released, never deleted: a GC after a reboot
 * must not make pods lose their IPs. Released bindings past `bindingTTL` are pruned.
 *
 * @module
 */
import { GoDecoder } from "../cni/go_json.ts";
import type { CmdArgs } from "../cni/skel.ts";
import { formatIP, parseIP } from "../net/ip.ts";
import {
  listBindings,
  markReleased,
  pruneExpired,
  readBindings,
  touchReleased,
} from "./binding_store.ts";
import { DEFAULT_DATA_DIR, loadIPAMConfig } from "./config.ts";
import { goTrimSpace } from "./go_text.ts";
import { reservationContent, withNetworkStore } from "./store.ts";

interface Attachment {
  containerID: string;
  ifname: string;
}

/**
 * `cni.dev/valid-attachments` (or the legacy `cni.dev/attachments` libcni also sends);
 * undefined when the runtime sent neither, in which case nothing is released.
 */
export function validAttachments(config: unknown): Attachment[] | undefined {
  const d = new GoDecoder();
  let current: Attachment[] | undefined;
  let legacy: Attachment[] | undefined;
  const list = (value: unknown) =>
    d.array(value, "[]types.GCAttachment", (item) => {
      const attachment = { containerID: "", ifname: "" };
      d.struct(item, "GCAttachment", "types.GCAttachment", {
        containerID: (v) => (attachment.containerID = d.string(v) ?? attachment.containerID),
        ifname: (v) => (attachment.ifname = d.string(v) ?? attachment.ifname),
      });
      return attachment;
    });
  d.struct(config, "GCArgs", "types.GCArgs", {
    "cni.dev/valid-attachments": (v) => (current = list(v) ?? current),
    "cni.dev/attachments": (v) => (legacy = list(v) ?? legacy),
  });
  d.finish();
  return current ?? legacy;
}

export async function cmdGC(args: CmdArgs): Promise<void> {
  const conf = loadIPAMConfig(args.config, args.env.args);
  const valid = validAttachments(args.config);
  if (!valid) return;
  const validKeys = new Set(valid.map((a) => reservationContent(a.containerID, a.ifname)));
  const validIDs = new Set(valid.map((a) => goTrimSpace(a.containerID)));
  const errors: string[] = [];
  await withNetworkStore(conf.dataDir || DEFAULT_DATA_DIR, conf.name, (store) => {
    const released = new Set<string>();
    const reservations = store.entries().filter((entry) => {
      if (entry.isDirectory || entry.relPath.includes("/")) return false;
      const ip = parseIP(entry.name);
      return ip !== undefined && formatIP(ip) === entry.name;
    });
    for (const entry of reservations) {
      const content = store.read(entry.relPath);
      if (content === null) continue;
      const holder = goTrimSpace(content);
      const parts = holder.split("\r\n");
      const stillValid = parts.length === 2
        ? validKeys.has(holder)
        : parts.length === 1
        ? validIDs.has(holder)
        : true; // not a format we know: leave it alone
      if (stillValid) continue;
      if (store.remove(entry.relPath)) released.add(entry.name);
      else errors.push(`failed to release ${entry.name}`);
    }
    if (!conf.keepPodIP) return;
    const now = Date.now();
    const bindings = readBindings(store, listBindings(store));
    markReleased(
      store,
      bindings,
      (record) => !validKeys.has(reservationContent(record.containerID, record.ifname)),
      now,
    );
    touchReleased(store, bindings, released, now);
    if (conf.bindingTTL) pruneExpired(store, bindings, conf.bindingTTL, now);
  });
  if (errors.length > 0) throw new Error(errors.join("; "));
}

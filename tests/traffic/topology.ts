/**
 * A pod, its node, a host outside the cluster and a pod on another node, as four namespaces
 * joined by veth pairs (dual-stack):
 *
 * ```
 *  pod 10.244.1.2 ─ 10.244.1.1 node 192.0.2.1 ─ 192.0.2.2 outside
 *  fd00:10:244:1::2                 2001:db8:99::1   2001:db8:99::2
 *                                    │ 172.31.0.1 / fd00:ffff::1 (stands in for the overlay)
 *                                  remote pod 10.244.2.2 / fd00:10:244:2::2 (via 172.31.0.2)
 * ```
 *
 * The outside host has no route to the pod networks: a pod reaches it only when the node
 * masquerades. The remote pod routes the whole cluster Network back to the node, so pod-to-pod
 * traffic needs no masquerade, and shows whether it got one.
 *
 * @module
 */
import { createNetns, type Netns } from "../helpers/netns.ts";

export interface PodTopology extends AsyncDisposable {
  pod: Netns;
  node: Netns;
  outside: Netns;
  remote: Netns;
}

export const ADDRESSES = {
  pod: { 4: "10.244.1.2", 6: "fd00:10:244:1::2" },
  node: { 4: "192.0.2.1", 6: "2001:db8:99::1" },
  outside: { 4: "192.0.2.2", 6: "2001:db8:99::2" },
  remote: { 4: "10.244.2.2", 6: "fd00:10:244:2::2" },
} as const;

async function veth(a: Netns, aName: string, b: Netns, bName: string): Promise<void> {
  await a.check([
    "ip",
    "link",
    "add",
    aName,
    "type",
    "veth",
    "peer",
    "name",
    bName,
    "netns",
    b.name,
  ]);
  await a.check(["ip", "link", "set", aName, "up"]);
  await b.check(["ip", "link", "set", bName, "up"]);
}

async function addresses(ns: Netns, device: string, list: string[]): Promise<void> {
  for (const address of list) {
    const extra = address.includes(":") ? ["nodad"] : [];
    await ns.check(["ip", "addr", "add", address, "dev", device, ...extra]);
  }
}

async function routes(ns: Netns, list: string[][]): Promise<void> {
  for (const route of list) await ns.check(["ip", "route", "add", ...route]);
}

export async function createPodTopology(): Promise<PodTopology> {
  const created: Netns[] = [];
  const make = async () => {
    const ns = await createNetns("kn-trt-");
    created.push(ns);
    return ns;
  };
  try {
    const [pod, node, outside, remote] = [await make(), await make(), await make(), await make()];
    await veth(node, "pod0", pod, "eth0");
    await veth(node, "up0", outside, "eth0");
    await veth(node, "ovl0", remote, "eth0");
    await addresses(pod, "eth0", ["10.244.1.2/24", "fd00:10:244:1::2/64"]);
    await addresses(node, "pod0", ["10.244.1.1/24", "fd00:10:244:1::1/64"]);
    await addresses(node, "up0", ["192.0.2.1/24", "2001:db8:99::1/64"]);
    await addresses(outside, "eth0", ["192.0.2.2/24", "2001:db8:99::2/64"]);
    await addresses(node, "ovl0", ["172.31.0.1/30", "fd00:ffff::1/64"]);
    await addresses(remote, "eth0", [
      "172.31.0.2/30",
      "fd00:ffff::2/64",
      "10.244.2.2/32",
      "fd00:10:244:2::2/128",
    ]);
    await routes(pod, [["default", "via", "10.244.1.1"], ["::/0", "via", "fd00:10:244:1::1"]]);
    await routes(node, [
      ["10.244.2.0/24", "via", "172.31.0.2"],
      ["fd00:10:244:2::/64", "via", "fd00:ffff::2"],
    ]);
    await routes(remote, [
      ["10.244.0.0/16", "via", "172.31.0.1"],
      ["fd00:10:244::/56", "via", "fd00:ffff::1"],
    ]);
    await node.check(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
    await node.check(["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"]);
    return {
      pod,
      node,
      outside,
      remote,
      [Symbol.asyncDispose]: async () => {
        for (const ns of created) await ns.delete();
      },
    };
  } catch (error) {
    for (const ns of created) await ns.delete();
    throw error;
  }
}

/** A running source_address_server.ts in `ns`; stopped (by PID) when disposed. */
export async function sourceAddressServer(
  ns: Netns,
  port: number,
): Promise<AsyncDisposable> {
  const script = new URL("./source_address_server.ts", import.meta.url).pathname;
  const child = ns.spawn([Deno.execPath(), "run", "--allow-net", script, String(port)], {
    stdout: "piped",
    stderr: "inherit",
  });
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the server in ${ns.name} exited before listening`);
    seen += value;
  }
  reader.releaseLock();
  return {
    [Symbol.asyncDispose]: async () => {
      child.kill("SIGTERM");
      await child.status;
      await child.stdout.cancel().catch(() => {});
    },
  };
}

/**
 * Connects from `ns` to `address`:`port` and returns the source address the server saw, or
 * undefined when no connection was made within `seconds`.
 */
export async function seenSource(
  ns: Netns,
  address: string,
  port: number,
  seconds = 3,
): Promise<string | undefined> {
  const result = await ns.run([
    "timeout",
    String(seconds),
    "bash",
    "-c",
    `exec 3<>/dev/tcp/${address}/${port} && cat <&3`,
  ]);
  return result.code === 0 ? result.stdout.trim() : undefined;
}

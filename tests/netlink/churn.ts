/**
 * Child process for the leak test: runs inside a test's network namespace, programs and removes
 * peers (neighbour + FDB + route) in a loop, with dumps, reads and failing calls mixed in, and
 * prints how much C heap (glibc `mallinfo2().uordblks`, where libnl allocates) and RSS the
 * measured rounds left behind. As a control it also leaks a known number of nl_addr objects, to
 * show the meter sees leaks of that size.
 *
 * Usage: deno run --allow-ffi --v8-flags=--expose-gc churn.ts [warm-up rounds] [rounds per
 * measured interval] [intervals]
 *
 * @module
 */
import { loadIPv6 } from "../../src/net/ip.ts";
import { isNotFound, type Netlink, openNetlink } from "../../src/netlink/mod.ts";
import { loadLibnl } from "../../src/netlink/library.ts";

export interface ChurnReport {
  /** Rounds in each measured interval. */
  rounds: number;
  /** Netlink calls per interval. */
  operations: number;
  /** C heap growth over each measured interval (a leak grows in every one). */
  heapGrowthBytes: number[];
  /** RSS growth over each measured interval. */
  rssGrowthBytes: number[];
  /** nl_addr objects leaked on purpose, and the C heap growth that caused. */
  controlLeaks: number;
  controlGrowthBytes: number;
  msPerRound: number;
}

const libc = Deno.dlopen("libc.so.6", {
  // struct mallinfo2 { size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks,
  //                    uordblks, fordblks, keepcost; }
  mallinfo2: { parameters: [], result: { struct: Array(10).fill("usize") } },
});
const UORDBLKS_OFFSET = 7 * 8;

const gc = (globalThis as { gc?: () => void }).gc;

/**
 * Bytes of C heap in use, once garbage from JS is gone: V8 frees external buffers on a
 * background thread after a collection, so collect, wait, and collect again.
 */
async function heapInUse(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const info = libc.symbols.mallinfo2() as Uint8Array;
  return Number(new DataView(info.buffer).getBigUint64(UORDBLKS_OFFSET, true));
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

let operations = 0;

function round(netlink: Netlink, ifindex: number, i: number): void {
  const [high, low] = [i >> 8 & 255, i & 255];
  const gateway = `10.${100 + high}.${low}.0`;
  const mac = `02:00:00:00:${hex(high)}:${hex(low)}`;
  netlink.replaceNeighbour({ ifindex, ip: gateway, mac });
  netlink.replaceFdb({ ifindex, mac, dst: `192.168.${high}.${low}` });
  netlink.replaceRoute({ dst: `${gateway}/24`, gateway, ifindex, onlink: true });
  netlink.getLink(ifindex);
  operations += 4;
  if (i % 10 === 0) {
    netlink.listLinks();
    netlink.listAddresses({ ifindex });
    netlink.listNeighbours({ ifindex });
    netlink.listFdb({ ifindex });
    netlink.listRoutes({ ifindex });
    netlink.lookupRoute(gateway);
    operations += 6;
  }
  netlink.deleteRoute({ dst: `${gateway}/24`, gateway, ifindex });
  netlink.deleteFdb({ ifindex, mac, dst: `192.168.${high}.${low}` });
  netlink.deleteNeighbour({ ifindex, ip: gateway });
  operations += 3;
  try {
    netlink.deleteNeighbour({ ifindex, ip: gateway }); // the error path allocates too
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  operations += 1;
}

async function churn(warmUp: number, rounds: number, intervals: number): Promise<ChurnReport> {
  await loadIPv6();
  using netlink = openNetlink();
  const { index } = netlink.createVxlan({ name: "churn.1", mac: "02:00:00:00:00:01", vni: 1 });
  netlink.addAddress(index, "10.99.0.0/32");
  netlink.setLinkUp(index);

  // Warm-up: lets V8 compile the hot paths (its compiler's own heap use is not a leak).
  for (let i = 0; i < warmUp; i++) round(netlink, index, i);
  const heapGrowthBytes: number[] = [];
  const rssGrowthBytes: number[] = [];
  let elapsed = 0;
  for (let interval = 0; interval < intervals; interval++) {
    const heapBefore = await heapInUse();
    const rssBefore = Deno.memoryUsage().rss;
    operations = 0;
    const started = performance.now();
    for (let i = 0; i < rounds; i++) round(netlink, index, i);
    elapsed += performance.now() - started;
    heapGrowthBytes.push(await heapInUse() - heapBefore);
    rssGrowthBytes.push(Deno.memoryUsage().rss - rssBefore);
  }

  // Control: the smallest object libnl hands out, leaked on purpose once per round.
  const lib = loadLibnl();
  const bytes = new Uint8Array([10, 0, 0, 1]);
  const controlBefore = await heapInUse();
  for (let i = 0; i < rounds; i++) lib.nl_addr_build(2, bytes, 4n);
  const controlGrowthBytes = await heapInUse() - controlBefore;

  netlink.deleteLink(index);
  return {
    rounds,
    operations,
    heapGrowthBytes,
    rssGrowthBytes,
    controlLeaks: rounds,
    controlGrowthBytes,
    msPerRound: elapsed / (rounds * intervals),
  };
}

if (import.meta.main) {
  const [warmUp = "1500", rounds = "1500", intervals = "2"] = Deno.args;
  console.log(JSON.stringify(await churn(Number(warmUp), Number(rounds), Number(intervals))));
}

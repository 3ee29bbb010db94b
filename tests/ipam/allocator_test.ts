import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import {
  RangeIterator,
  rejectDuplicate,
  reserveNext,
  reserveRequested,
} from "../../src/ipam/allocator.ts";
import { canonicalizeRangeSet, type RangeSet } from "../../src/ipam/range_set.ts";
import type { RangeInput } from "../../src/ipam/range.ts";
import { NetworkStore } from "../../src/ipam/store.ts";
import { parseCIDR } from "../../src/net/cidr.ts";
import { formatIP, parseIP } from "../../src/net/ip.ts";
import { withTempDir } from "./harness.ts";

const ip = (text: string) => parseIP(text)!;
const rangeSet = (...ranges: (string | RangeInput)[]): RangeSet =>
  canonicalizeRangeSet(ranges.map((r) => (typeof r === "string" ? { subnet: parseCIDR(r)! } : r)));
const attachment = { containerID: "ID", ifName: "eth0" };
const noLog = () => {};

function drain(iterator: RangeIterator): string[] {
  const out: string[] = [];
  for (let c = iterator.next(); c; c = iterator.next()) out.push(formatIP(c.ip));
  return out;
}

/** Runs `fn` on a locked store in a temp dir holding `taken` IPs and (optionally) a cursor. */
async function withStore(
  setup: { taken?: string[]; lastIP?: string },
  fn: (store: NetworkStore) => void,
) {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/net`);
    for (const t of setup.taken ?? []) await Deno.writeTextFile(`${dir}/net/${t}`, "other\r\neth0");
    if (setup.lastIP) await Deno.writeTextFile(`${dir}/net/last_reserved_ip.0`, setup.lastIP);
    const store = await NetworkStore.open(dir, "net");
    try {
      fn(store);
    } finally {
      store.close();
    }
  });
}

Deno.test("AL-1 iterating a /29 from scratch: .2 to .6, gateway and broadcast skipped", () => {
  assert.deepEqual(drain(new RangeIterator(rangeSet("192.168.1.0/29"))), [
    "192.168.1.2",
    "192.168.1.3",
    "192.168.1.4",
    "192.168.1.5",
    "192.168.1.6",
  ]);
});

Deno.test("AL-2 last reserved .6 starts over at .2", () => {
  assert.deepEqual(drain(new RangeIterator(rangeSet("192.168.1.0/29"), ip("192.168.1.6"))), [
    "192.168.1.2",
    "192.168.1.3",
    "192.168.1.4",
    "192.168.1.5",
    "192.168.1.6",
  ]);
});

Deno.test("AL-3 last reserved .3 continues at .4 and ends with .3", () => {
  assert.deepEqual(drain(new RangeIterator(rangeSet("192.168.1.0/29"), ip("192.168.1.3"))), [
    "192.168.1.4",
    "192.168.1.5",
    "192.168.1.6",
    "192.168.1.2",
    "192.168.1.3",
  ]);
});

Deno.test("AL-4 round-robin table", async () => {
  const cases: Array<{ subnets: string[]; taken?: string[]; lastIP?: string; expect: string }> = [
    { subnets: ["10.0.0.0/29"], expect: "10.0.0.2" },
    { subnets: ["2001:db8:1::/64"], expect: "2001:db8:1::2" },
    { subnets: ["10.0.0.0/30"], expect: "10.0.0.2" },
    { subnets: ["10.0.0.0/29"], taken: ["10.0.0.2"], expect: "10.0.0.3" },
    { subnets: ["10.0.0.0/29"], lastIP: "10.0.0.5", expect: "10.0.0.6" },
    {
      subnets: ["10.0.0.0/29"],
      taken: ["10.0.0.4", "10.0.0.5"],
      lastIP: "10.0.0.3",
      expect: "10.0.0.6",
    },
    { subnets: ["10.0.0.0/29"], taken: ["10.0.0.6"], lastIP: "10.0.0.5", expect: "10.0.0.2" },
    { subnets: ["10.0.0.0/29"], taken: ["10.0.0.2"], lastIP: "10.0.0.128", expect: "10.0.0.3" },
    {
      subnets: ["10.0.0.0/29"],
      taken: ["10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6"],
      lastIP: "10.0.0.3",
      expect: "10.0.0.3",
    },
    { subnets: ["10.0.0.0/30", "10.0.1.0/30"], expect: "10.0.0.2" },
    { subnets: ["10.0.0.0/30", "10.0.1.0/30"], lastIP: "10.0.0.2", expect: "10.0.1.2" },
    {
      subnets: ["10.0.0.0/30", "10.0.1.0/30", "10.0.2.0/30"],
      lastIP: "10.0.2.2",
      expect: "10.0.0.2",
    },
  ];
  for (const c of cases) {
    await withStore(c, (store) => {
      const config = reserveNext(store, rangeSet(...c.subnets), 0, attachment, {
        log: noLog,
      });
      assert.equal(config && formatIP(config.ip), c.expect, JSON.stringify(c));
    });
  }
});

Deno.test("AL-5 five allocations from a /29, the sixth fails (broadcast never given)", async () => {
  await withStore({}, (store) => {
    const set = rangeSet("192.168.1.0/29");
    const got: string[] = [];
    for (let i = 0; i < 5; i++) {
      const c = reserveNext(store, set, 0, { containerID: `ID${i}`, ifName: "eth0" }, {
        log: noLog,
      });
      got.push(`${formatIP(c!.ip)}/${c!.prefix}`);
    }
    assert.deepEqual(got, [
      "192.168.1.2/29",
      "192.168.1.3/29",
      "192.168.1.4/29",
      "192.168.1.5/29",
      "192.168.1.6/29",
    ]);
    assert.equal(reserveNext(store, set, 0, attachment, { log: noLog }), undefined);
  });
});

Deno.test("AL-6 a released IP is not handed out again at once", async () => {
  await withStore({}, (store) => {
    const set = rangeSet("192.168.1.0/29");
    const first = reserveNext(store, set, 0, attachment, { log: noLog });
    assert.equal(formatIP(first!.ip), "192.168.1.2");
    store.releaseByID("ID", "eth0");
    const second = reserveNext(store, set, 0, attachment, { log: noLog });
    assert.equal(formatIP(second!.ip), "192.168.1.3");
  });
});

Deno.test("AL-7..10 requested IPs: granted once, then unavailable; outside start..end refused", async () => {
  await withStore({}, (store) => {
    const set = rangeSet("192.168.1.0/29");
    const got = reserveRequested(store, set, 0, attachment, ip("192.168.1.5"));
    assert.equal(formatIP(got.ip), "192.168.1.5");
    assert.throws(() => reserveRequested(store, set, 0, attachment, ip("192.168.1.5")), {
      message:
        "requested IP address 192.168.1.5 is not available in range set 192.168.1.1-192.168.1.6",
    });
    const ends = rangeSet({ subnet: parseCIDR("192.168.1.0/29")!, rangeEnd: ip("192.168.1.4") });
    assert.throws(() => reserveRequested(store, ends, 0, attachment, ip("192.168.1.5")), {
      message: /not in range set/,
    });
    const starts = rangeSet({
      subnet: parseCIDR("192.168.1.0/29")!,
      rangeStart: ip("192.168.1.3"),
    });
    assert.throws(() => reserveRequested(store, starts, 0, attachment, ip("192.168.1.2")), {
      message: /not in range set/,
    });
    assert.throws(() => reserveRequested(store, set, 0, attachment, ip("192.168.1.1")), {
      message: "requested ip 192.168.1.1 is subnet's gateway",
    });
  });
});

Deno.test("AL-11 exhaustion in three shapes", async () => {
  const cases = [
    { subnets: ["10.0.0.0/30"], taken: ["10.0.0.2"] },
    {
      subnets: ["10.0.0.0/29"],
      taken: ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"],
    },
    { subnets: ["10.0.0.0/30", "10.0.1.0/30"], taken: ["10.0.0.2", "10.0.1.2"] },
  ];
  for (const c of cases) {
    await withStore(c, (store) => {
      assert.equal(
        reserveNext(store, rangeSet(...c.subnets), 0, attachment, { log: noLog }),
        undefined,
      );
    });
  }
});

Deno.test("AL-12/13 where iteration starts in a multi-range set", () => {
  const set = rangeSet(
    {
      subnet: parseCIDR("192.168.1.0/30")!,
      rangeStart: ip("192.168.1.0"),
      rangeEnd: ip("192.168.1.3"),
    },
    {
      subnet: parseCIDR("192.168.2.0/30")!,
      rangeStart: ip("192.168.2.0"),
      rangeEnd: ip("192.168.2.3"),
    },
  );
  const fromLast = new RangeIterator(set, ip("192.168.1.3"));
  fromLast.next();
  assert.equal(formatIP(fromLast.startIP!), "192.168.2.0");
  const fresh = new RangeIterator(set);
  fresh.next();
  assert.equal(formatIP(fresh.startIP!), "192.168.1.0");
});

Deno.test("S-8 explicit rangeStart = network address is allocatable", () => {
  const set = rangeSet({ subnet: parseCIDR("10.70.0.0/24")!, rangeStart: ip("10.70.0.0") });
  assert.equal(formatIP(new RangeIterator(set).next()!.ip), "10.70.0.0");
});

Deno.test("duplicate check: same attachment, or a legacy bare-ID file, in the set", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/net`);
    await Deno.writeTextFile(`${dir}/net/10.0.0.9`, "  ID \n");
    await Deno.writeTextFile(`${dir}/net/10.9.9.9`, "ID\r\neth0");
    const store = await NetworkStore.open(dir, "net");
    try {
      assert.throws(
        () =>
          rejectDuplicate(store, rangeSet("10.0.0.0/24"), { containerID: "ID", ifName: "eth1" }),
        { message: "10.0.0.9 has been allocated to ID, duplicate allocation is not allowed" },
      );
      rejectDuplicate(store, rangeSet("10.1.0.0/24"), attachment);
    } finally {
      store.close();
    }
  });
});

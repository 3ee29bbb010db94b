/**
 * keepnet-vtepd with bad input from disk, from other nodes, from its flags: each row is one
 * finding, what a hostile or unlucky edge node feeds the daemon, and what must happen instead of
 * an exit on every start, a loop or a silent failure. New findings become new rows.
 */
import assert from "node:assert/strict";
import { FlagError, parseFlags } from "../../src/vtepd/flags.ts";
import { ifaceFlagProblem } from "../../src/vtepd/underlay.ts";
import { NET_CONF_LIMIT, readTextBounded } from "../../src/vtepd/read_config.ts";
import { loadIPv6 } from "../../src/net/ip.ts";
import { Errno } from "../../src/netlink/mod.ts";
import { bareNode, flannelNode } from "../kube/fixtures.ts";
import { daemonHarness, type Harness, type HarnessOptions, seedCluster } from "./daemon_harness.ts";

await loadIPv6();

interface DaemonRow {
  /** The bad input. */
  given: string;
  /** What the daemon must do with it. */
  then: string;
  harness?: HarnessOptions;
  /** Changes to the cluster, kernel or files before the daemon starts. */
  before?: (h: Harness) => void | Promise<void>;
  check: (h: Harness) => Promise<void>;
}

const savedWithMAC = (vtepMAC: string): HarnessOptions => ({ savedState: { vtepMAC } });
const savedWithLease = (podCIDR: string): HarnessOptions => ({
  savedState: { lease: { podCIDR, publicIP: "192.168.1.1" } },
});

async function startsWithNewMAC(h: Harness): Promise<void> {
  await h.daemon.start();
  assert.ok(h.daemon.ready());
  assert.equal(h.daemon.status().macSource, "generated");
  assert.equal(h.kernel.getLink("flannel.1")!.mac, h.daemon.mac);
  assert.ok(h.log.lines.some((line) => /MAC source skipped .*not a usable unicast MAC/.test(line)));
  await h.until("the new MAC on disk", async () => {
    const text = await Deno.readTextFile(`${h.options.stateDir}/vtepd-state.json`);
    return text.includes(h.daemon.mac);
  });
}

async function leaseFromAPI(h: Harness): Promise<void> {
  await h.daemon.start();
  assert.ok(h.daemon.ready());
  assert.match(await Deno.readTextFile(h.options.subnetFile), /FLANNEL_SUBNET=10\.244\.1\.1\/24/);
  assert.ok(h.log.lines.some((line) => /ignoring the saved lease; asking the API/.test(line)));
  assert.ok(h.api.requests.includes("get edge-1"));
}

const DAEMON_ROWS: DaemonRow[] = [
  {
    given: "a state file whose vtepMAC is multicast",
    then: "the MAC is set aside; the next source (here a new MAC) is used and saved",
    harness: savedWithMAC("01:00:5e:00:00:01"),
    check: startsWithNewMAC,
  },
  {
    given: "a state file whose vtepMAC is all-zero",
    then: "the same",
    harness: savedWithMAC("00:00:00:00:00:00"),
    check: startsWithNewMAC,
  },
  {
    given: "a state file whose vtepMAC is broadcast",
    then: "the same",
    harness: savedWithMAC("ff:ff:ff:ff:ff:ff"),
    check: startsWithNewMAC,
  },
  {
    given: "a saved pod CIDR wider than Network (10.244.0.0/8 in 10.244.0.0/16)",
    then: "the saved lease is ignored and the API asked",
    harness: savedWithLease("10.244.0.0/8"),
    check: leaseFromAPI,
  },
  {
    given: "a saved pod CIDR of /0",
    then: "the same",
    harness: savedWithLease("0.0.0.0/0"),
    check: leaseFromAPI,
  },
  {
    given: "a saved pod CIDR outside a changed Network",
    then: "the same, instead of an exit on every start",
    harness: savedWithLease("10.1.5.0/24"),
    check: leaseFromAPI,
  },
  {
    given: "Backend.MTU 9000 on a 1500-byte underlay",
    then: "clamped to the underlay (device 1450) with a warning naming Backend.MTU and the limit",
    harness: { backendMTU: 9000 },
    check: async (h) => {
      await h.daemon.start();
      assert.equal(h.kernel.getLink("flannel.1")!.mtu, 1450);
      assert.ok(
        h.log.lines.some((line) =>
          /Backend\.MTU 9000 is larger than the MTU of the underlay eth0 \(1500\)/.test(line)
        ),
      );
      assert.match(await Deno.readTextFile(h.options.subnetFile), /FLANNEL_MTU=1450/);
    },
  },
  {
    given: "a device attribute the kernel refuses during a resync (MTU: EINVAL)",
    then: "it is reported, and every peer entry is still repaired",
    check: async (h) => {
      await h.daemon.start();
      await h.until("peers routed", () => h.routedPeers().length === 2);
      h.kernel.outside.setLinkMtu("flannel.1", 1400);
      h.kernel.outside.deleteRoute("10.244.2.0/24");
      h.kernel.failNext = { call: "setLinkMtu", errno: Errno.EINVAL };
      await h.daemon.resync();
      assert.deepEqual(h.routedPeers(), ["edge-2", "edge-3"]);
      assert.ok(h.log.lines.some((line) => /cannot set an attribute .*set MTU 1450/.test(line)));
    },
  },
  {
    given: "two peers advertising the same VtepMAC (a cloned disk)",
    then: "an error naming both; the first keeps the FDB entry, which never flips",
    before: (h) => {
      h.api.put(flannelNode("edge-4", 4, { mac: "0a:00:00:00:00:02" }));
    },
    check: async (h) => {
      await h.daemon.start();
      await h.until("edge-2 routed", () => h.routedPeers().includes("edge-2"));
      const ifindex = h.kernel.getLink("flannel.1")!.index;
      const fdb = () => h.kernel.listFdb({ ifindex }).filter((e) => e.mac === "0a:00:00:00:00:02");
      assert.deepEqual(fdb().map((entry) => entry.dst), ["192.168.0.2"]);
      assert.ok(!h.routedPeers().includes("edge-4"), "the second owner is left out");
      assert.ok(
        h.log.lines.some((line) =>
          /ERROR two nodes advertise the same VTEP MAC.* owner=edge-2 node=edge-4/.test(line)
        ),
      );
      const writes = () => h.kernel.calls.filter((call) => call.startsWith("replaceFdb")).length;
      const before = writes();
      for (let i = 0; i < 3; i++) await h.daemon.resync();
      h.api.put(flannelNode("edge-4", 4, { mac: "0a:00:00:00:00:02", publicIP: "192.168.0.44" }));
      await h.daemon.settled();
      assert.equal(writes(), before, "the kernel is not flapped");
      assert.deepEqual(fdb().map((entry) => entry.dst), ["192.168.0.2"]);
      assert.equal(h.daemon.status().duplicateMacPeers, 1);
      // The first owner leaves: the MAC is edge-4's now.
      h.api.delete("edge-2");
      await h.until("edge-4 programmed", () => h.routedPeers().includes("edge-4"));
      assert.deepEqual(fdb().map((entry) => entry.dst), ["192.168.0.44"]);
      assert.equal(h.daemon.status().duplicateMacPeers, 0);
    },
  },
  {
    given: "a peer advertising this node's own VTEP MAC",
    then: "an error; the peer is left out of the kernel",
    harness: savedWithMAC("0a:00:00:00:00:03"),
    check: async (h) => {
      await h.daemon.start();
      await h.until("edge-2 routed", () => h.routedPeers().includes("edge-2"));
      assert.deepEqual(h.routedPeers(), ["edge-2"]);
      assert.ok(
        h.log.lines.some((line) =>
          /ERROR a peer advertises this node's own VTEP MAC.* node=edge-3/.test(line)
        ),
      );
    },
  },
  {
    given: "a subnet.env that cannot be written (its directory is a file)",
    then: "no 'data plane ready'; an error saying pods cannot get a network; not ready",
    before: async (h) => {
      await Deno.writeTextFile(`${h.dir}/run`, "not a directory");
    },
    check: async (h) => {
      await h.daemon.start();
      assert.equal(h.daemon.ready(), false);
      assert.ok(!h.log.lines.some((line) => /data plane ready/.test(line)));
      assert.ok(
        h.log.lines.some((line) => /ERROR cannot write subnet\.env; pods cannot/.test(line)),
      );
    },
  },
  {
    given: "a state file that is not JSON",
    then: "one warning; the daemon starts from the API",
    before: async (h) => {
      await Deno.mkdir(h.options.stateDir, { recursive: true });
      await Deno.writeFile(
        `${h.options.stateDir}/vtepd-state.json`,
        new Uint8Array([0xff, 0xfe, 0x00, 0x7b, 0x22]),
      );
    },
    check: async (h) => {
      await h.daemon.start();
      assert.ok(h.daemon.ready());
      assert.equal(
        h.log.lines.filter((line) => /ignoring unusable state file/.test(line)).length,
        1,
      );
    },
  },
  {
    given: "a state file larger than 16 MiB (a runaway write)",
    then: "one warning naming the limit; the daemon starts from the API",
    before: async (h) => {
      await Deno.mkdir(h.options.stateDir, { recursive: true });
      using file = await Deno.open(`${h.options.stateDir}/vtepd-state.json`, {
        write: true,
        create: true,
      });
      await file.truncate(17 * 1024 * 1024);
    },
    check: async (h) => {
      await h.daemon.start();
      assert.ok(h.daemon.ready());
      assert.ok(
        h.log.lines.some((line) => /ignoring unusable state file .*larger than 16 MiB/.test(line)),
      );
    },
  },
  {
    given: "a FIFO where the state file should be",
    then: "never opened (it would block); one warning; the daemon starts from the API",
    before: async (h) => {
      await Deno.mkdir(h.options.stateDir, { recursive: true });
      const mkfifo = await new Deno.Command("mkfifo", {
        args: [`${h.options.stateDir}/vtepd-state.json`],
      }).output();
      assert.equal(mkfifo.code, 0);
    },
    check: async (h) => {
      await h.daemon.start();
      assert.ok(h.daemon.ready());
      assert.ok(h.log.lines.some((line) => /state file .* is not a regular file/.test(line)));
    },
  },
  {
    given: "the own Node without a pod CIDR, then with one outside Network, then a good one",
    then: "the daemon waits with one warning per problem and starts once the Node is fixed",
    before: (h) => {
      h.api.put(bareNode("edge-1"));
    },
    check: async (h) => {
      const started = h.daemon.start();
      await h.until(
        "the first complaint",
        () => h.log.lines.some((line) => /no pod CIDR assigned/.test(line)),
      );
      h.api.put(bareNode("edge-1", "10.9.0.0/24"));
      await h.until(
        "the second complaint",
        () => h.log.lines.some((line) => /10\.9\.0\.0\/24 .*is not inside Network/.test(line)),
        5000,
      );
      h.api.put(bareNode("edge-1", "10.244.1.0/24"));
      await started;
      assert.ok(h.daemon.ready());
    },
  },
];

for (const row of DAEMON_ROWS) {
  Deno.test(`hostile input (vtepd): ${row.given} → ${row.then}`, async () => {
    await using h = await daemonHarness(row.harness);
    seedCluster(h.api);
    await row.before?.(h);
    await row.check(h);
  });
}

interface FlagRow {
  given: string[];
  /** The message the daemon stops with. */
  error: RegExp;
}

const FLAG_ROWS: FlagRow[] = [
  { given: ["--healthz-ip=bogus"], error: /^--healthz-ip must be an IP address, got "bogus"$/ },
  { given: ["--healthz-ip=example.com"], error: /^--healthz-ip must be an IP address/ },
  { given: ["--resync-seconds=0"], error: /^--resync-seconds must be an integer from 1/ },
  { given: ["--log-level=loud"], error: /^--log-level must be debug, info, warn or error/ },
  { given: ["--kube-api-url=127.0.0.1:10261"], error: /^--kube-api-url must be an http/ },
  { given: ["--iface-regex=eth("], error: /^--iface-regex "eth\(" is not a usable regular/ },
  { given: ["--kube-subnet-mgr=false"], error: /^--kube-subnet-mgr=false selects flanneld's etcd/ },
  { given: ["--etcd-endpoints=http://e:2379"], error: /^--etcd-endpoints is not supported/ },
  { given: ["--ip-masq", "false"], error: /^unexpected argument "false": a boolean flag/ },
];

for (const row of FLAG_ROWS) {
  Deno.test(`hostile input (vtepd flags): ${row.given.join(" ")} stops at once, naming the flag`, () => {
    assert.throws(
      () => parseFlags(["--node-name=edge-1", ...row.given], () => undefined),
      (error: unknown) => error instanceof FlagError && row.error.test(error.message),
    );
  });
}

Deno.test("hostile input (vtepd flags): --iface with an IPv6 address is refused at once, not retried forever", () => {
  const ipv4Only = { ifaceRegex: [], ipv6: false };
  assert.match(
    ifaceFlagProblem({ ...ipv4Only, iface: ["fd00::1"] })!,
    /^--iface fd00::1 is an IPv6 address/,
  );
  assert.equal(ifaceFlagProblem({ ...ipv4Only, iface: ["eth0", "192.168.1.1"] }), undefined);
  assert.equal(ifaceFlagProblem({ ifaceRegex: [], ipv6: true, iface: ["fd00::1"] }), undefined);
});

Deno.test("hostile input (vtepd files): net-conf pointed at /dev/zero or a huge file fails at once, naming it", async () => {
  assert.throws(
    () => readTextBounded("/dev/zero", NET_CONF_LIMIT, "net-conf"),
    /net-conf \/dev\/zero is not a regular file/,
  );
  const dir = await Deno.makeTempDir();
  try {
    using file = await Deno.open(`${dir}/net-conf.json`, { write: true, create: true });
    await file.truncate(2 * 1024 * 1024);
    assert.throws(
      () => readTextBounded(`${dir}/net-conf.json`, NET_CONF_LIMIT, "net-conf"),
      /net-conf .*net-conf\.json is larger than 1 MiB/,
    );
    assert.throws(
      () => readTextBounded(`${dir}/absent`, NET_CONF_LIMIT, "net-conf"),
      Deno.errors.NotFound,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

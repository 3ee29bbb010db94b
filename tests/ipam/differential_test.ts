/**
 * Differential tests: the same scenario sequences (the catalogue of specs/host-local-runs) run
 * against Debian's Go host-local and against keepnet-ipam (the bundle), each in its own data
 * directory; exit codes, error codes and messages, results and store contents must match.
 *
 * Normalised, because they are deliberate differences of our protocol profile (README,
 * "Differences from host-local"): 1.x results are compared as parsed JSON with an empty `dns`
 * equal to an absent one; file modes are not compared; cniVersion 1.1.0, GC, STATUS and
 * multi-fault environment errors are left out, and the supported-versions list of an
 * "incompatible CNI versions" error is compared without 1.1.0. Syntax-error messages of non-JSON stdin are
 * compared by code only. Both data directories appear as "DIR" in messages.
 */
import assert from "node:assert/strict";
import type { PluginOutput } from "../../src/cni/skel.ts";
import {
  type Call,
  hasHostLocal,
  hostLocal,
  ipamBundle,
  readStore,
  withTempDir,
} from "./harness.ts";

interface Step {
  command?: string;
  id?: string;
  ifName?: string;
  args?: string;
  /** Replaces the scenario's config for this step ("DIR" is the data directory). */
  config?: unknown;
  /** Raw stdin instead of a config. */
  stdin?: string;
  /** The whole environment (for environment-error cases). */
  env?: Record<string, string>;
  /** Prepares the data directory (run for both implementations). */
  before?: (dir: string) => Promise<void>;
  /** Compare only the error code (for texts the two write differently on purpose). */
  codeOnly?: boolean;
  /** Skip the store comparison after this step (a documented deviation). */
  storeDiffers?: boolean;
}

interface Scenario {
  name: string;
  config: unknown;
  steps: Step[];
}

const V = (
  ipam: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  cniVersion = "1.0.0",
) => ({
  cniVersion,
  name: "net",
  type: "bridge",
  ipam: { type: "host-local", dataDir: "DIR", ...ipam },
  ...extra,
});

const write = (name: string, content: string) => async (dir: string) => {
  await Deno.mkdir(`${dir}/net`, { recursive: true });
  await Deno.writeTextFile(`${dir}/net/${name}`, content);
};

const dualStack = (cniVersion: string | undefined) => ({
  ...(cniVersion === undefined ? {} : { cniVersion }),
  name: "net",
  type: "bridge",
  ipam: {
    type: "host-local",
    dataDir: "DIR",
    ranges: [[{ subnet: "10.20.0.0/24" }], [{ subnet: "fd00:20::/64" }]],
    routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0", gw: "fd00:20::fe" }],
    resolvConf: "DIR/resolv.conf",
  },
});
const resolvConf = async (dir: string) =>
  await Deno.writeTextFile(
    `${dir}/resolv.conf`,
    "nameserver 10.0.0.53\nnameserver fd00::53\ndomain example.com\nsearch a.example.com b.example.com\noptions ndots:5 timeout:2\n",
  );

const FULL_ENV = {
  CNI_COMMAND: "ADD",
  CNI_CONTAINERID: "a",
  CNI_NETNS: "/x",
  CNI_IFNAME: "eth0",
  CNI_PATH: "/x",
};

const SCENARIOS: Scenario[] = [
  {
    name: "01 basic ADD, duplicate, CHECK, DEL",
    config: V({ subnet: "10.10.0.0/29", routes: [{ dst: "0.0.0.0/0" }] }),
    steps: [
      { id: "c1" },
      { id: "c1" },
      { id: "c1", ifName: "eth1" },
      { command: "CHECK", id: "c1" },
      { command: "CHECK", id: "c9" },
      { command: "DEL", id: "c1" },
      { command: "DEL", id: "c1" },
      { command: "CHECK", id: "c1" },
      { command: "CHECK", id: "c1", ifName: "eth1" },
    ],
  },
  {
    name: "02 result shape of every version (dual-stack, routes, resolv.conf)",
    config: dualStack("1.0.0"),
    steps: [undefined, "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "2.0.0", "abc"].map((
      v,
      i,
    ) => ({
      id: `v${i}`,
      config: dualStack(v),
      before: resolvConf,
    })),
  },
  {
    name: "03 exhaustion of a two-range set, then reuse after DEL",
    config: V({ ranges: [[{ subnet: "10.30.0.0/30" }, { subnet: "10.31.0.0/30" }]] }, {}, "0.4.0"),
    steps: [{ id: "a" }, { id: "b" }, { id: "c" }, { command: "DEL", id: "a" }, { id: "d" }],
  },
  {
    name: "04 round robin with the gateway inside the range; odd cursors",
    config: V({
      subnet: "10.40.0.0/29",
      rangeStart: "10.40.0.3",
      rangeEnd: "10.40.0.6",
      gateway: "10.40.0.4",
    }),
    steps: [
      { id: "a" },
      { id: "b" },
      { command: "DEL", id: "a" },
      { id: "c" },
      { id: "d" },
      { id: "e" },
      { command: "DEL", id: "b", before: write("last_reserved_ip.0", "192.168.0.1") },
      { id: "f" },
      { command: "DEL", id: "f", before: write("last_reserved_ip.0", "garbage") },
      { id: "g" },
      { command: "DEL", id: "g" },
      // A cursor that cannot be read: logged, then the write fails (we also drop the new file).
      {
        id: "h",
        before: async (dir) => {
          await Deno.remove(`${dir}/net/last_reserved_ip.0`);
          await Deno.mkdir(`${dir}/net/last_reserved_ip.0`);
        },
        storeDiffers: true,
      },
    ],
  },
  {
    name: "05 requested IPs from CNI_ARGS",
    config: V({
      ranges: [[{ subnet: "10.50.0.0/24", rangeStart: "10.50.0.10", rangeEnd: "10.50.0.20" }], [{
        subnet: "fd00:50::/120",
      }]],
    }),
    steps: [
      { id: "a", args: "IP=10.50.0.15" },
      { id: "b" },
      { id: "c", args: "K8S_POD_NAMESPACE=default;IP=10.50.0.17" },
      { id: "c", args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;IP=10.50.0.17" },
      { id: "d", args: "IP=10.50.0.15" },
      { id: "e", args: "IP=10.50.0.5" },
      { id: "e", args: "IP=10.50.0.1" },
      { id: "e", args: "IP=192.168.1.1" },
      { id: "e", args: "IP=notanip" },
      { id: "e", args: "IP=10.50.0.18/24" },
      { id: "f", args: "IP=10.50.0.19;" },
      { id: "f", args: "IP=a=b" },
      { id: "f", args: "IgnoreUnknown=yes;IP=10.50.0.19" },
      { id: "f", args: "CommonArgs=1" },
      { id: "f", args: "IP=fd00:50::33" },
      { command: "DEL", id: "a", args: "FOO=bar" },
      { command: "DEL", id: "a", args: "IP=zzz" },
    ],
  },
  {
    name: "06 requested IPs from args.cni.ips and runtimeConfig.ips",
    config: V({ ranges: [[{ subnet: "10.60.0.0/24" }], [{ subnet: "fd00:60::/120" }]] }),
    steps: [
      {
        id: "a",
        config: V({ ranges: [[{ subnet: "10.60.0.0/24" }], [{ subnet: "fd00:60::/120" }]] }, {
          args: { cni: { ips: ["10.60.0.100", "fd00:60::a0"] } },
        }),
      },
      {
        id: "b",
        config: V({ ranges: [[{ subnet: "10.60.0.0/24" }], [{ subnet: "fd00:60::/120" }]] }, {
          runtimeConfig: { ips: ["10.60.0.101", "fd00:60::a1/64"] },
        }),
      },
      {
        id: "c",
        config: V({ ranges: [[{ subnet: "10.60.0.0/24" }], [{ subnet: "fd00:60::/120" }]] }, {
          args: { cni: { ips: ["10.60.0.102"] } },
          runtimeConfig: { ips: ["fd00:60::a2"] },
        }),
      },
      {
        id: "d",
        config: V({ ranges: [[{ subnet: "10.60.0.0/24" }], [{ subnet: "fd00:60::/120" }]] }, {
          runtimeConfig: { ips: ["10.60.0.1"] },
        }),
      },
      {
        id: "e",
        config: V({ ranges: [[{ subnet: "10.60.0.0/24" }], [{ subnet: "fd00:60::/120" }]] }, {
          runtimeConfig: { ips: ["10.60.0.102"] },
        }),
      },
      {
        id: "f",
        config: V({ ranges: [[{ subnet: "10.60.0.0/24" }], [{ subnet: "fd00:60::/120" }]] }, {
          args: { cni: { ips: ["bogus"] } },
        }),
      },
      {
        id: "f",
        config: V({ ranges: [[{ subnet: "10.60.0.0/24" }], [{ subnet: "fd00:60::/120" }]] }, {
          args: { cni: { ips: [""] } },
        }),
      },
      {
        id: "g",
        config: V({ ranges: [[{ subnet: "10.60.0.0/24" }], [{ subnet: "fd00:60::/120" }]] }, {
          args: { cni: { ips: ["10.60.0.120", "10.60.0.120"] } },
          runtimeConfig: { ips: ["10.60.0.120"] },
        }),
      },
      {
        id: "h",
        config: V({ ranges: [[{ subnet: "10.60.0.0/24" }], [{ subnet: "fd00:60::/120" }]] }, {
          runtimeConfig: { ips: ["10.60.0.0"] },
        }),
      },
      {
        id: "h",
        config: V({ ranges: [[{ subnet: "10.60.0.0/24" }], [{ subnet: "fd00:60::/120" }]] }, {
          runtimeConfig: { ips: ["10.60.0.255"] },
        }),
      },
      {
        id: "h",
        config: V({ ranges: [[{ subnet: "10.60.0.0/24" }], [{ subnet: "fd00:60::/120" }]] }, {
          runtimeConfig: { ips: ["fd00:60::100"] },
        }),
      },
      { id: "i", args: "ip=10.60.0.130" },
      { id: "i", args: "ignoreunknown=1;FOO=bar" },
    ],
  },
  {
    name: "08 configuration validation catalogue",
    config: V({ subnet: "10.70.0.0/24" }, {}, "0.4.0"),
    steps: [
      {},
      { subnet: "10.70.0.0/31" },
      { subnet: "10.70.0.0/32" },
      { subnet: "fd00::/127" },
      { subnet: "fd00::/126" },
      { subnet: "10.70.0.5/24" },
      { subnet: "10.70.0.0/24", rangeStart: "10.71.0.1" },
      { subnet: "10.70.0.0/24", rangeEnd: "10.71.0.1" },
      { subnet: "10.70.0.0/24", rangeStart: "10.70.0.0" },
      { subnet: "10.70.0.0/24", rangeEnd: "10.70.0.255" },
      { subnet: "10.70.0.0/24", rangeStart: "10.70.0.50", rangeEnd: "10.70.0.40" },
      { subnet: "10.70.0.0/24", gateway: "10.99.0.1" },
      { subnet: "10.70.0.0/24", gateway: "fd00::1" },
      { subnet: "10.70.0.0/24", rangeStart: "fd00::1" },
      { subnet: "notacidr" },
      { subnet: "10.70.0.0/24", rangeStart: "nope" },
      { ranges: [[]] },
      { ranges: [] },
      { ranges: [[{ subnet: "10.70.0.0/24" }, { subnet: "fd00::/64" }]] },
      { ranges: [[{ subnet: "10.70.0.0/24" }, { subnet: "10.70.0.0/25" }]] },
      {
        ranges: [[{ subnet: "10.70.0.0/24", rangeStart: "10.70.0.10", rangeEnd: "10.70.0.20" }, {
          subnet: "10.70.0.0/24",
          rangeStart: "10.70.0.21",
          rangeEnd: "10.70.0.30",
        }]],
      },
      { ranges: [[{ subnet: "10.70.0.0/24" }], [{ subnet: "10.70.0.0/16" }]] },
      {
        ranges: [[{ subnet: "10.70.0.0/24" }], [{ subnet: "10.71.0.0/24" }], [{
          subnet: "10.70.0.128/25",
        }]],
      },
      { subnet: "10.70.0.0/24", ranges: [[{ subnet: "10.70.0.0/24" }]] },
      { subnet: "10.70.0.0/24", ranges: [[{ subnet: "10.72.0.0/24" }]] },
      { ranges: [[{ subnet: "10.70.0.0/24" }]], routes: [{ dst: "bad" }] },
      {
        ranges: [[{ subnet: "10.70.0.0/24" }]],
        routes: [{ dst: "10.1.2.3/8", gw: "10.70.0.1" }, null, { gw: "1.2.3.4" }],
      },
      { ranges: [[{ subnet: "10.70.0.0/24" }]], resolvConf: "/nonexistent" },
      { ranges: [[{ subnet: "10.70.0.0/24" }]], unknownField: 1 },
      { subnet: "::ffff:10.0.0.0/120" },
      { subnet: "FD00:15:0::/64", gateway: "fd00:15::00fe" },
    ].map((ipam, i): Step => ({ id: `v${i}`, config: V(ipam, {}, "0.4.0") })).concat([
      { id: "n1", config: { cniVersion: "0.4.0", name: "net" } },
      { id: "n2", config: { cniVersion: "0.4.0", name: "net", ipam: null } },
      { id: "n3", config: { cniVersion: "0.4.0", name: "net", ipam: "str" } },
    ]),
  },
  {
    name: "09 environment errors (one fault at a time)",
    config: V({ subnet: "10.80.0.0/24" }),
    steps: [
      { env: { CNI_COMMAND: "ADD" } },
      { env: { ...FULL_ENV, CNI_PATH: "" } },
      { env: { CNI_COMMAND: "DEL", CNI_CONTAINERID: "a", CNI_IFNAME: "eth0" } },
      { env: { CNI_COMMAND: "DEL", CNI_CONTAINERID: "a", CNI_IFNAME: "eth0", CNI_PATH: "/x" } },
      { env: { ...FULL_ENV, CNI_CONTAINERID: "-bad" } },
      { env: { ...FULL_ENV, CNI_CONTAINERID: "a b" } },
      { env: { ...FULL_ENV, CNI_IFNAME: "eth0123456789012" } },
      { env: { ...FULL_ENV, CNI_IFNAME: "eth:0" } },
      { env: { ...FULL_ENV, CNI_IFNAME: ".." } },
      { env: { ...FULL_ENV, CNI_COMMAND: "FOO" } },
      { env: { ...FULL_ENV, CNI_COMMAND: "add" } },
      { env: { ...FULL_ENV, CNI_NETNS: "/proc/self/ns/net" } },
    ],
  },
  {
    name: "10 network names, stdin, versions of CHECK, DEL with bad config",
    config: V({ subnet: "10.90.0.0/24" }),
    steps: [
      { config: { ...V({ subnet: "10.90.0.0/24" }), name: "a/b" } },
      { config: { ...V({ subnet: "10.90.0.0/24" }), name: ".." } },
      { config: { cniVersion: "1.0.0", ipam: { dataDir: "DIR", subnet: "10.90.0.0/24" } } },
      { config: { ...V({ subnet: "10.90.0.0/24" }), name: "" } },
      { stdin: "not json", codeOnly: true },
      { stdin: "" },
      { config: { ...V({ subnet: "10.90.0.0/24" }), name: "ok_net.1-x" } },
      { config: { ...V({ subnet: "10.90.0.0/24" }), cniVersion: 1 } },
      {
        config: {
          ...V({ ranges: [[{ subnet: "10.93.0.0/24" }], [{ subnet: "10.94.0.0/24" }]] }),
          cniVersion: "0.2.0",
        },
      },
      { command: "CHECK", config: { ...V({ subnet: "10.93.0.0/24" }), cniVersion: "0.2.0" } },
      { command: "CHECK", config: { ...V({ subnet: "10.93.0.0/24" }), cniVersion: "0.3.1" } },
      { command: "CHECK", config: { ...V({ subnet: "10.93.0.0/24" }), cniVersion: "0.4.0" } },
      { command: "DEL", config: { cniVersion: "0.4.0", name: "net", ipam: { dataDir: "DIR" } } },
      { command: "DEL", config: { cniVersion: "0.4.0", name: "net" } },
      {
        command: "DEL",
        config: V({ subnet: "10.93.0.0/24" }, {
          prevResult: { cniVersion: "0.4.0", ips: [{ version: "4", address: "10.93.0.77/24" }] },
        }, "0.4.0"),
      },
      {
        config: {
          cniVersion: "1.0.0",
          name: "reldir",
          ipam: { dataDir: "relative-dir", subnet: "10.92.0.0/24" },
        },
      },
    ],
  },
  {
    name: "11 legacy, padded and LF-only files",
    config: V({ subnet: "10.100.0.0/24" }, {}, "0.4.0"),
    steps: [
      {
        command: "CHECK",
        id: "old1",
        before: async (dir) => {
          for (
            const [name, content] of [
              ["10.100.0.50", "old1"],
              ["10.100.0.51", "old2\n"],
              ["10.100.0.52", "  new3\r\neth0\n"],
              ["10.100.0.53", "new4\neth0"],
              ["fd00:100::50", "old1"],
              ["not-an-ip", "old1"],
            ]
          ) await write(name!, content!)(dir);
        },
      },
      { id: "old1" },
      { id: "old1", ifName: "eth1" },
      { command: "CHECK", id: "new3" },
      { command: "CHECK", id: "new4" },
      { command: "DEL", id: "old1" },
      { command: "DEL", id: "old2" },
      { command: "DEL", id: "new3" },
    ],
  },
  {
    name: "12 a container ID that looks like an IP",
    config: V({ subnet: "10.110.0.0/24" }),
    steps: [{ id: "10.110.0.2" }, { command: "DEL", id: "10.110.0.2" }, {
      command: "DEL",
      id: "10.110.0.2",
    }],
  },
  {
    name: "14 dual-stack with the IPv6 set exhausted",
    config: V({ ranges: [[{ subnet: "10.130.0.0/24" }], [{ subnet: "fd00:130::/126" }]] }),
    steps: [{ id: "a" }, { id: "b" }, { id: "c" }, { command: "DEL", id: "a" }, {
      command: "CHECK",
      id: "b",
      config: V(
        { ranges: [[{ subnet: "10.130.0.0/24" }], [{ subnet: "fd00:130::/126" }]] },
        {},
        "0.4.0",
      ),
    }],
  },
  {
    name: "15 runtimeConfig.ipRanges and IPv6 range ends",
    config: V({ ranges: [[{ subnet: "10.140.0.0/24" }]] }, {
      runtimeConfig: { ipRanges: [[{ subnet: "10.141.0.0/24" }]] },
    }),
    steps: [
      {},
      {
        id: "b",
        config: V({ ranges: [[{ subnet: "10.140.0.0/24" }]] }, {
          runtimeConfig: { ipRanges: [[{ subnet: "10.140.0.0/24" }]] },
        }),
      },
      { id: "c", config: V({}, { runtimeConfig: { ipRanges: [[{ subnet: "10.142.0.0/24" }]] } }) },
      {
        id: "d",
        config: V({ subnet: "fd00:14::/64", rangeStart: "fd00:14::ffff:ffff:ffff:fffe" }),
      },
      {
        id: "e",
        config: V({ subnet: "fd00:14::/64", rangeStart: "fd00:14::ffff:ffff:ffff:fffe" }),
      },
      {
        id: "f",
        config: V({ subnet: "fd00:14::/64", rangeStart: "fd00:14::ffff:ffff:ffff:fffe" }),
      },
      { id: "g", config: V({ subnet: "10.143.0.0/24", gateway: "10.143.0.254" }) },
    ],
  },
  {
    name: "16 a requested IP skips the duplicate check; DEL releases both",
    config: V({ subnet: "10.150.0.0/24" }),
    steps: [{ id: "c1" }, { id: "c1", args: "IP=10.150.0.50" }, { command: "DEL", id: "c1" }],
  },
  {
    name: "18 the legacy sweep with two range sets",
    config: V({ ranges: [[{ subnet: "10.160.0.0/24" }], [{ subnet: "10.161.0.0/24" }]] }),
    steps: [{
      command: "DEL",
      id: "c",
      ifName: "eth1",
      before: async (dir) => {
        await write("10.160.0.10", "c\r\neth1")(dir);
        await write("10.160.0.9", "c")(dir);
        await write("10.161.0.10", "c\r\neth1")(dir);
      },
    }, {
      command: "DEL",
      id: "c",
      ifName: "eth1",
      config: V({ subnet: "10.160.0.0/24" }),
      before: write("10.160.0.8", "c"),
    }],
  },
  {
    name: "19 IP text forms",
    config: V({ subnet: "10.1.0.0/24" }),
    steps: [
      { config: V({ subnet: "010.1.0.0/24" }) },
      { args: "IP=010.1.0.5" },
      { args: "IP=::ffff:10.1.0.77" },
      { id: "b", config: V({ subnet: "2001:DB8:0:0:1::/80", rangeStart: "2001:db8::1:0:0:10" }) },
      { id: "c", args: "IP=fd00::1%eth0", config: V({ subnet: "fd00::/64" }) },
      { id: "d", config: V({ subnet: "fd00:0:0:1::/64", rangeStart: "fd00:0:0:1:0:1:0:1" }) },
    ],
  },
  {
    name: "23 Go JSON quirks",
    config: V({ subnet: "10.180.0.0/24" }),
    steps: [
      {
        id: "a",
        config: {
          cniVersion: "1.0.0",
          name: "net",
          IPAM: {
            TYPE: "host-local",
            DataDir: "DIR",
            SUBNET: "10.180.0.0/24",
            RangeStart: "10.180.0.50",
            GATEWAY: "10.180.0.254",
          },
        },
      },
      {
        id: "b",
        config: {
          cniVersion: "1.0.0",
          name: "net",
          ipam: { dataDir: "DIR", Ranges: [[{ Subnet: "10.180.0.0/24" }]] },
          RuntimeConfig: { IPs: ["10.180.0.9"] },
        },
      },
      { id: "c", config: V({ subnet: 5 }) },
      { id: "c", config: V({ ranges: { a: 1 } }) },
      { id: "c", config: V({ subnet: "10.185.0.0/24", SUBNET: "10.186.0.0/24" }) },
      { id: "d", config: V({ subnet: "10.187.0.0/24", routes: null, ranges: null }) },
      { id: "e", config: V({ subnet: "10.188.0.0/24" }, { args: { cni: { ips: "10.188.0.5" } } }) },
      { id: "e", config: V({ subnet: "10.189.0.0/24" }, { args: { other: { x: 1 } } }) },
      { id: "f", config: V({ subnet: "10.190.0.0/24" }, { runtimeConfig: { ipRanges: [] } }) },
      { id: "g", config: V({ subnet: "10.191.0.0/24", rangeStart: "" }) },
      { id: "h", config: V({ subnet: "" }) },
      { id: "h", config: V({ subnet: null }) },
      { id: "h", config: V({ ranges: [[{ rangeStart: "10.1.1.1" }]] }) },
      { id: "h", config: V({ ranges: [[{ subnet: "10.1.0.0/24", gateway: 5 }]] }) },
      { id: "h", config: V({ subnet: "10.1.0.0/24", routes: [{ dst: 5 }] }) },
      { id: "h", config: V({ subnet: "10.1.0.0/24", routes: [5] }) },
      { id: "h", config: V({ subnet: "10.1.0.0/24" }, { runtimeConfig: "x" }) },
      { id: "h", config: V({ subnet: "10.1.0.0/24" }, { runtimeConfig: { ips: [5] } }) },
      { id: "h", config: V({ subnet: "10.1.0.0/24" }, { args: { cni: "x" } }) },
      { id: "h", config: V({ type: 5, subnet: "bad" }) },
      { id: "i", config: V({ "\u017fubnet": "10.195.0.0/24" }) },
      {
        id: "j",
        stdin:
          '{"cniVersion":"1.0.0","name":"net","ipam":{"dataDir":"DIR","subnet":"10.196.0.0/24","SUBNET":"10.197.0.0/24"}}',
      },
      { id: "k", stdin: "[]" },
      { id: "k", stdin: '{"cniVersion":"1.0.0","name":5}' },
    ],
  },
];

/** Parsed output with the data directory replaced and the deliberate differences removed. */
function normalized(output: PluginOutput, dir: string, codeOnly: boolean): unknown {
  const stdout = output.stdout.replaceAll(dir, "DIR");
  if (stdout === "") return { code: output.code, stdout: "" };
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(stdout);
  } catch {
    return { code: output.code, raw: stdout };
  }
  if (codeOnly) return { code: output.code, error: body.code };
  // We speak 1.1.0 too, so our list of supported versions is one longer.
  if (body.code === 1 && typeof body.details === "string") {
    body.details = body.details.replace(' "1.1.0"]', "]");
  }
  if (body.dns && Object.keys(body.dns as object).length === 0) delete body.dns;
  return { code: output.code, body };
}

async function runScenario(
  scenario: Scenario,
  run: (call: Call, cwd: string) => Promise<PluginOutput>,
  dir: string,
): Promise<{ outputs: unknown[]; stores: unknown[] }> {
  const outputs: unknown[] = [];
  const stores: unknown[] = [];
  for (const step of scenario.steps) {
    await step.before?.(dir);
    const config = step.config ?? scenario.config;
    const stdin = step.stdin ?? JSON.stringify(config);
    const call: Call = {
      command: step.command,
      containerID: step.id,
      ifName: step.ifName,
      args: step.args,
      env: step.env,
      config: stdin.replaceAll("DIR", dir),
    };
    outputs.push(normalized(await run(call, dir), dir, step.codeOnly ?? false));
    stores.push(step.storeDiffers ? "(differs on purpose)" : await readStore(`${dir}/net`));
  }
  const relative = await readStore(`${dir}/relative-dir/reldir`);
  if (Object.keys(relative).length > 0) stores.push(relative);
  return { outputs, stores };
}

for (const scenario of SCENARIOS) {
  Deno.test({
    name: `differential: ${scenario.name}`,
    ignore: !hasHostLocal,
    fn: async () => {
      await withTempDir(async (goDir) => {
        await withTempDir(async (ourDir) => {
          const go = await runScenario(scenario, hostLocal, goDir);
          const ours = await runScenario(scenario, ipamBundle, ourDir);
          for (let i = 0; i < scenario.steps.length; i++) {
            assert.deepEqual(ours.outputs[i], go.outputs[i], `step ${i} output`);
            assert.deepEqual(ours.stores[i], go.stores[i], `step ${i} store`);
          }
          assert.deepEqual(
            ours.stores.slice(scenario.steps.length),
            go.stores.slice(scenario.steps.length),
          );
        });
      });
    },
  });
}

import assert from "node:assert/strict";
import { loadIPv6 } from "../../src/net/ip.ts";
import { type DaemonFlags, FlagError, parseFlags } from "../../src/vtepd/flags.ts";

const noEnv = () => undefined;
const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("flags: flanneld's defaults and names", () => {
  const parsed = parseFlags(["--node-name", "edge-1"], noEnv);
  assert.equal(parsed.kind, "run");
  if (parsed.kind !== "run") return;
  assert.equal(parsed.flags.nodeName, "edge-1");
  assert.equal(parsed.flags.netConfigPath, "/etc/kube-flannel/net-conf.json");
  assert.equal(parsed.flags.subnetFile, "/run/flannel/subnet.env");
  assert.equal(parsed.flags.stateDir, "/var/lib/keepnet");
  assert.equal(parsed.flags.kubeAnnotationPrefix, "flannel.alpha.coreos.com");
  assert.equal(parsed.flags.healthzPort, 0);
  assert.match(parsed.flags.userAgent, /^flanneld\//);
  assert.deepEqual(parsed.flags.iface, []);
});

Deno.test("flags: environment fills in, flags win, NODE_NAME names the node", () => {
  const env = envOf({
    NODE_NAME: "edge-2",
    KEEPNET_KUBE_API_URL: "http://127.0.0.1:10261",
    FLANNELD_KUBE_API_URL: "http://ignored:1",
    FLANNELD_IFACE: "eth1, 192.168.1.10",
    KEEPNET_HEALTHZ_PORT: "8081",
  });
  const parsed = parseFlags(["--healthz-port=9090"], env);
  assert.ok(parsed.kind === "run");
  assert.equal(parsed.flags.nodeName, "edge-2");
  assert.equal(parsed.flags.kubeApiUrl, "http://127.0.0.1:10261");
  assert.deepEqual(parsed.flags.iface, ["eth1", "192.168.1.10"]);
  assert.equal(parsed.flags.healthzPort, 9090);
  const repeated = parseFlags(["--node-name=x", "--iface", "eth0", "--iface", "eth1"], noEnv);
  assert.ok(repeated.kind === "run");
  assert.deepEqual(repeated.flags.iface, ["eth0", "eth1"]);
});

Deno.test("flags: --help and --version", () => {
  const help = parseFlags(["--help"], noEnv);
  assert.ok(help.kind === "help");
  assert.match(help.text, /--kubeconfig-file/);
  assert.match(help.text, /KEEPNET_NET_CONFIG_PATH/);
  assert.match(parseFlags(["--version"], noEnv).kind, /version/);
});

Deno.test("flags: mistakes are reported, not guessed", () => {
  const bad: Array<[string[], RegExp]> = [
    [[], /node name is required/],
    [["--node-name=x", "--bogus"], /bogus/],
    [["--node-name=x", "--healthz-port=http"], /--healthz-port/],
    [["--node-name=x", "--kube-api-url=127.0.0.1:6443"], /--kube-api-url/],
    [["--node-name=x", "--log-level=loud"], /--log-level/],
  ];
  for (const [argv, message] of bad) {
    assert.throws(() => parseFlags(argv, noEnv), (error: unknown) => {
      assert.ok(error instanceof FlagError);
      assert.match(error.message, message);
      return true;
    });
  }
});

// ---- flanneld parity ----

await loadIPv6();

const node = envOf({ NODE_NAME: "edge-1" });

function run(argv: string[], env: (name: string) => string | undefined = node): DaemonFlags {
  const parsed = parseFlags(argv, env);
  assert.equal(parsed.kind, "run");
  return (parsed as { kind: "run"; flags: DaemonFlags }).flags;
}

function refused(argv: string[], message: RegExp, env = node): void {
  assert.throws(() => parseFlags(argv, env), (error: unknown) => {
    assert.ok(error instanceof FlagError, `expected a FlagError, got ${error}`);
    assert.match(error.message, message);
    return true;
  });
}

/** Every flag of flanneld's main.go, and the klog flags it copies in, with a value it takes. */
const FLANNELD_FLAGS: Array<[string, string | undefined]> = [
  ["etcd-endpoints", "http://127.0.0.1:4001,http://127.0.0.1:2379"],
  ["etcd-prefix", "/coreos.com/network"],
  ["etcd-keyfile", ""],
  ["etcd-certfile", ""],
  ["etcd-cafile", ""],
  ["etcd-username", ""],
  ["etcd-password", ""],
  ["iface", "eth0"],
  ["iface-regex", "^eth"],
  ["iface-can-reach", "192.168.1.254"],
  ["subnet-file", "/run/flannel/subnet.env"],
  ["public-ip", "192.168.1.1"],
  ["public-ipv6", "fd00::1"],
  ["subnet-lease-renew-margin", "60"],
  ["ip-masq", undefined],
  ["ip-masq-fully-random-disable", undefined],
  ["kube-subnet-mgr", undefined],
  ["kube-api-url", "http://127.0.0.1:10261"],
  ["kube-annotation-prefix", "flannel.alpha.coreos.com"],
  ["kubeconfig-file", "/etc/kubernetes/kubelet.conf"],
  ["healthz-ip", "0.0.0.0"],
  ["healthz-port", "8081"],
  ["iptables-resync", "5"],
  ["iptables-forward-rules", undefined],
  ["ip-blackhole-route", undefined],
  ["net-config-path", "/etc/kube-flannel/net-conf.json"],
  ["set-node-network-unavailable", undefined],
  ["v", "2"],
  ["vmodule", ""],
  ["log_backtrace_at", ""],
];

Deno.test("flags: every flag flanneld takes is taken, in both of Go's spellings", () => {
  for (const [name, value] of FLANNELD_FLAGS) {
    for (const dashes of ["--", "-"]) {
      const argv = value === undefined
        ? [`${dashes}${name}`]
        : [`${dashes}${name}=${value}`, `${dashes}${name}`, value];
      assert.doesNotThrow(() => run(argv), `${dashes}${name}`);
    }
  }
  const help = parseFlags(["-h"], noEnv);
  assert.ok(help.kind === "help");
  for (const [name] of FLANNELD_FLAGS) assert.match(help.text, new RegExp(`--${name}\\b`));
});

Deno.test("flags: flanneld's stock DaemonSet (args and env) runs as is", () => {
  const flags = run(
    ["--ip-masq", "--kube-subnet-mgr", "--healthz-port=8081"],
    envOf({
      POD_NAME: "kube-flannel-ds-x7k2p",
      POD_NAMESPACE: "kube-flannel",
      EVENT_QUEUE_DEPTH: "5000",
      CONT_WHEN_CACHE_NOT_READY: "false",
    }),
  );
  assert.equal(flags.ipMasq, true);
  assert.equal(flags.healthzPort, 8081);
  assert.equal(flags.nodeName, "");
  assert.deepEqual(flags.podRef, { namespace: "kube-flannel", name: "kube-flannel-ds-x7k2p" });
  assert.deepEqual(flags.notices.map((notice) => notice.split(" is ignored")[0]), [
    "EVENT_QUEUE_DEPTH=5000",
    "CONT_WHEN_CACHE_NOT_READY=false",
  ]);
});

Deno.test("flags: flanneld's defaults for the masquerade, forward, blackhole and condition flags", () => {
  const flags = run([]);
  assert.deepEqual(
    {
      ipMasq: flags.ipMasq,
      ipMasqFullyRandomDisable: flags.ipMasqFullyRandomDisable,
      iptablesResyncSeconds: flags.iptablesResyncSeconds,
      iptablesForwardRules: flags.iptablesForwardRules,
      ipBlackholeRoute: flags.ipBlackholeRoute,
      setNodeNetworkUnavailable: flags.setNodeNetworkUnavailable,
      ifaceRegex: flags.ifaceRegex,
      ifaceCanReach: flags.ifaceCanReach,
      publicIPv6: flags.publicIPv6,
      podRef: flags.podRef,
      notices: flags.notices,
      logLevel: flags.logLevel,
    },
    {
      ipMasq: false,
      ipMasqFullyRandomDisable: false,
      iptablesResyncSeconds: 5,
      iptablesForwardRules: true,
      ipBlackholeRoute: false,
      setNodeNetworkUnavailable: true,
      ifaceRegex: [],
      ifaceCanReach: undefined,
      publicIPv6: undefined,
      podRef: undefined,
      notices: [],
      logLevel: "info",
    },
  );
});

Deno.test("flags: booleans as Go's flag package and FLANNELD_* take them", () => {
  const rows: Array<[string[], Record<string, string>, boolean]> = [
    [["--ip-masq"], {}, true],
    [["--ip-masq=true"], {}, true],
    [["--ip-masq=false"], {}, false],
    [["-ip-masq=0"], {}, false],
    [["--ip-masq=T"], {}, true],
    [["--ip-masq=FALSE"], {}, false],
    [[], { FLANNELD_IP_MASQ: "true" }, true],
    [[], { FLANNELD_IP_MASQ: "1" }, true],
    [[], { FLANNELD_IP_MASQ: "" }, false],
    [["--ip-masq=false"], { FLANNELD_IP_MASQ: "true" }, false],
    [[], { KEEPNET_IP_MASQ: "false", FLANNELD_IP_MASQ: "true" }, false],
  ];
  for (const [argv, vars, expected] of rows) {
    const env = envOf({ NODE_NAME: "edge-1", ...vars });
    assert.equal(run(argv, env).ipMasq, expected, `${argv.join(" ")} ${JSON.stringify(vars)}`);
  }
  const off = run(
    ["--iptables-forward-rules=false", "--ip-blackhole-route", "--ip-masq-fully-random-disable"],
    envOf({ NODE_NAME: "edge-1", FLANNELD_SET_NODE_NETWORK_UNAVAILABLE: "false" }),
  );
  assert.equal(off.iptablesForwardRules, false);
  assert.equal(off.ipBlackholeRoute, true);
  assert.equal(off.ipMasqFullyRandomDisable, true);
  assert.equal(off.setNodeNetworkUnavailable, false);
  refused(["--ip-masq=yes"], /^--ip-masq must be true or false, got "yes"$/);
  refused(
    [],
    /^--ip-masq must be true or false/,
    envOf({ NODE_NAME: "n", FLANNELD_IP_MASQ: "on" }),
  );
  // Go would stop parsing at "false" and flanneld would drop every later flag: refused here.
  refused(
    ["--ip-masq", "false", "--iface=eth1"],
    /unexpected argument "false": a boolean flag takes its value as --ip-masq=false/,
  );
});

Deno.test("flags: interface selection flags, repeated and from the environment", () => {
  const flags = run([
    "-iface",
    "eth1",
    "--iface=10.0.0.5",
    "--iface-regex=^ens",
    "-iface-regex",
    "^10\\.1\\.",
    "--iface-can-reach",
    "fd00::53",
    "--public-ipv6=fd00::5",
  ]);
  assert.deepEqual(flags.iface, ["eth1", "10.0.0.5"]);
  assert.deepEqual(flags.ifaceRegex, ["^ens", "^10\\.1\\."]);
  assert.equal(flags.ifaceCanReach, "fd00::53");
  assert.equal(flags.publicIPv6, "fd00::5");
  // One regex per variable: a comma is part of a regex ({1,2}).
  const fromEnv = run(
    [],
    envOf({
      NODE_NAME: "n",
      FLANNELD_IFACE_REGEX: "^eth[0-9]{1,2}$",
      FLANNELD_IFACE_CAN_REACH: "10.0.0.1",
    }),
  );
  assert.deepEqual(fromEnv.ifaceRegex, ["^eth[0-9]{1,2}$"]);
  assert.equal(fromEnv.ifaceCanReach, "10.0.0.1");
  // A scalar flag given twice: the last wins, as in Go.
  assert.equal(run(["--healthz-port=1", "--healthz-port", "2"]).healthzPort, 2);
});

Deno.test("flags: bad interface and address values stop at once, naming the flag", () => {
  refused(["--iface-regex=eth("], /^--iface-regex "eth\(" is not a usable regular expression: /);
  refused(["--iface-can-reach=gateway.lan"], /^--iface-can-reach must be an IP address/);
  refused(["--public-ip=fd00::1"], /^--public-ip must be an IPv4 address/);
  refused(["--public-ipv6=10.0.0.1"], /^--public-ipv6 must be an IPv6 address/);
  refused(["--iptables-resync=0"], /^--iptables-resync must be an integer from 1/);
  refused(["--iface"], /^--iface needs a value$/);
});

Deno.test("flags: --kube-subnet-mgr must be true or absent; etcd flags only at their defaults", () => {
  assert.doesNotThrow(() => run(["--kube-subnet-mgr"]));
  assert.doesNotThrow(() => run(["--kube-subnet-mgr=true"]));
  refused(["--kube-subnet-mgr=false"], /etcd subnet manager, which keepnet-vtepd does not have/);
  refused([], /--kube-subnet-mgr=false/, envOf({ NODE_NAME: "n", FLANNELD_KUBE_SUBNET_MGR: "0" }));
  // Their defaults, spelled out, change nothing and are accepted.
  assert.doesNotThrow(() =>
    run(["--etcd-prefix=/coreos.com/network", "--subnet-lease-renew-margin=60", "--etcd-keyfile="])
  );
  const unsupported =
    /is not supported by keepnet-vtepd \(kube subnet manager only\): it configures flanneld's etcd subnet manager/;
  for (
    const arg of [
      "--etcd-endpoints=https://10.0.0.1:2379",
      "--etcd-prefix=/mine",
      "--etcd-keyfile=/k",
      "--etcd-certfile=/c",
      "--etcd-cafile=/ca",
      "--etcd-username=u",
      "--etcd-password=p",
      "--subnet-lease-renew-margin=30",
    ]
  ) {
    refused([arg], new RegExp(`^${arg.split("=")[0]} ${unsupported.source}`));
  }
  refused([], unsupported, envOf({ NODE_NAME: "n", FLANNELD_ETCD_ENDPOINTS: "http://e:2379" }));
});

Deno.test("flags: klog's -v sets debug logging unless --log-level says otherwise; -vmodule is noted", () => {
  assert.equal(run(["--v=2"]).logLevel, "debug");
  assert.equal(run(["-v", "1"]).logLevel, "info");
  assert.equal(run(["--v=4", "--log-level=warn"]).logLevel, "warn");
  refused(["--v=loud"], /^--v must be an integer/);
  assert.deepEqual(run(["--vmodule=kube*=4"]).notices, [
    "--vmodule is ignored: keepnet-vtepd has no per-file log verbosity; use --log-level",
  ]);
});

Deno.test("flags: the node name from NODE_NAME, else from the pod named by POD_NAME and POD_NAMESPACE", () => {
  const pod = { POD_NAME: "kube-flannel-ds-x7k2p", POD_NAMESPACE: "kube-flannel" };
  assert.equal(run([], envOf({ ...pod, NODE_NAME: "edge-3" })).nodeName, "edge-3");
  assert.equal(run([], envOf({ ...pod, NODE_NAME: "edge-3" })).podRef, undefined);
  assert.equal(run(["--node-name=edge-4"], envOf(pod)).nodeName, "edge-4");
  // An empty NODE_NAME is unset, as in flanneld.
  assert.deepEqual(run([], envOf({ ...pod, NODE_NAME: "" })).podRef, {
    namespace: "kube-flannel",
    name: "kube-flannel-ds-x7k2p",
  });
  refused(
    [],
    /POD_NAMESPACE is not either: POD_NAME and POD_NAMESPACE must both be set/,
    envOf({ POD_NAME: "p" }),
  );
  refused([], /POD_NAME is not either/, envOf({ POD_NAMESPACE: "kube-flannel" }));
  refused(
    [],
    /^the node name is required: --node-name or NODE_NAME, or POD_NAME and POD_NAMESPACE/,
    noEnv,
  );
  refused(
    [],
    /^POD_NAME "..\/nodes" is not a Kubernetes pod name/,
    envOf({ ...pod, POD_NAME: "../nodes" }),
  );
  refused(
    [],
    /^POD_NAMESPACE "Kube" is not a namespace name/,
    envOf({ ...pod, POD_NAMESPACE: "Kube" }),
  );
});

Deno.test("flags: arguments that are not flags, and bad syntax, are refused", () => {
  refused(["extra"], /^unexpected argument "extra" \(flags only\)$/);
  refused(["--", "extra"], /^unexpected argument "extra"$/);
  refused(["---iface=eth0"], /^bad flag syntax: ---iface=eth0$/);
  refused(["--=x"], /^bad flag syntax/);
  assert.doesNotThrow(() => run(["--ip-masq", "--"]));
});

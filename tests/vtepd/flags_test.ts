import assert from "node:assert/strict";
import { FlagError, parseFlags } from "../../src/vtepd/flags.ts";

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

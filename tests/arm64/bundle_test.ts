/**
 * keepnet-ipam's bundle on arm64: one sequence of CNI calls (a dual-stack ADD of two pods, CHECK,
 * DEL, the restarted pod's ADD, a bad config, GC, STATUS, DEL) runs under Deno's x86_64 build and
 * under its aarch64 build (through qemu-user on an x86_64 host), each against a store of its own.
 * Every answer (exit code, stdout, stderr) and the store left behind (file names, contents,
 * modes) must be the same, and right.
 *
 * scripts/test_arm64.sh sets KEEPNET_REQUIRE_ARM64_COMPARISON=1: there a missing build fails the
 * test. Elsewhere (an arm64 host without an x86_64 deno, a machine without the emulation set
 * up) the test is ignored and says why.
 */
import assert from "node:assert/strict";
import { runProgram } from "../helpers/programs.ts";
import { type Call, callEnv } from "../ipam/harness.ts";
import { type Arch, findDeno, type Found } from "./denos.ts";

const builds: Record<Arch, Found> = { x86_64: findDeno("x86_64"), aarch64: findDeno("aarch64") };
const missing = Object.values(builds).flatMap((found) => "missing" in found ? [found.missing] : []);
const required = Deno.env.get("KEEPNET_REQUIRE_ARM64_COMPARISON") === "1";
if (missing.length > 0 && !required) {
  console.error(`arm64 bundle comparison ignored: ${missing.join("; ")}`);
}

const POD = "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_UID=";

/** The calls, against a store in `dir`. */
function calls(dir: string): Call[] {
  const config = {
    cniVersion: "1.1.0",
    name: "edge",
    type: "bridge",
    ipam: {
      type: "keepnet-ipam",
      dataDir: dir,
      ranges: [[{ subnet: "10.244.7.0/24" }], [{ subnet: "fd00:10:244:7::/64" }]],
      routes: [{ dst: "10.244.0.0/16" }],
    },
  };
  return [
    { env: { CNI_COMMAND: "VERSION" }, config },
    { containerID: "sandbox-a1", args: `${POD}0a0a-1111;K8S_POD_NAME=web-0`, config },
    { containerID: "sandbox-b1", args: `${POD}0b0b-2222;K8S_POD_NAME=web-1`, config },
    { command: "CHECK", containerID: "sandbox-a1", config },
    {
      command: "DEL",
      containerID: "sandbox-a1",
      args: `${POD}0a0a-1111;K8S_POD_NAME=web-0`,
      config,
    },
    // web-0's new sandbox, after web-1 took the next address: web-0's address comes back.
    { containerID: "sandbox-a2", args: `${POD}0a0a-1111;K8S_POD_NAME=web-0`, config },
    {
      containerID: "sandbox-c1",
      config: { ...config, ipam: { ...config.ipam, ranges: [[{ subnet: "10.244.7.9/24" }]] } },
    },
    {
      env: { CNI_COMMAND: "GC", CNI_PATH: "/opt/cni/bin" },
      config: {
        ...config,
        "cni.dev/valid-attachments": [{ containerID: "sandbox-a2", ifname: "eth0" }],
      },
    },
    { env: { CNI_COMMAND: "STATUS", CNI_PATH: "/opt/cni/bin" }, config },
    {
      command: "DEL",
      containerID: "sandbox-a2",
      args: `${POD}0a0a-1111;K8S_POD_NAME=web-0`,
      config,
    },
  ];
}

interface Run {
  answers: { code: number; stdout: string; stderr: string }[];
  /** File name → mode and content, with the store's path and times made comparable. */
  store: Record<string, { mode: string; content: string }>;
}

const TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g;

/** Runs every call with `deno` against a fresh store and reads the store back. */
async function runAll(deno: string): Promise<Run> {
  const dir = await Deno.makeTempDir({ prefix: "keepnet-arm64-" });
  const comparable = (text: string) => text.replaceAll(dir, "<dir>").replace(TIME, "<time>");
  try {
    const answers = [];
    for (const call of calls(dir)) {
      const stdin = typeof call.config === "string" ? call.config : JSON.stringify(call.config);
      const out = await runProgram("ipam", stdin, { env: callEnv(call), deno });
      answers.push({
        code: out.code,
        stdout: comparable(out.stdout),
        stderr: comparable(out.stderr),
      });
    }
    const store: Run["store"] = {};
    const network = `${dir}/edge`;
    for (const entry of await Array.fromAsync(Deno.readDir(network))) {
      const info = await Deno.stat(`${network}/${entry.name}`);
      store[entry.name] = {
        mode: (info.mode! & 0o7777).toString(8),
        content: comparable(await Deno.readTextFile(`${network}/${entry.name}`)),
      };
    }
    return { answers, store };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function ipsOf(stdout: string): string[] {
  return (JSON.parse(stdout).ips as { address: string }[]).map((ip) => ip.address);
}

Deno.test({
  name: "keepnet-ipam's bundle answers a CNI ADD/DEL under arm64 emulation with the same " +
    "results as on x86_64",
  ignore: missing.length > 0 && !required,
  async fn() {
    assert.deepEqual(missing, [], `both Deno builds are needed: ${missing.join("; ")}`);
    const x86 = await runAll((builds.x86_64 as { path: string }).path);
    const arm = await runAll((builds.aarch64 as { path: string }).path);

    // Right on x86_64 ...
    const codes = x86.answers.map((answer) => answer.code);
    assert.deepEqual(codes, [0, 0, 0, 0, 0, 0, 1, 0, 0, 0], JSON.stringify(x86.answers));
    const [, addA, addB, , , addA2, bad] = x86.answers;
    assert.deepEqual(ipsOf(addA!.stdout), ["10.244.7.2/24", "fd00:10:244:7::2/64"]);
    assert.deepEqual(ipsOf(addB!.stdout), ["10.244.7.3/24", "fd00:10:244:7::3/64"]);
    assert.deepEqual(ipsOf(addA2!.stdout), ipsOf(addA!.stdout), "web-0 gets its addresses back");
    assert.match(bad!.stdout, /Network has host bits set/);
    assert.deepEqual(Object.keys(x86.store).sort(), [
      "10.244.7.2_default_web-0",
      "10.244.7.3_default_web-1",
      "fd00:10:244:7::2_default_web-0",
      "fd00:10:244:7::3_default_web-1",
      "last_reserved_ip.0",
      "last_reserved_ip.1",
      "lock",
    ]);
    assert.match(x86.store["10.244.7.2_default_web-0"]!.content, /"releasedAt":"<time>"/);

    // ... and the same on aarch64, answer by answer and file by file.
    for (const [index, answer] of x86.answers.entries()) {
      assert.deepEqual(arm.answers[index], answer, `call ${index}`);
    }
    assert.deepEqual(arm.store, x86.store);
  },
});

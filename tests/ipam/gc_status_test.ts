import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { addressesOf, bindingsIn, errorOf, ipam, readStore, withTempDir } from "./harness.ts";

const gcEnv = { CNI_COMMAND: "GC", CNI_PATH: "/opt/cni/bin" };
const statusEnv = { CNI_COMMAND: "STATUS", CNI_PATH: "/opt/cni/bin" };
const podArgs = (name: string) => `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${name}`;

function network(dir: string, extra: Record<string, unknown> = {}) {
  return {
    cniVersion: "1.1.0",
    name: "gcnet",
    ipam: { dataDir: dir, ranges: [[{ subnet: "10.70.0.0/29" }]] },
    ...extra,
  };
}

Deno.test("GC releases reservations of attachments not in the valid list; keeps store files", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir);
    await ipam({ containerID: "keep", config });
    await ipam({ containerID: "gone", config });
    await ipam({ containerID: "keep", ifName: "net1", config });
    await Deno.writeTextFile(`${dir}/gcnet/10.70.0.6`, "legacy-keep");
    await Deno.writeTextFile(`${dir}/gcnet/10.70.0.5`, "legacy-gone");
    await Deno.writeTextFile(`${dir}/gcnet/notes.txt`, "gone\r\neth0");
    const out = await ipam({
      env: gcEnv,
      config: network(dir, {
        "cni.dev/valid-attachments": [
          { containerID: "keep", ifname: "eth0" },
          { containerID: "legacy-keep", ifname: "eth0" },
        ],
      }),
    });
    assert.deepEqual([out.code, out.stdout], [0, ""]);
    assert.deepEqual(await readStore(`${dir}/gcnet`), {
      "10.70.0.2": "keep\r\neth0",
      "10.70.0.6": "legacy-keep",
      "last_reserved_ip.0": "10.70.0.4",
      lock: "",
      "notes.txt": "gone\r\neth0",
    });
  });
});

Deno.test("GC accepts libcni's legacy key; an empty list releases every reservation", async () => {
  await withTempDir(async (dir) => {
    await ipam({ containerID: "a", config: network(dir) });
    await ipam({
      env: gcEnv,
      config: network(dir, { "cni.dev/attachments": [{ containerID: "a", ifname: "eth0" }] }),
    });
    assert.equal((await readStore(`${dir}/gcnet`))["10.70.0.2"], "a\r\neth0");
    await ipam({ env: gcEnv, config: network(dir, { "cni.dev/valid-attachments": [] }) });
    assert.equal((await readStore(`${dir}/gcnet`))["10.70.0.2"], undefined);
  });
});

Deno.test("GC without any attachment list releases nothing", async () => {
  await withTempDir(async (dir) => {
    await ipam({ containerID: "a", config: network(dir) });
    assert.equal((await ipam({ env: gcEnv, config: network(dir) })).code, 0);
    assert.equal((await readStore(`${dir}/gcnet`))["10.70.0.2"], "a\r\neth0");
  });
});

Deno.test("GC keeps bindings (marked released), so the pod still gets its IP back", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir);
    assert.deepEqual(
      addressesOf(await ipam({ containerID: "s1", args: podArgs("web-0"), config })),
      ["10.70.0.2/29"],
    );
    await ipam({ env: gcEnv, config: network(dir, { "cni.dev/valid-attachments": [] }) });
    const store = await readStore(`${dir}/gcnet`);
    assert.equal(store["10.70.0.2"], undefined);
    assert.equal(typeof bindingsIn(store)["10.70.0.2_default_web-0"]!.releasedAt, "string");
    await ipam({ containerID: "o1", args: podArgs("other"), config });
    assert.deepEqual(
      addressesOf(await ipam({ containerID: "s2", args: podArgs("web-0"), config })),
      ["10.70.0.2/29"],
    );
  });
});

Deno.test("S-18 GC and STATUS need cniVersion 1.1.0", async () => {
  await withTempDir(async (dir) => {
    const old = { ...network(dir), cniVersion: "1.0.0" };
    assert.deepEqual(errorOf(await ipam({ env: gcEnv, config: old })), {
      code: 1,
      msg: "config version does not allow GC",
    });
    assert.deepEqual(errorOf(await ipam({ env: statusEnv, config: old })), {
      code: 1,
      msg: "config version does not allow STATUS",
    });
  });
});

Deno.test("STATUS: 50 as soon as one range set is exhausted (an ADD needs one of each)", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir, {
      ipam: { dataDir: dir, ranges: [[{ subnet: "10.71.0.0/30" }], [{ subnet: "fd00:71::/126" }]] },
    });
    assert.deepEqual(await ipam({ env: statusEnv, config }), { code: 0, stdout: "", stderr: "" });
    // The IPv4 set has one address (.2); IPv6 has two (::2, ::3).
    const args = "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=a";
    await ipam({ containerID: "a", args, config });
    const v4Full = "no IP addresses available in range set: 10.71.0.1-10.71.0.2";
    assert.deepEqual(errorOf(await ipam({ env: statusEnv, config })), { code: 50, msg: v4Full });
    // ADD agrees: it cannot serve a pod either.
    assert.match(
      errorOf(await ipam({ containerID: "x", config })).msg,
      /no IP addresses available/,
    );
    await ipam({
      containerID: "b",
      config: { ...config, ipam: { dataDir: dir, ranges: [[{ subnet: "fd00:71::/126" }]] } },
    });
    assert.deepEqual(errorOf(await ipam({ env: statusEnv, config })), {
      code: 50,
      msg: `${v4Full}; no IP addresses available in range set: fd00:71::1-fd00:71::3`,
    });
    await ipam({ command: "DEL", containerID: "b", config });
    assert.deepEqual(errorOf(await ipam({ env: statusEnv, config })), { code: 50, msg: v4Full });
    // Bound but released addresses count as free.
    await ipam({ command: "DEL", containerID: "a", args, config });
    assert.ok(Object.keys(await readStore(`${dir}/gcnet`)).some((n) => n.includes("_default_a")));
    assert.equal((await ipam({ env: statusEnv, config })).code, 0);
  });
});

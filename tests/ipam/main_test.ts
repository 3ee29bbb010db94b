/**
 * The shipped program end to end: the bundle dist/keepnet-ipam.js, run with exactly its
 * permission set, over the CNI protocol surface (stdout, stderr, exit codes).
 */
import assert from "node:assert/strict";
import { runProgram } from "../helpers/programs.ts";
import { addressesOf, errorOf, ipamBundle, readStore, withTempDir } from "./harness.ts";

Deno.test("bundle: VERSION prints one JSON line and ignores stdin", async () => {
  const out = await runProgram("ipam", "not json", { env: { CNI_COMMAND: "VERSION" } });
  assert.equal(out.code, 0);
  assert.equal(
    out.stdout,
    '{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n',
  );
});

Deno.test("bundle: without CNI_COMMAND the about text goes to stderr", async () => {
  const out = await runProgram("ipam", "", { env: {} });
  assert.equal(out.code, 0);
  assert.equal(out.stdout, "");
  assert.match(
    out.stderr,
    /^CNI keepnet-ipam plugin version \d+\.\d+\.\d+\nCNI protocol versions supported: 0\.1\.0, 0\.2\.0, 0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0, 1\.1\.0\n$/,
  );
});

Deno.test("bundle: errors are indented JSON on stdout without a newline, exit 1", async () => {
  const out = await runProgram("ipam", "", { env: { CNI_COMMAND: "ADD" } });
  assert.equal(out.code, 1);
  assert.equal(
    out.stdout,
    '{\n    "code": 4,\n    "msg": "required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing"\n}',
  );
});

Deno.test("bundle: ADD, CHECK, DEL, GC and STATUS of a pod", async () => {
  await withTempDir(async (dir) => {
    const config = {
      cniVersion: "1.1.0",
      name: "cbr0",
      type: "bridge",
      ipam: {
        type: "keepnet-ipam",
        dataDir: dir,
        ranges: [[{ subnet: "10.244.1.0/24" }]],
        routes: [{ dst: "10.244.0.0/16" }],
      },
    };
    const args =
      "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_UID=1234-abcd";
    const add = await ipamBundle({ containerID: "sandbox1", args, config });
    assert.equal(
      add.stdout,
      '{\n    "cniVersion": "1.1.0",\n    "ips": [\n        {\n            "address": "10.244.1.2/24",\n            "gateway": "10.244.1.1"\n        }\n    ],\n    "routes": [\n        {\n            "dst": "10.244.0.0/16"\n        }\n    ]\n}',
    );
    assert.equal(add.stderr, "");
    assert.deepEqual(await ipamBundle({ command: "CHECK", containerID: "sandbox1", config }), {
      code: 0,
      stdout: "",
      stderr: "",
    });
    assert.equal((await ipamBundle({ command: "DEL", containerID: "sandbox1", config })).code, 0);
    assert.equal(
      (await ipamBundle({ env: { CNI_COMMAND: "STATUS", CNI_PATH: "/x" }, config })).code,
      0,
    );
    assert.equal(
      (await ipamBundle({
        env: { CNI_COMMAND: "GC", CNI_PATH: "/x" },
        config: { ...config, "cni.dev/valid-attachments": [] },
      })).code,
      0,
    );
    assert.deepEqual(addressesOf(await ipamBundle({ containerID: "sandbox2", args, config })), [
      "10.244.1.2/24",
    ]);
    const store = await readStore(`${dir}/cbr0`);
    assert.equal(JSON.parse(store["10.244.1.2_default_web-0"]!).uid, "1234-abcd");
    const bad = errorOf(
      await ipamBundle({
        containerID: "s3",
        args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=x;K8S_POD_NAME=../../etc",
        config,
      }),
    );
    assert.equal(bad.code, 999);
    assert.match(bad.msg, /^invalid K8S_POD_NAME/);
  });
});

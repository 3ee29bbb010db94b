/**
 * Keeping pod IPs: a pod (namespace/name) gets its previous IP back across sandbox restarts,
 * with one binding per range set, never at the cost of an IP another container holds.
 */
import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import {
  addressesOf,
  bindingsIn,
  type Call,
  errorOf,
  ipam,
  readStore,
  reservationsIn,
  withTempDir,
} from "./harness.ts";

const podArgs = (name: string, namespace = "default", uid?: string) =>
  `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name};K8S_POD_INFRA_CONTAINER_ID=x${
    uid ? `;K8S_POD_UID=${uid}` : ""
  }`;

function network(dir: string, ipamExtra: Record<string, unknown> = {}, cniVersion = "1.0.0") {
  return {
    cniVersion,
    name: "cbr0",
    type: "bridge",
    ipam: {
      type: "keepnet-ipam",
      dataDir: dir,
      ranges: [[{ subnet: "10.200.0.0/29" }]],
      ...ipamExtra,
    },
  };
}

/** ADD for a pod; returns its addresses. */
async function addPod(
  config: unknown,
  containerID: string,
  pod: string,
  extra: Partial<Call> = {},
) {
  const out = await ipam({ containerID, args: podArgs(pod), config, ...extra });
  return addressesOf(out);
}

async function del(config: unknown, containerID: string, extra: Partial<Call> = {}) {
  const out = await ipam({ command: "DEL", containerID, config, ...extra });
  assert.equal(out.code, 0, out.stdout);
}

Deno.test("restart: DEL then ADD with a new sandbox gives the pod its IP back", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir);
    assert.deepEqual(await addPod(config, "id1", "web-0"), ["10.200.0.2/29"]);
    let store = await readStore(`${dir}/cbr0`);
    const binding = bindingsIn(store)["10.200.0.2_default_web-0"]!;
    assert.equal(binding.containerID, "id1");
    assert.equal(binding.ifname, "eth0");
    assert.equal(binding.releasedAt, null);
    assert.equal(binding.rangeSet, "10.200.0.1-10.200.0.6");
    assert.equal(binding.family, 4);
    await del(config, "id1", { args: podArgs("web-0") });
    store = await readStore(`${dir}/cbr0`);
    assert.equal(store["10.200.0.2"], undefined);
    assert.equal(typeof bindingsIn(store)["10.200.0.2_default_web-0"]!.releasedAt, "string");
    // Another pod in between does not take it (it is bound), and the cursor moves on.
    assert.deepEqual(await addPod(config, "other", "web-1"), ["10.200.0.3/29"]);
    assert.deepEqual(await addPod(config, "id2", "web-0"), ["10.200.0.2/29"]);
    store = await readStore(`${dir}/cbr0`);
    assert.equal(store["10.200.0.2"], "id2\r\neth0");
    assert.equal(bindingsIn(store)["10.200.0.2_default_web-0"]!.containerID, "id2");
    assert.equal(bindingsIn(store)["10.200.0.2_default_web-0"]!.releasedAt, null);
    assert.equal(store["last_reserved_ip.0"], "10.200.0.3");
  });
});

Deno.test("new sandbox before the old one's DEL: same IP; the late DEL keeps it", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir);
    await addPod(config, "id1", "web-0");
    assert.deepEqual(await addPod(config, "id2", "web-0"), ["10.200.0.2/29"]);
    let store = await readStore(`${dir}/cbr0`);
    assert.equal(store["10.200.0.2"], "id2\r\neth0");
    await del(config, "id1", { args: podArgs("web-0") });
    store = await readStore(`${dir}/cbr0`);
    assert.equal(store["10.200.0.2"], "id2\r\neth0");
    assert.equal(bindingsIn(store)["10.200.0.2_default_web-0"]!.releasedAt, null);
    assert.deepEqual(Object.keys(reservationsIn(store)), ["10.200.0.2"]);
  });
});

Deno.test("dual-stack: one binding per family, both kept across a restart", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir, {
      ranges: [[{ subnet: "10.202.0.0/24" }], [{ subnet: "fd00:202::/64" }]],
    });
    await addPod(config, "d0", "db-9");
    assert.deepEqual(await addPod(config, "d1", "db-0"), ["10.202.0.3/24", "fd00:202::3/64"]);
    await del(config, "d1");
    await addPod(config, "d2", "db-1");
    assert.deepEqual(await addPod(config, "d3", "db-0"), ["10.202.0.3/24", "fd00:202::3/64"]);
    const bindings = bindingsIn(await readStore(`${dir}/cbr0`));
    assert.deepEqual(
      Object.keys(bindings).filter((n) => n.endsWith("_db-0")).sort(),
      ["10.202.0.3_default_db-0", "fd00:202::3_default_db-0"],
    );
    assert.equal(bindings["fd00:202::3_default_db-0"]!.family, 6);
  });
});

Deno.test("two IPv4 range sets: the pod keeps both addresses", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir, {
      ranges: [[{ subnet: "10.1.0.0/29" }], [{ subnet: "10.2.0.0/29" }]],
    });
    await addPod(config, "x0", "other");
    assert.deepEqual(await addPod(config, "a1", "app"), ["10.1.0.3/29", "10.2.0.3/29"]);
    await del(config, "a1");
    await addPod(config, "x1", "other2");
    assert.deepEqual(await addPod(config, "a2", "app"), ["10.1.0.3/29", "10.2.0.3/29"]);
  });
});

Deno.test("ranges changed: the out-of-range binding is replaced by one in the new range", async () => {
  await withTempDir(async (dir) => {
    await addPod(network(dir), "k1", "web-0");
    await del(network(dir), "k1");
    const moved = network(dir, { ranges: [[{ subnet: "10.204.0.0/24" }]] });
    assert.deepEqual(await addPod(moved, "k2", "web-0"), ["10.204.0.2/24"]);
    const bindings = bindingsIn(await readStore(`${dir}/cbr0`));
    assert.deepEqual(Object.keys(bindings), ["10.204.0.2_default_web-0"]);
  });
});

Deno.test("the gateway moved onto the bound IP: the pod gets another IP", async () => {
  await withTempDir(async (dir) => {
    await addPod(network(dir), "g1", "web-0");
    await del(network(dir), "g1");
    const config = network(dir, { ranges: [[{ subnet: "10.200.0.0/29", gateway: "10.200.0.2" }]] });
    assert.deepEqual(await addPod(config, "g2", "web-0"), ["10.200.0.3/29"]);
    const bindings = bindingsIn(await readStore(`${dir}/cbr0`));
    assert.deepEqual(Object.keys(bindings), ["10.200.0.3_default_web-0"]);
  });
});

Deno.test("an identity-less container took the IP: the pod gets another one, no duplicate", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir);
    await addPod(config, "p1", "web-0");
    await del(config, "p1");
    // Without a pod identity host-local rules apply: the bound IP is allocatable.
    await Deno.writeTextFile(`${dir}/cbr0/last_reserved_ip.0`, "10.200.0.6");
    assert.deepEqual(addressesOf(await ipam({ containerID: "r1", config })), ["10.200.0.2/29"]);
    assert.deepEqual(await addPod(config, "p2", "web-0"), ["10.200.0.3/29"]);
    let store = await readStore(`${dir}/cbr0`);
    assert.equal(store["10.200.0.2"], "r1\r\neth0");
    assert.deepEqual(Object.keys(bindingsIn(store)), ["10.200.0.3_default_web-0"]);
    // r1's DEL still releases its IP.
    await del(config, "r1");
    store = await readStore(`${dir}/cbr0`);
    assert.equal(store["10.200.0.2"], undefined);
    assert.equal(store["10.200.0.3"], "p2\r\neth0");
  });
});

Deno.test("allocation prefers IPs no other pod is bound to", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir);
    await addPod(config, "a1", "a");
    await del(config, "a1");
    await Deno.writeTextFile(`${dir}/cbr0/last_reserved_ip.0`, "10.200.0.6"); // next is .2 (a's)
    assert.deepEqual(await addPod(config, "b1", "b"), ["10.200.0.3/29"]);
    assert.deepEqual(await addPod(config, "a2", "a"), ["10.200.0.2/29"]);
  });
});

Deno.test("a pool exhausted only by released bindings still serves ADD (oldest transferred)", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir);
    for (const pod of ["p2", "p3", "p4", "p5", "p6"]) await addPod(config, `${pod}-c`, pod);
    for (const pod of ["p4", "p2", "p6", "p3", "p5"]) {
      await del(config, `${pod}-c`);
      await new Promise((resolve) => setTimeout(resolve, 5)); // distinct release times
    }
    assert.equal(
      (await ipam({
        command: "STATUS",
        env: { CNI_COMMAND: "STATUS", CNI_PATH: "/x" },
        config: { ...config, cniVersion: "1.1.0" },
      })).code,
      0,
    );
    // p4 was released first: its IP (.4) goes to the new pod, and p4's binding goes with it.
    assert.deepEqual(await addPod(config, "n1", "newcomer"), ["10.200.0.4/29"]);
    const bindings = bindingsIn(await readStore(`${dir}/cbr0`));
    assert.equal(bindings["10.200.0.4_default_p4"], undefined);
    assert.equal(bindings["10.200.0.4_default_newcomer"]!.containerID, "n1");
    // The others are still bound and come back to their pods.
    assert.deepEqual(await addPod(config, "p2-d", "p2"), ["10.200.0.2/29"]);
    // A truly full pool fails with host-local's message.
    for (const pod of ["p3", "p5", "p6"]) await addPod(config, `${pod}-d`, pod);
    assert.equal(
      errorOf(await ipam({ containerID: "z", args: podArgs("late"), config })).msg,
      "failed to allocate for range 0: no IP addresses available in range set: 10.200.0.1-10.200.0.6",
    );
  });
});

Deno.test("a requested IP wins over the binding and becomes the binding", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir);
    await addPod(config, "s1", "web-0");
    await del(config, "s1");
    const out = await ipam({
      containerID: "s2",
      args: `${podArgs("web-0")};IP=10.200.0.5`,
      config,
    });
    assert.deepEqual(addressesOf(out), ["10.200.0.5/29"]);
    assert.deepEqual(Object.keys(bindingsIn(await readStore(`${dir}/cbr0`))), [
      "10.200.0.5_default_web-0",
    ]);
  });
});

Deno.test("invalid namespace or name is rejected before any path is touched", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir);
    const cases: Array<[string, RegExp]> = [
      [
        "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=../x",
        /^invalid K8S_POD_NAME "\.\.\/x"/,
      ],
      ["IgnoreUnknown=1;K8S_POD_NAMESPACE=..;K8S_POD_NAME=x", /^invalid K8S_POD_NAMESPACE "\.\."/],
      ["IgnoreUnknown=1;K8S_POD_NAMESPACE=a/b;K8S_POD_NAME=x", /^invalid K8S_POD_NAMESPACE/],
      [
        "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=Web_0",
        /^invalid K8S_POD_NAME "Web_0"/,
      ],
      [
        "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=x;K8S_POD_UID=../../etc",
        /^invalid K8S_POD_UID/,
      ],
      [
        `IgnoreUnknown=1;K8S_POD_NAMESPACE=${"a".repeat(64)};K8S_POD_NAME=x`,
        /^invalid K8S_POD_NAMESPACE/,
      ],
    ];
    for (const [args, message] of cases) {
      const error = errorOf(await ipam({ args, config }));
      assert.equal(error.code, 999);
      assert.match(error.msg, message);
    }
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
  });
});

Deno.test("long names: a 63-character namespace and a 253-character name, IPv6", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir, { ranges: [[{ subnet: "fd00:abcd:1234:5678::/64" }]] });
    const namespace = "n".repeat(63);
    const name = `${"a".repeat(60)}.${"b".repeat(60)}.${"c".repeat(60)}.${"d".repeat(70)}`;
    assert.equal(name.length, 253);
    const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name}`;
    const first = addressesOf(await ipam({ containerID: "l1", args, config }));
    await del(config, "l1");
    await ipam({ containerID: "l2", args: podArgs("someone-else"), config });
    assert.deepEqual(addressesOf(await ipam({ containerID: "l3", args, config })), first);
    const names = Object.keys(bindingsIn(await readStore(`${dir}/cbr0`)));
    const long = names.find((n) => n.includes(namespace))!;
    assert.ok(new TextEncoder().encode(long).length <= 255, long);
    assert.match(long, /\.~[0-9a-f]{16}$/);
    assert.equal(bindingsIn(await readStore(`${dir}/cbr0`))[long]!.name, name);
  });
});

Deno.test("empty OpenYurt binding files are reused and rewritten with metadata", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir);
    await Deno.mkdir(`${dir}/cbr0`, { recursive: true });
    await Deno.writeTextFile(`${dir}/cbr0/10.200.0.5_default_web-0`, "");
    await Deno.writeTextFile(`${dir}/cbr0/10.200.0.4_default_other`, "");
    assert.deepEqual(await addPod(config, "y1", "web-0"), ["10.200.0.5/29"]);
    // Bound (legacy) IPs are avoided by others: .4 is skipped.
    assert.deepEqual(await addPod(config, "y2", "fresh"), ["10.200.0.2/29"]);
    const bindings = bindingsIn(await readStore(`${dir}/cbr0`));
    assert.equal(bindings["10.200.0.5_default_web-0"]!.containerID, "y1");
    assert.deepEqual(bindings["10.200.0.4_default_other"], {});
  });
});

Deno.test("bindingTTL prunes released bindings older than it (ADD, DEL and GC)", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir, { bindingTTL: "1h" });
    await addPod(config, "t1", "old");
    await addPod(config, "t2", "young");
    await del(config, "t1");
    await del(config, "t2");
    const path = `${dir}/cbr0/10.200.0.2_default_old`;
    const record = JSON.parse(await Deno.readTextFile(path));
    await Deno.writeTextFile(
      path,
      JSON.stringify({ ...record, releasedAt: "2020-01-01T00:00:00.000Z" }),
    );
    await del(config, "unrelated");
    const names = Object.keys(bindingsIn(await readStore(`${dir}/cbr0`)));
    assert.deepEqual(names, ["10.200.0.3_default_young"]);
  });
});

Deno.test("DEL without a pod identity in CNI_ARGS still marks the binding released", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir);
    await addPod(config, "n1", "web-0");
    await del(config, "n1");
    const binding = bindingsIn(await readStore(`${dir}/cbr0`))["10.200.0.2_default_web-0"]!;
    assert.match(binding.releasedAt as string, /^\d{4}-\d\d-\d\dT/);
  });
});

Deno.test("DEL with a wrong or invalid pod name in CNI_ARGS still releases and marks", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir);
    await addPod(config, "w1", "web-0");
    await addPod(config, "w2", "web-1");
    // The name reads only that pod's files first; it does not name this container: all are read.
    await del(config, "w1", { args: podArgs("web-1") });
    await del(config, "w2", { args: podArgs("../etc") });
    const store = await readStore(`${dir}/cbr0`);
    assert.deepEqual(reservationsIn(store), {});
    for (const name of ["10.200.0.2_default_web-0", "10.200.0.3_default_web-1"]) {
      assert.match(bindingsIn(store)[name]!.releasedAt as string, /^\d{4}-/, name);
    }
  });
});

Deno.test("two interfaces of one pod on one network get two IPs and two bindings", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir);
    assert.deepEqual(await addPod(config, "m1", "multi"), ["10.200.0.2/29"]);
    assert.deepEqual(await addPod(config, "m1", "multi", { ifName: "net1" }), ["10.200.0.3/29"]);
    await del(config, "m1");
    await del(config, "m1", { ifName: "net1" });
    assert.deepEqual(await addPod(config, "m2", "multi", { ifName: "net1" }), ["10.200.0.3/29"]);
    assert.deepEqual(await addPod(config, "m2", "multi"), ["10.200.0.2/29"]);
  });
});

Deno.test("the pod UID is recorded", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir);
    await ipam({
      containerID: "u1",
      args: podArgs("web-0", "prod", "0f9e2c1a-5b7d-4e3f-9a1b-2c3d4e5f6a7b"),
      config,
    });
    const binding = bindingsIn(await readStore(`${dir}/cbr0`))["10.200.0.2_prod_web-0"]!;
    assert.equal(binding.uid, "0f9e2c1a-5b7d-4e3f-9a1b-2c3d4e5f6a7b");
    assert.equal(binding.namespace, "prod");
  });
});

Deno.test("keepPodIP false: plain host-local (round-robin, no bindings)", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir, { keepPodIP: false });
    assert.deepEqual(await addPod(config, "h1", "web-0"), ["10.200.0.2/29"]);
    await del(config, "h1");
    assert.deepEqual(await addPod(config, "h2", "web-0"), ["10.200.0.3/29"]);
    assert.deepEqual(bindingsIn(await readStore(`${dir}/cbr0`)), {});
  });
});

Deno.test("a failed ADD leaves no binding and no reservation behind", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir, {
      ranges: [[{ subnet: "10.130.0.0/24" }], [{ subnet: "fd00:130::/126" }]],
    });
    await addPod(config, "a", "a");
    await addPod(config, "b", "b");
    const out = await ipam({ containerID: "c", args: podArgs("c"), config });
    assert.equal(
      errorOf(out).msg,
      "failed to allocate for range 1: no IP addresses available in range set: fd00:130::1-fd00:130::3",
    );
    const store = await readStore(`${dir}/cbr0`);
    assert.deepEqual(Object.keys(reservationsIn(store)).sort(), [
      "10.130.0.2",
      "10.130.0.3",
      "fd00:130::2",
      "fd00:130::3",
    ]);
    assert.equal(Object.keys(bindingsIn(store)).some((n) => n.endsWith("_c")), false);
  });
});

Deno.test("a failed ADD of a new sandbox gives the IP back to the old one", async () => {
  await withTempDir(async (dir) => {
    const config = network(dir, {
      ranges: [[{ subnet: "10.1.0.0/29" }], [{ subnet: "10.2.0.0/30" }]],
    });
    assert.deepEqual(await addPod(config, "old", "web-0"), ["10.1.0.2/29", "10.2.0.2/30"]);
    // Without its set-1 binding the new sandbox needs a fresh address there, and none is left.
    await Deno.remove(`${dir}/cbr0/10.2.0.2_default_web-0`);
    const out = await ipam({ containerID: "new", args: podArgs("web-0"), config });
    assert.equal(out.code, 1);
    const store = await readStore(`${dir}/cbr0`);
    assert.equal(store["10.1.0.2"], "old\r\neth0");
    assert.equal(bindingsIn(store)["10.1.0.2_default_web-0"]!.containerID, "old");
  });
});

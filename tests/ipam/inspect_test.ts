/**
 * `keepnet-ipam inspect`, run as a person runs it: the real bundle with arguments, over a store
 * written by real plugin calls (keepnet-ipam and Debian's host-local) plus damaged files. It
 * lists reservations and bindings as a table or one JSON document, finds bindingTTL in the CNI
 * config, changes nothing, and holds the lock only briefly (or reads without it when a call
 * holds it too long).
 */
import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { runProgram } from "../helpers/programs.ts";
import { hasHostLocal, hostLocal, ipam, withTempDir } from "./harness.ts";

const podArgs = (name: string, namespace = "default") =>
  `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name};K8S_POD_UID=1234-abcd`;

function network(dir: string, extra: Record<string, unknown> = {}) {
  return {
    cniVersion: "1.0.0",
    name: "cbr0",
    ipam: {
      type: "keepnet-ipam",
      dataDir: dir,
      ranges: [[{ subnet: "10.244.1.0/24" }], [{ subnet: "fd00:1::/64" }]],
      ...extra,
    },
  };
}

const ID = (name: string) => `${name}-0123456789abcdef0123456789abcdef`;

/** A store with bound, released, host-local, OpenYurt and damaged entries. */
async function populate(dir: string): Promise<void> {
  const config = network(dir);
  for (const pod of ["web-0", "web-1", "db-0"]) {
    const out = await ipam({ containerID: ID(pod), args: podArgs(pod), config });
    assert.equal(out.code, 0, out.stdout);
  }
  assert.equal((await ipam({ command: "DEL", containerID: ID("db-0"), config })).code, 0);
  const net = `${dir}/cbr0`;
  if (hasHostLocal) {
    const out = await hostLocal({ containerID: "plain", config: network(dir) });
    assert.equal(out.code, 0, out.stdout);
  } else {
    await Deno.writeTextFile(`${net}/10.244.1.5`, "plain\r\neth0");
    await Deno.writeTextFile(`${net}/fd00:1::5`, "plain\r\neth0");
  }
  await Deno.writeTextFile(`${net}/10.244.1.20`, "legacy-id");
  await Deno.writeTextFile(`${net}/10.244.1.30_kube-system_yurt`, "");
  await Deno.writeTextFile(`${net}/10.244.1.40_kube-system_ghost`, "garbage");
  const old = new Date("2026-01-01T00:00:00Z");
  await Deno.utime(`${net}/10.244.1.40_kube-system_ghost`, old, old);
  await Deno.mkdir(`${net}/not-a-store-file`);
}

async function inspect(args: string[]) {
  return await runProgram("ipam", "", { args: ["inspect", ...args], env: {} });
}

/** Every entry of a directory tree with its content and times, to prove nothing changed. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    const info = await Deno.lstat(path);
    const content = entry.isFile ? await Deno.readTextFile(path) : "";
    out.push(`${entry.name} ${info.mtime?.getTime()} ${info.mode} ${JSON.stringify(content)}`);
    if (entry.isDirectory) {
      out.push(...(await snapshot(path)).map((line) => `${entry.name}/${line}`));
    }
  }
  return out.sort();
}

Deno.test("inspect --json: reservations and bindings of every network, as one document", async () => {
  await withTempDir(async (dir) => {
    await populate(dir);
    const out = await inspect(["--data-dir", dir, "--json", "--binding-ttl", "168h"]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stderr, "");
    const { networks } = JSON.parse(out.stdout);
    assert.equal(networks.length, 1);
    const [cbr0] = networks;
    assert.equal(cbr0.name, "cbr0");
    assert.equal(cbr0.directory, `${dir}/cbr0`);
    assert.equal(cbr0.bindingTTL, "168h");
    assert.equal(cbr0.bindingTTLSource, "--binding-ttl");
    assert.equal(cbr0.lock, "taken");
    assert.deepEqual(cbr0.reservations, [
      { ip: "10.244.1.2", containerID: ID("web-0"), ifname: "eth0" },
      { ip: "10.244.1.3", containerID: ID("web-1"), ifname: "eth0" },
      { ip: "10.244.1.5", containerID: "plain", ifname: "eth0" },
      { ip: "10.244.1.20", containerID: "legacy-id", ifname: null },
      { ip: "fd00:1::2", containerID: ID("web-0"), ifname: "eth0" },
      { ip: "fd00:1::3", containerID: ID("web-1"), ifname: "eth0" },
      { ip: "fd00:1::5", containerID: "plain", ifname: "eth0" },
    ]);
    const byIP = new Map(cbr0.bindings.map((b: { ip: string }) => [b.ip, b]));
    assert.deepEqual(
      cbr0.bindings.map((b: { ip: string }) => b.ip),
      [
        "10.244.1.2",
        "10.244.1.3",
        "10.244.1.4",
        "10.244.1.30",
        "10.244.1.40",
        "fd00:1::2",
        "fd00:1::3",
        "fd00:1::4",
      ],
    );
    const web0 = byIP.get("10.244.1.2") as Record<string, unknown>;
    assert.deepEqual(
      { ...web0, since: typeof web0.since },
      {
        ip: "10.244.1.2",
        namespace: "default",
        pod: "web-0",
        uid: "1234-abcd",
        ifname: "eth0",
        containerID: ID("web-0"),
        state: "bound",
        since: "string",
        keptUntil: null,
        source: "record",
      },
    );
    const db0 = byIP.get("10.244.1.4") as Record<string, string>;
    assert.equal(db0.state, "released");
    assert.equal(Date.parse(db0.keptUntil!) - Date.parse(db0.since!), 168 * 3_600_000);
    const ghost = byIP.get("10.244.1.40") as Record<string, string>;
    assert.equal(ghost.source, "damaged");
    assert.equal(ghost.problem, "content is not a binding record");
    assert.equal(ghost.since, "2026-01-01T00:00:00Z");
    assert.equal(ghost.keptUntil, "2026-01-08T00:00:00Z");
    assert.equal((byIP.get("10.244.1.30") as Record<string, string>).source, "openyurt");
    assert.deepEqual(cbr0.otherFiles, ["not-a-store-file"]);
  });
});

Deno.test("inspect: a table per network, TTL from the CNI config, notes on damage", async () => {
  await withTempDir(async (dir) => {
    await populate(dir);
    const confDir = `${dir}-conf`;
    await Deno.mkdir(confDir);
    try {
      await Deno.writeTextFile(
        `${confDir}/10-flannel.conflist`,
        JSON.stringify({
          name: "cbr0",
          cniVersion: "1.0.0",
          plugins: [{ type: "flannel", ipam: { bindingTTL: "24h" } }, { type: "portmap" }],
        }),
      );
      const out = await inspect(["--data-dir", dir, "--cni-conf-dir", confDir, "cbr0"]);
      assert.equal(out.code, 0, out.stderr);
      const lines = out.stdout.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/g, "<time>").split("\n");
      assert.equal(
        lines[0],
        `network cbr0 (${dir}/cbr0), bindingTTL 24h (${confDir}/10-flannel.conflist)`,
      );
      assert.match(lines[1]!, /^IP +CONTAINER +IFACE +POD +STATE +SINCE +KEPT UNTIL$/);
      const rows = lines.slice(2).filter((line) => /^[0-9a-f]/.test(line));
      const cells = rows.map((row) => row.split(/ {2,}/));
      assert.deepEqual(cells, [
        ["10.244.1.2", "web-0-0123456", "eth0", "default/web-0", "bound", "<time>", "while bound"],
        ["10.244.1.3", "web-1-0123456", "eth0", "default/web-1", "bound", "<time>", "while bound"],
        ["10.244.1.4", "-", "-", "default/db-0", "released", "<time>", "<time>"],
        ["10.244.1.5", "plain", "eth0", "-", "reserved", "-", "-"],
        ["10.244.1.20", "legacy-id", "-", "-", "reserved", "-", "-"],
        ["10.244.1.30", "-", "-", "kube-system/yurt", "released", "<time>", "<time>"],
        ["10.244.1.40", "-", "-", "kube-system/ghost", "released", "<time>", "<time>"],
        ["fd00:1::2", "web-0-0123456", "eth0", "default/web-0", "bound", "<time>", "while bound"],
        ["fd00:1::3", "web-1-0123456", "eth0", "default/web-1", "bound", "<time>", "while bound"],
        ["fd00:1::4", "-", "-", "default/db-0", "released", "<time>", "<time>"],
        ["fd00:1::5", "plain", "eth0", "-", "reserved", "-", "-"],
      ]);
      const notes = lines.filter((line) => line.startsWith("note: "));
      assert.deepEqual(notes, [
        "note: binding 10.244.1.30 of kube-system/yurt: OpenYurt file (no record)",
        "note: binding 10.244.1.40 of kube-system/ghost: damaged (content is not a binding " +
        "record); it counts as the pod's binding, aged by the file's modification time",
        "note: unexpected entry: not-a-store-file",
      ]);
    } finally {
      await Deno.remove(confDir, { recursive: true });
    }
  });
});

Deno.test("inspect changes nothing: no file, directory, lock or time", async () => {
  await withTempDir(async (dir) => {
    await populate(dir);
    await Deno.mkdir(`${dir}/never-used`);
    const before = await snapshot(dir);
    const out = await inspect(["--data-dir", dir, "--json"]);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(await snapshot(dir), before);
    const networks = JSON.parse(out.stdout).networks;
    assert.deepEqual(networks.map((n: { name: string }) => n.name), ["cbr0", "never-used"]);
    // No lock file: none is created, and the network is listed as it is.
    assert.equal(networks[1].lock, "absent");
    assert.equal(networks[1].bindingTTL, null);
  });
});

Deno.test("inspect waits briefly for a call holding the lock, then reads without it", async () => {
  await withTempDir(async (dir) => {
    await populate(dir);
    const lock = await Deno.open(`${dir}/cbr0/lock`, { read: true });
    try {
      await lock.lock(true);
      // Released while inspect waits: it then reads under the lock.
      const releaseSoon = new Promise((resolve) => setTimeout(resolve, 400)).then(() =>
        lock.unlock()
      );
      const started = performance.now();
      const waited = await inspect(["--data-dir", dir, "--json"]);
      await releaseSoon;
      assert.ok(performance.now() - started >= 400);
      assert.equal(JSON.parse(waited.stdout).networks[0].lock, "taken");
      // Held throughout: read without it after the wait, and said so.
      await lock.lock(true);
      const busy = await inspect(["--data-dir", dir]);
      assert.equal(busy.code, 0, busy.stderr);
      assert.match(busy.stdout, /note: the lock was busy: read without it/);
      assert.match(busy.stdout, /default\/web-0/);
    } finally {
      lock.close();
    }
  });
});

Deno.test("inspect: help, usage errors, missing stores", async () => {
  await withTempDir(async (dir) => {
    const help = await runProgram("ipam", "", { args: ["--help"], env: {} });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage:\n {2}keepnet-ipam inspect \[--data-dir DIR\] \[--json\]/);
    assert.match(help.stdout, /default \/var\/lib\/cni\/networks/);
    assert.equal((await inspect(["--help"])).stdout, help.stdout);
    const unknown = await inspect(["--data-dir", dir, "--colour"]);
    assert.deepEqual(unknown, {
      code: 2,
      stdout: "",
      stderr: 'keepnet-ipam: unknown flag "--colour"\nRun keepnet-ipam --help for usage.\n',
    });
    assert.equal((await inspect(["--data-dir"])).code, 2);
    assert.equal((await inspect(["--binding-ttl", "soon"])).code, 2);
    assert.equal((await inspect(["--data-dir", dir, "../etc"])).code, 2);
    const missing = await inspect(["--data-dir", dir, "nope"]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `keepnet-ipam inspect: network nope: no store at ${dir}/nope\n`);
    const empty = await inspect(["--data-dir", dir]);
    assert.deepEqual(empty, { code: 0, stdout: `no networks in ${dir}\n`, stderr: "" });
    const noDir = await inspect(["--data-dir", `${dir}/absent`]);
    assert.equal(noDir.code, 1);
    assert.equal(
      noDir.stderr,
      `keepnet-ipam: open ${dir}/absent: no such file or directory\n`,
    );
  });
});

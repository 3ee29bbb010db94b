/**
 * scripts/install.sh in a scratch root (DESTDIR), with fake binaries: what lands where, a
 * re-install that changes nothing, operator edits that survive install and uninstall, an
 * uninstall that leaves nothing of ours, a release directory checked against SHA256SUMS, the
 * message for missing libnl, and `systemd-analyze verify` on the installed unit.
 */
import assert from "node:assert/strict";
import { ROOT } from "../helpers/programs.ts";

const decoder = new TextDecoder();
const UNIT = "/etc/systemd/system/keepnet-vtepd.service";
const ENV_FILE = "/etc/default/keepnet-vtepd";
const CNI = "/etc/cni/net.d/10-flannel.conflist";
const IPAM = "/opt/cni/bin/keepnet-ipam";
const VTEPD = "/usr/local/bin/keepnet-vtepd";
const MANIFEST = "/usr/local/share/keepnet/install-manifest";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs an install.sh (this checkout's, or a copy's) with DESTDIR=root. */
async function install(root: string, args: string[], script = `${ROOT}/scripts/install.sh`) {
  const output = await new Deno.Command("bash", {
    args: [script, ...args],
    env: { DESTDIR: root, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  } satisfies Run;
}

interface Entry {
  mode: string;
  content: string;
  mtime: number;
}

/** Every file under `root`: path (from root) → mode, content, mtime. */
async function snapshot(root: string, dir = ""): Promise<Record<string, Entry>> {
  const files: Record<string, Entry> = {};
  for await (const entry of Deno.readDir(`${root}${dir}`)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) Object.assign(files, await snapshot(root, path));
    else {
      const info = await Deno.stat(`${root}${path}`);
      files[path] = {
        mode: (info.mode! & 0o7777).toString(8),
        content: await Deno.readTextFile(`${root}${path}`),
        mtime: info.mtime!.getTime(),
      };
    }
  }
  return files;
}

async function withDirs<T>(fn: (root: string, release: string) => Promise<T>): Promise<T> {
  const root = await Deno.makeTempDir({ prefix: "keepnet-install-root-" });
  const release = await Deno.makeTempDir({ prefix: "keepnet-install-release-" });
  try {
    return await fn(root, release);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(release, { recursive: true });
  }
}

/** A release directory with fake x86_64 binaries and their SHA256SUMS. */
async function fakeRelease(dir: string): Promise<void> {
  const sums: string[] = [];
  for (const name of ["keepnet-ipam-x86_64", "keepnet-vtepd-x86_64"]) {
    const content = `#!/bin/sh\necho ${name}\n`;
    await Deno.writeTextFile(`${dir}/${name}`, content);
    sums.push(`${await sha256(content)}  ${name}`);
  }
  await Deno.writeTextFile(`${dir}/SHA256SUMS`, sums.join("\n") + "\n");
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** libnl as a Debian host of `triplet` has it, inside the scratch root. */
async function fakeLibnl(root: string, triplet = "x86_64-linux-gnu"): Promise<void> {
  await Deno.mkdir(`${root}/usr/lib/${triplet}`, { recursive: true });
  for (const lib of ["libnl-3.so.200", "libnl-route-3.so.200"]) {
    await Deno.writeTextFile(`${root}/usr/lib/${triplet}/${lib}`, "");
  }
}

const shipped = (path: string) => Deno.readTextFileSync(`${ROOT}/${path}`);

Deno.test("install.sh puts each file where the unit expects it; a re-install changes nothing", async () => {
  await withDirs(async (root, release) => {
    await fakeRelease(release);
    await fakeLibnl(root);
    const first = await install(root, ["--from", release]);
    assert.equal(first.code, 0, first.stderr);
    const files = await snapshot(root);
    assert.deepEqual(
      Object.keys(files).sort(),
      [
        CNI,
        ENV_FILE,
        UNIT,
        IPAM,
        "/usr/lib/x86_64-linux-gnu/libnl-3.so.200",
        "/usr/lib/x86_64-linux-gnu/libnl-route-3.so.200",
        VTEPD,
        MANIFEST,
      ].sort(),
    );
    assert.equal(files[IPAM]!.content, "#!/bin/sh\necho keepnet-ipam-x86_64\n");
    assert.equal(files[IPAM]!.mode, "755");
    assert.equal(files[VTEPD]!.content, "#!/bin/sh\necho keepnet-vtepd-x86_64\n");
    assert.equal(files[VTEPD]!.mode, "755");
    assert.equal(files[UNIT]!.content, shipped("dist/systemd/keepnet-vtepd.service"));
    assert.equal(files[ENV_FILE]!.content, shipped("dist/systemd/keepnet-vtepd.default"));
    assert.equal(files[CNI]!.content, shipped("dist/cni/10-flannel.conflist"));
    for (const path of [UNIT, ENV_FILE, CNI]) assert.equal(files[path]!.mode, "644", path);
    assert.match(first.stdout, /next: set NODE_NAME in \/etc\/default\/keepnet-vtepd/);
    // The environment file names the kubeconfig; it is not there yet.
    assert.match(first.stdout, /next: put the node's kubeconfig at \/etc\/keepnet\/kubeconfig/);

    const again = await install(root, ["--from", release]);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /installed|moved|kept/);
    assert.equal(again.stdout.match(/^install: unchanged /gm)?.length, 5);
    assert.deepEqual(await snapshot(root), files, "not a byte, mode or mtime changed");
  });
});

Deno.test("operator edits survive install and uninstall; uninstall removes the rest", async () => {
  await withDirs(async (root, release) => {
    await fakeRelease(release);
    await fakeLibnl(root);
    assert.equal((await install(root, ["--from", release])).code, 0);
    // The daemon's state and the operator's edits.
    await Deno.mkdir(`${root}/var/lib/keepnet`, { recursive: true });
    await Deno.writeTextFile(`${root}/var/lib/keepnet/state.json`, "{}");
    const editedEnv = shipped("dist/systemd/keepnet-vtepd.default").replace(
      "NODE_NAME=\n",
      "NODE_NAME=edge-1\n",
    );
    await Deno.writeTextFile(`${root}${ENV_FILE}`, editedEnv);
    await Deno.writeTextFile(`${root}${CNI}`, '{"name": "mine"}\n');
    await Deno.writeTextFile(`${root}${UNIT}`, "[Service]\nExecStart=/bin/true\n");

    const reinstall = await install(root, ["--from", release]);
    assert.equal(reinstall.code, 0, reinstall.stderr);
    assert.match(reinstall.stdout, /kept \/etc\/default\/keepnet-vtepd \(edited\)/);
    assert.match(
      reinstall.stdout,
      /moved the edited \/etc\/systemd\/system\/keepnet-vtepd\.service/,
    );
    assert.doesNotMatch(reinstall.stdout, /next: set NODE_NAME/);
    let files = await snapshot(root);
    assert.equal(files[ENV_FILE]!.content, editedEnv);
    assert.equal(
      files[`${ENV_FILE}.keepnet-dist`]!.content,
      shipped("dist/systemd/keepnet-vtepd.default"),
    );
    assert.equal(files[CNI]!.content, '{"name": "mine"}\n');
    assert.equal(files[`${CNI}.keepnet-dist`]!.content, shipped("dist/cni/10-flannel.conflist"));
    assert.equal(files[UNIT]!.content, shipped("dist/systemd/keepnet-vtepd.service"));
    const oldUnits = Object.keys(files).filter((path) => path.startsWith(`${UNIT}.keepnet-old-`));
    assert.equal(oldUnits.length, 1);
    assert.equal(files[oldUnits[0]!]!.content, "[Service]\nExecStart=/bin/true\n");

    const uninstall = await install(root, ["--uninstall"]);
    assert.equal(uninstall.code, 0, uninstall.stderr);
    files = await snapshot(root);
    assert.deepEqual(
      Object.keys(files).sort(),
      [
        CNI,
        ENV_FILE,
        oldUnits[0]!,
        "/usr/lib/x86_64-linux-gnu/libnl-3.so.200",
        "/usr/lib/x86_64-linux-gnu/libnl-route-3.so.200",
        "/var/lib/keepnet/state.json",
      ].sort(),
    );
    assert.equal(files[ENV_FILE]!.content, editedEnv);
    assert.match(uninstall.stdout, /kept \/etc\/default\/keepnet-vtepd \(edited by the operator\)/);
    assert.match(uninstall.stdout, /removed \/opt\/cni\/bin\/keepnet-ipam/);
  });
});

Deno.test("uninstall after a plain install leaves only what was there before", async () => {
  await withDirs(async (root, release) => {
    await fakeRelease(release);
    await fakeLibnl(root);
    const before = await snapshot(root);
    assert.equal((await install(root, ["--from", release, "--cni-config", "bridge"])).code, 0);
    assert.ok((await snapshot(root))["/etc/cni/net.d/10-bridge.conflist"]);
    const uninstall = await install(root, ["--uninstall"]);
    assert.equal(uninstall.code, 0, uninstall.stderr);
    assert.deepEqual(await snapshot(root), before);
    // A second uninstall has nothing left to do and still succeeds.
    assert.equal((await install(root, ["--uninstall"])).code, 0);
  });
});

Deno.test("a release file that does not match SHA256SUMS is refused; nothing is installed", async () => {
  await withDirs(async (root, release) => {
    await fakeRelease(release);
    await fakeLibnl(root);
    await Deno.writeTextFile(`${release}/keepnet-vtepd-x86_64`, "#!/bin/sh\necho tampered\n");
    const result = await install(root, ["--from", release]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /keepnet-vtepd-x86_64 does not match its SHA-256 in .*SHA256SUMS/);
    assert.deepEqual(Object.keys(await snapshot(root)).filter((p) => !p.includes("libnl")), []);

    await Deno.remove(`${release}/SHA256SUMS`);
    assert.match((await install(root, ["--from", release])).stderr, /has no SHA256SUMS/);
  });
});

Deno.test("missing libnl is named, package by package, for the binaries' architecture", async () => {
  await withDirs(async (root, release) => {
    await fakeRelease(release);
    const result = await install(root, ["--from", release]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /keepnet-vtepd needs libnl for x86_64, missing in .*: libnl-3-200:amd64 libnl-route-3-200:amd64\n/,
    );
    assert.match(result.stderr, /apt-get install libnl-3-200:amd64 libnl-route-3-200:amd64/);
    assert.match(result.stderr, /Nothing was installed/);
    assert.deepEqual(await snapshot(root), {});

    // Only the route library missing, for arm64: only that one is named.
    await Deno.mkdir(`${root}/usr/lib/aarch64-linux-gnu`, { recursive: true });
    await Deno.writeTextFile(`${root}/usr/lib/aarch64-linux-gnu/libnl-3.so.200`, "");
    const checkout = await copyOfCheckout(release, "aarch64");
    const arm = await install(root, ["--arch", "arm64"], `${checkout}/scripts/install.sh`);
    assert.equal(arm.code, 1);
    assert.match(arm.stderr, /needs libnl for aarch64, missing in .*: libnl-route-3-200:arm64\n/);
  });
});

/** install.sh and dist/ copied to `dir`, with fake binaries in dist/bin/<arch>. */
async function copyOfCheckout(dir: string, arch: string, elfMachine?: number): Promise<string> {
  const checkout = `${dir}/checkout`;
  for (const sub of ["scripts", "dist/systemd", "dist/cni", `dist/bin/${arch}`]) {
    await Deno.mkdir(`${checkout}/${sub}`, { recursive: true });
  }
  await Deno.copyFile(`${ROOT}/scripts/install.sh`, `${checkout}/scripts/install.sh`);
  for (const file of ["systemd/keepnet-vtepd.service", "systemd/keepnet-vtepd.default"]) {
    await Deno.copyFile(`${ROOT}/dist/${file}`, `${checkout}/dist/${file}`);
  }
  for await (const entry of Deno.readDir(`${ROOT}/dist/cni`)) {
    await Deno.copyFile(`${ROOT}/dist/cni/${entry.name}`, `${checkout}/dist/cni/${entry.name}`);
  }
  for (const name of ["keepnet-ipam", "keepnet-vtepd"]) {
    let bytes = new TextEncoder().encode(`#!/bin/sh\necho ${name}-${arch}\n`);
    if (elfMachine !== undefined) {
      // Just an ELF header's first 20 bytes: magic, 64-bit, little-endian, e_machine.
      bytes = new Uint8Array(64);
      bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
      new DataView(bytes.buffer).setUint16(18, elfMachine, true);
    }
    await Deno.writeFile(`${checkout}/dist/bin/${arch}/${name}`, bytes);
  }
  return checkout;
}

Deno.test("without --from the binaries come from dist/bin/<arch>, and must be for that arch", async () => {
  await withDirs(async (root, dir) => {
    await fakeLibnl(root, "aarch64-linux-gnu");
    const aarch64 = 183;
    const good = await copyOfCheckout(`${dir}/good`, "aarch64", aarch64);
    const result = await install(root, ["--arch", "aarch64"], `${good}/scripts/install.sh`);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      await Deno.readFile(`${root}${VTEPD}`),
      await Deno.readFile(`${good}/dist/bin/aarch64/keepnet-vtepd`),
    );

    const x86_64 = 62;
    const wrong = await copyOfCheckout(`${dir}/wrong`, "aarch64", x86_64);
    const refused = await install(root, ["--arch", "aarch64"], `${wrong}/scripts/install.sh`);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /keepnet-ipam is not an aarch64 binary \(ELF machine 62\)/);

    const none = await install(root, ["--arch", "x86_64"], `${good}/scripts/install.sh`);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /dist\/bin\/x86_64\/keepnet-ipam is missing: build it/);
  });
});

const systemdAnalyze = (() => {
  try {
    return new Deno.Command("systemd-analyze", { args: ["--version"], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();
if (!systemdAnalyze) console.error("systemd-analyze verify skipped: systemd-analyze not installed");

Deno.test({
  name: "systemd-analyze verify accepts the installed unit",
  ignore: !systemdAnalyze,
  async fn() {
    await withDirs(async (root, release) => {
      await fakeRelease(release);
      await fakeLibnl(root);
      assert.equal((await install(root, ["--from", release])).code, 0);
      // The targets the unit orders itself against come from the host's systemd.
      const units = ["/usr/lib/systemd/system", "/lib/systemd/system"].find((dir) => {
        try {
          return Deno.statSync(`${dir}/sysinit.target`).isFile;
        } catch {
          return false;
        }
      });
      assert.ok(units, "systemd's own units are installed");
      await Deno.mkdir(`${root}/usr/lib/systemd`, { recursive: true });
      const copy = await new Deno.Command("cp", {
        args: ["-a", units, `${root}/usr/lib/systemd/system`],
      }).output();
      assert.ok(copy.success);
      const verify = await new Deno.Command("systemd-analyze", {
        args: ["verify", `--root=${root}`, UNIT],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = decoder.decode(verify.stderr);
      assert.equal(verify.code, 0, stderr);
      // Unknown or malformed settings are only warnings: there must be none.
      assert.equal(stderr, "");

      // And verify does notice a broken unit (a missing binary) in the same root.
      await Deno.remove(`${root}${VTEPD}`);
      const broken = await new Deno.Command("systemd-analyze", {
        args: ["verify", `--root=${root}`, UNIT],
        stderr: "piped",
      }).output();
      assert.notEqual(broken.code, 0);
      assert.match(decoder.decode(broken.stderr), /keepnet-vtepd is not executable/);
    });
  },
});

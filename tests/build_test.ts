/**
 * The build: each program is bundled (keepnet-vtepd in chunks, its Kubernetes client behind a
 * dynamic import), `deno compile` bakes in exactly the
 * permission set (and runtime flags) defined in deno.json / scripts/programs.ts for both
 * targets, the tasks that run from source grant the same, and a missing denort base binary
 * fails with one clear message.
 */
import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { binaryPath, TARGETS } from "../scripts/build.ts";
import { permissionFlags, PROGRAMS, ROOT } from "../scripts/programs.ts";

const decoder = new TextDecoder();

async function build(args: string[], env: Record<string, string>) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}/scripts/build.ts`, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stderr: decoder.decode(output.stderr) };
}

/** The JSON metadata `deno compile` embeds (permissions, V8 flags, ...). */
async function embeddedMetadata(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  const text = decoder.decode(bytes.subarray(bytes.length - 4 * 1024 * 1024));
  const start = text.lastIndexOf('"permissions":{');
  assert.ok(start >= 0, `${path} carries no compile metadata`);
  return text.slice(start, start + 4000);
}

Deno.test("tasks that run a program from source grant its compiled binary's permissions", () => {
  const tasks = config.tasks as unknown as Record<string, { command: string }>;
  for (const [name, program] of Object.entries(PROGRAMS)) {
    const command = tasks[name]!.command;
    assert.equal(
      command,
      ["deno run", `-P=${name}`, ...program.runtimeFlags, program.entry].join(" "),
    );
  }
  assert.deepEqual(permissionFlags("ipam"), ["--allow-read", "--allow-write", "--allow-env"]);
  assert.ok(!permissionFlags("ipam").some((flag) => /net|ffi|run/.test(flag)));
});

Deno.test("the keepnet-ipam bundle carries neither the Kubernetes client nor FFI", async () => {
  const bundle = await Deno.readTextFile(`${ROOT}/${PROGRAMS.ipam.bundle}`);
  assert.doesNotMatch(bundle, /kubernetes-client|KubeConfig|dlopen/);
  assert.match(await Deno.readTextFile(`${ROOT}/${PROGRAMS.vtepd.bundle}`), /dlopen/);
});

interface GraphModule {
  specifier: string;
  local?: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

/** The bundle files `entry` loads: statically only, or with its dynamic imports. */
async function bundleClosure(entry: string, dynamic: boolean): Promise<string[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    stdout: "piped",
  }).output();
  const modules = (JSON.parse(decoder.decode(output.stdout)) as { modules: GraphModule[] })
    .modules;
  const bySpecifier = new Map(modules.map((module) => [module.specifier, module]));
  const seen = new Set<string>();
  const visit = (specifier: string) => {
    const module = bySpecifier.get(specifier);
    if (!module || seen.has(specifier)) return;
    seen.add(specifier);
    for (const dependency of module.dependencies ?? []) {
      if (dependency.code && (dynamic || !dependency.isDynamic)) visit(dependency.code.specifier);
    }
  };
  visit(new URL(`file://${entry}`).href);
  return [...seen].map((specifier) => bySpecifier.get(specifier)!.local!).filter(Boolean);
}

Deno.test("keepnet-vtepd's bundle evaluates @kubernetes/client-node only when a kubeconfig is read", async () => {
  const entry = `${ROOT}/${PROGRAMS.vtepd.bundle}`;
  const usesClientNode = async (files: string[]) => {
    const texts = await Promise.all(files.map((file) => Deno.readTextFile(file)));
    return texts.some((text) => text.includes("loadFromCluster"));
  };
  const atStart = await bundleClosure(entry, false);
  assert.ok(atStart.length > 0);
  assert.equal(await usesClientNode(atStart), false, "nothing loaded at start holds KubeConfig");
  const everything = await bundleClosure(entry, true);
  assert.ok(
    await usesClientNode(everything),
    "the kubeconfig chunk is part of what compile embeds",
  );
  // deno compile embeds what the graph reaches: every chunk file in the bundle directory.
  const chunks: string[] = [];
  for await (const file of Deno.readDir(`${ROOT}/${PROGRAMS.vtepd.chunkDir}`)) {
    chunks.push(`${ROOT}/${PROGRAMS.vtepd.chunkDir}/${file.name}`);
  }
  assert.deepEqual([...everything].sort(), chunks.sort());
});

Deno.test({
  name: "deno compile bakes the permission sets into both programs for both targets",
  ignore: Deno.build.os !== "linux",
  async fn() {
    // The npm-shipped deno CLI stands in for denort: compile accepts it as DENORT_BIN (the
    // result would not run its payload, but its embedded metadata is what is checked here).
    const outDir = await Deno.makeTempDir();
    const result = await build(["--compile-only", "--out-dir", outDir], {
      DENORT_BIN: Deno.execPath(),
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/root",
    });
    try {
      assert.equal(result.code, 0, result.stderr);
      for (const target of TARGETS) {
        for (const [name, program] of Object.entries(PROGRAMS)) {
          const metadata = await embeddedMetadata(
            binaryPath(name as "ipam" | "vtepd", target, outDir),
          );
          const allowed = (kind: string) => metadata.includes(`"allow_${kind}":[]`);
          assert.equal(allowed("read"), true, `${name} read`);
          assert.equal(allowed("write"), true, `${name} write`);
          assert.equal(allowed("env"), true, `${name} env`);
          assert.equal(allowed("ffi"), name === "vtepd", `${name} ffi`);
          assert.equal(allowed("net"), name === "vtepd", `${name} net`);
          // keepnet-ipam runs nothing; keepnet-vtepd only the firewall tools of its rules.
          assert.ok(
            metadata.includes(
              name === "vtepd"
                ? '"allow_run":["iptables","iptables-restore","ip6tables","ip6tables-restore","nft"]'
                : '"allow_run":null',
            ),
            `${name} run`,
          );
          assert.match(metadata, /"prompt":false/);
          for (const flag of program.runtimeFlags.filter((f) => f.startsWith("--v8-flags="))) {
            for (const v8 of flag.slice("--v8-flags=".length).split(",")) {
              assert.ok(metadata.includes(`"${v8}"`), `${name} carries ${v8}`);
            }
          }
        }
      }
    } finally {
      await Deno.remove(outDir, { recursive: true });
    }
  },
});

Deno.test("without a reachable or supplied denort, the build says how to supply it", async () => {
  const reachable = await fetch("https://dl.deno.land/", { signal: AbortSignal.timeout(3000) })
    .then((response) => response.body?.cancel().then(() => true), () => false);
  // An empty DENO_DIR: no pre-seeded zip. With internet access the download would work.
  const denoDir = await Deno.makeTempDir();
  const outDir = await Deno.makeTempDir();
  try {
    const result = await build([
      "--compile-only",
      "--out-dir",
      outDir,
      "--target",
      "aarch64-unknown-linux-gnu",
    ], {
      DENO_DIR: denoDir,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    });
    if (reachable) {
      assert.equal(result.code, 0, result.stderr);
      return;
    }
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /could not get the denort .* base binary for aarch64-unknown-linux-gnu/,
    );
    assert.match(result.stderr, /DENORT_BIN=\/path\/to\/denort/);
    assert.match(
      result.stderr,
      /dl\/release\/v\d+\.\d+\.\d+\/denort-aarch64-unknown-linux-gnu\.zip/,
    );
  } finally {
    await Deno.remove(denoDir, { recursive: true });
    await Deno.remove(outDir, { recursive: true });
  }
});

/**
 * Deno's builds for both architectures on this machine, for tests that run the same thing under
 * each. The x86_64 one is `KEEPNET_DENO_X86_64`, or the running deno when it is x86_64, or the
 * first `deno` on PATH; the aarch64 one is `KEEPNET_DENO_AARCH64`, or where
 * scripts/setup_arm64.sh installs it. A binary counts only when its own `--version` names the
 * architecture, so a test can never compare one build with itself.
 *
 * @module
 */

export type Arch = "x86_64" | "aarch64";

/** Where scripts/setup_arm64.sh puts Deno's aarch64 build (same version as this deno). */
export const SETUP_ARM64_DENO = `/opt/deno-aarch64-${Deno.version.deno}/deno`;

function onPath(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function candidate(arch: Arch): string | undefined {
  if (arch === "x86_64") {
    return Deno.env.get("KEEPNET_DENO_X86_64") ??
      (Deno.build.arch === "x86_64" ? Deno.execPath() : onPath("deno"));
  }
  return Deno.env.get("KEEPNET_DENO_AARCH64") ??
    (Deno.build.arch === "aarch64" ? Deno.execPath() : SETUP_ARM64_DENO);
}

/** The first line `deno --version` prints, or why it could not run. */
function versionLine(path: string): { ok: true; line: string } | { ok: false; why: string } {
  try {
    const output = new Deno.Command(path, { args: ["--version"], stdout: "piped", stderr: "piped" })
      .outputSync();
    const line = new TextDecoder().decode(output.stdout).split("\n")[0] ?? "";
    return output.success ? { ok: true, line } : { ok: false, why: `exit ${output.code}` };
  } catch (error) {
    return { ok: false, why: (error as Error).message };
  }
}

export type Found = { path: string } | { missing: string };

/** Deno `Deno.version.deno` for `arch`, runnable here, or why there is none. */
export function findDeno(arch: Arch): Found {
  const path = candidate(arch);
  if (path === undefined) {
    return { missing: `no ${arch} deno (set KEEPNET_DENO_${arch.toUpperCase()})` };
  }
  const version = versionLine(path);
  if (!version.ok) return { missing: `${path} does not run here: ${version.why}` };
  const wanted = `deno ${Deno.version.deno} `;
  if (!version.line.startsWith(wanted) || !version.line.includes(`${arch}-unknown-linux-gnu`)) {
    return { missing: `${path} is "${version.line}", not ${wanted.trim()} for ${arch}` };
  }
  return { path };
}

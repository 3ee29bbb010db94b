import assert from "node:assert/strict";
import { runProgram } from "./programs.ts";

Deno.test("runProgram reports a program that exits without reading its stdin", async () => {
  // CNI VERSION never reads stdin; 1 MiB is more than a pipe holds, so the write must fail
  // with EPIPE once the program has exited, whatever the timing.
  const out = await runProgram("ipam", "x".repeat(1024 * 1024), {
    env: { CNI_COMMAND: "VERSION" },
  });
  assert.equal(out.code, 0);
  assert.match(out.stdout, /^\{"cniVersion":"1\.1\.0","supportedVersions":\[/);
});

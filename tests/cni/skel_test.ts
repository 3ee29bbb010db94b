import assert from "node:assert/strict";
import { type CmdArgs, type Plugin, runPlugin } from "../../src/cni/skel.ts";
import { CNIError } from "../../src/cni/errors.ts";

/** A plugin that records what it was called with. */
function recordingPlugin(calls: string[]): Plugin {
  const record = (name: string) => (args: CmdArgs) => {
    calls.push(`${name} ${args.cniVersion}`);
    return Promise.resolve(name === "add" ? '{"ok":true}' : undefined);
  };
  return {
    about: "CNI test plugin version 9.9.9",
    add: record("add") as Plugin["add"],
    del: record("del") as Plugin["del"],
    check: record("check") as Plugin["check"],
    gc: record("gc") as Plugin["gc"],
    status: record("status") as Plugin["status"],
  };
}

const FULL_ENV = {
  CNI_COMMAND: "ADD",
  CNI_CONTAINERID: "a",
  CNI_NETNS: "/x",
  CNI_IFNAME: "eth0",
  CNI_PATH: "/x",
};

function run(env: Record<string, string>, stdin = '{"cniVersion":"1.0.0","name":"n"}') {
  const calls: string[] = [];
  let stdinRead = false;
  const output = runPlugin(recordingPlugin(calls), {
    getenv: (name) => env[name],
    readStdin: () => {
      stdinRead = true;
      return Promise.resolve(stdin);
    },
  });
  return output.then((out) => ({ ...out, calls, stdinRead }));
}

Deno.test("S-2 missing variables are reported together, in the library's order", async () => {
  const out = await run({ CNI_COMMAND: "ADD" });
  assert.equal(out.code, 1);
  assert.equal(
    out.stdout,
    '{\n    "code": 4,\n    "msg": "required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing"\n}',
  );
  const del = await run({ CNI_COMMAND: "DEL", CNI_CONTAINERID: "a", CNI_IFNAME: "eth0" });
  assert.match(del.stdout, /required env variables \[CNI_PATH\] missing/);
  const gc = await run({ CNI_COMMAND: "GC" });
  assert.match(gc.stdout, /required env variables \[CNI_PATH\] missing/);
});

Deno.test("S-2 HEAD order: an invalid present variable is reported before missing ones", async () => {
  const out = await run({ CNI_COMMAND: "ADD", CNI_CONTAINERID: "-x" });
  assert.deepEqual(JSON.parse(out.stdout), {
    code: 4,
    msg: "invalid characters in containerID",
    details: "-x",
  });
});

Deno.test("S-2 container ID and interface name rules", async () => {
  const cases: Array<[Record<string, string>, Record<string, unknown>]> = [
    [{ CNI_CONTAINERID: "a b" }, {
      code: 4,
      msg: "invalid characters in containerID",
      details: "a b",
    }],
    [{ CNI_IFNAME: "eth0123456789012" }, {
      code: 4,
      msg: "interface name is too long",
      details: "interface name should be less than 16 characters",
    }],
    [{ CNI_IFNAME: "eth:0" }, {
      code: 4,
      msg: "interface name contains / or : or whitespace characters",
    }],
    [{ CNI_IFNAME: "eth\u00a00" }, {
      code: 4,
      msg: "interface name contains / or : or whitespace characters",
    }],
    [{ CNI_IFNAME: ".." }, { code: 4, msg: "interface name is . or .." }],
  ];
  for (const [override, expected] of cases) {
    const out = await run({ ...FULL_ENV, ...override });
    assert.deepEqual(JSON.parse(out.stdout), expected, JSON.stringify(override));
  }
});

Deno.test("S-1 VERSION ignores stdin and prints the version line", async () => {
  const out = await run({ CNI_COMMAND: "VERSION" }, "garbage");
  assert.equal(out.code, 0);
  assert.equal(out.stdinRead, false);
  assert.match(out.stdout, /^\{"cniVersion":"1\.1\.0","supportedVersions":\[.*"1\.1\.0"\]\}\n$/);
});

Deno.test("without CNI_COMMAND the about text goes to stderr and the exit code is 0", async () => {
  const out = await run({});
  assert.equal(out.code, 0);
  assert.equal(out.stdout, "");
  assert.equal(
    out.stderr,
    "CNI test plugin version 9.9.9\nCNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n",
  );
});

Deno.test("network config errors: codes 6 and 7", async () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ["", { code: 6, msg: "error unmarshall network config: unexpected end of JSON input" }],
    ['{"cniVersion":"1.0.0"}', { code: 7, msg: "missing network name" }],
    ['{"name":"a/b"}', {
      code: 7,
      msg: "invalid characters found in network name",
      details: "a/b",
    }],
    ['{"name":".."}', { code: 7, msg: "invalid characters found in network name", details: ".." }],
    ['{"name":5}', {
      code: 6,
      msg:
        "error unmarshall network config: json: cannot unmarshal number into Go struct field .name of type string",
    }],
    ["[]", {
      code: 6,
      msg:
        'error unmarshall network config: json: cannot unmarshal array into Go value of type struct { Name string "json:\\"name\\"" }',
    }],
    ['{"name":"n","cniVersion":1}', {
      code: 6,
      msg:
        "decoding version from network config: json: cannot unmarshal number into Go struct field .cniVersion of type string",
    }],
  ];
  for (const [stdin, expected] of cases) {
    const out = await run(FULL_ENV, stdin);
    assert.deepEqual(JSON.parse(out.stdout), expected, stdin);
  }
  // Go's own wording of a syntax error (host-local prints exactly this).
  const notJSON = await run(FULL_ENV, "not json");
  assert.equal(
    JSON.parse(notJSON.stdout).msg,
    "error unmarshall network config: invalid character 'o' in literal null (expecting 'u')",
  );
});

Deno.test("versions: exact match required; CHECK needs 0.4.0, GC and STATUS 1.1.0", async () => {
  const incompatible = await run(FULL_ENV, '{"name":"n","cniVersion":"2.0.0"}');
  assert.deepEqual(JSON.parse(incompatible.stdout), {
    code: 1,
    msg: "incompatible CNI versions",
    details:
      'config is "2.0.0", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]',
  });
  const check = await run(
    { ...FULL_ENV, CNI_COMMAND: "CHECK" },
    '{"name":"n","cniVersion":"0.3.1"}',
  );
  assert.deepEqual(JSON.parse(check.stdout), {
    code: 1,
    msg: "config version does not allow CHECK",
  });
  const gc = await run({ CNI_COMMAND: "GC", CNI_PATH: "/x" }, '{"name":"n","cniVersion":"1.0.0"}');
  assert.deepEqual(JSON.parse(gc.stdout), { code: 1, msg: "config version does not allow GC" });
  const status = await run(
    { CNI_COMMAND: "STATUS", CNI_PATH: "/x" },
    '{"name":"n","cniVersion":"1.1.0"}',
  );
  assert.equal(status.code, 0);
  assert.deepEqual(status.calls, ["status 1.1.0"]);
  const none = await run(FULL_ENV, '{"name":"n"}');
  assert.deepEqual(none.calls, ["add 0.1.0"]);
  assert.equal(none.stdout, '{"ok":true}');
});

Deno.test("unknown commands are code 4 after the config is checked; add is not ADD", async () => {
  const out = await run({ ...FULL_ENV, CNI_COMMAND: "add" });
  assert.deepEqual(JSON.parse(out.stdout), { code: 4, msg: "unknown CNI_COMMAND: add" });
});

Deno.test("S-3 errors thrown by commands: CNIError kept, others become code 999", async () => {
  const plugin = recordingPlugin([]);
  plugin.add = () => Promise.reject(new Error("IP <nil> & more"));
  plugin.del = () => Promise.reject(new CNIError(11, "try again", "later"));
  const io = (command: string) => ({
    getenv: (name: string) =>
      ({ ...FULL_ENV, CNI_COMMAND: command } as Record<string, string>)[name],
    readStdin: () => Promise.resolve('{"name":"n","cniVersion":"1.0.0"}'),
  });
  const add = await runPlugin(plugin, io("ADD"));
  assert.equal(
    add.stdout,
    '{\n    "code": 999,\n    "msg": "IP \\u003cnil\\u003e \\u0026 more"\n}',
  );
  const del = await runPlugin(plugin, io("DEL"));
  assert.equal(
    del.stdout,
    '{\n    "code": 11,\n    "msg": "try again",\n    "details": "later"\n}',
  );
});

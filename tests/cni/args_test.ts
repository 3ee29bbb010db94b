import assert from "node:assert/strict";
import { argValue, loadArgs, splitArgs } from "../../src/cni/args.ts";

const noFields = {};

Deno.test("S-17 CNI_ARGS: each pair needs exactly one '='", () => {
  assert.throws(() => splitArgs("IP=10.0.0.1;"), { message: 'ARGS: invalid pair ""' });
  assert.throws(() => splitArgs("IP=a=b"), { message: 'ARGS: invalid pair "IP=a=b"' });
  assert.deepEqual(splitArgs(""), []);
  assert.deepEqual(splitArgs("A=1;B="), [
    { key: "A", value: "1", text: "A=1" },
    { key: "B", value: "", text: "B=" },
  ]);
});

Deno.test("S-17 CNI_ARGS: unknown keys fail unless IgnoreUnknown is true (keys are case-sensitive)", () => {
  assert.throws(() => loadArgs("K8S_POD_NAMESPACE=default", noFields), {
    message: 'ARGS: unknown args ["K8S_POD_NAMESPACE=default"]',
  });
  assert.throws(() => loadArgs("ignoreunknown=1;FOO=bar", noFields), {
    message: 'ARGS: unknown args ["ignoreunknown=1" "FOO=bar"]',
  });
  loadArgs("A=b;IgnoreUnknown=1;C=d", noFields);
  loadArgs("IgnoreUnknown=TRUE;A=b", noFields);
  assert.throws(() => loadArgs("IgnoreUnknown=0;A=b", noFields), { message: /unknown args/ });
});

Deno.test("S-17 CNI_ARGS: IgnoreUnknown needs a boolean; field parse errors name the pair", () => {
  assert.throws(() => loadArgs("IgnoreUnknown=YES", noFields), {
    message:
      'ARGS: error parsing value of pair "IgnoreUnknown=YES": boolean unmarshal error: invalid input yes',
  });
  assert.throws(
    () =>
      loadArgs("IP=zzz", {
        IP: () => {
          throw new Error("invalid IP address zzz");
        },
      }),
    { message: 'ARGS: error parsing value of pair "IP=zzz": invalid IP address zzz' },
  );
  assert.throws(() => loadArgs("CommonArgs=1", noFields), {
    message:
      "ARGS: cannot unmarshal into field 'CommonArgs' - type '*types.CommonArgs' does not implement encoding.TextUnmarshaler",
  });
});

Deno.test("argValue takes the last value of a key", () => {
  const pairs = splitArgs("K8S_POD_NAME=a;K8S_POD_NAME=b;k8s_pod_name=c");
  assert.equal(argValue(pairs, "K8S_POD_NAME"), "b");
  assert.equal(argValue(pairs, "K8S_POD_UID"), "");
});

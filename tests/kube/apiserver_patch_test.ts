import assert from "node:assert/strict";
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  type Json,
  PatchError,
} from "./apiserver/patch.ts";

Deno.test("merge patch (RFC 7386): the RFC's examples", () => {
  const cases: [Json, Json, Json][] = [
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [["a", "b"], ["c", "d"], ["c", "d"]],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, expected] of cases) {
    assert.deepEqual(applyMergePatch(target, patch), expected, JSON.stringify([target, patch]));
  }
});

const node: Json = {
  metadata: { name: "n1", annotations: { a: "1", b: "2" }, finalizers: ["x"] },
  spec: { podCIDRs: ["10.244.1.0/24"], taints: [{ key: "k", effect: "NoSchedule" }] },
  status: {
    conditions: [
      { type: "Ready", status: "True" },
      { type: "NetworkUnavailable", status: "True", reason: "NoRouteCreated" },
    ],
  },
};

Deno.test("strategic merge patch: conditions merge by type, a merge patch replaces them", () => {
  const patch = {
    status: {
      conditions: [{ type: "NetworkUnavailable", status: "False", reason: "FlannelIsUp" }],
    },
  };
  const strategic = applyStrategicMergePatch(node, patch) as Record<string, Json>;
  assert.deepEqual((strategic.status as Record<string, Json>).conditions, [
    { type: "Ready", status: "True" },
    { type: "NetworkUnavailable", status: "False", reason: "FlannelIsUp" },
  ]);
  const merged = applyMergePatch(node, patch) as Record<string, Json>;
  assert.deepEqual((merged.status as Record<string, Json>).conditions, [
    { type: "NetworkUnavailable", status: "False", reason: "FlannelIsUp" },
  ]);
});

Deno.test("strategic merge patch: maps merge, null deletes, plain lists are replaced", () => {
  const patched = applyStrategicMergePatch(node, {
    metadata: { annotations: { a: null, c: "3" } },
    spec: { taints: [] },
  }) as Record<string, Record<string, Json>>;
  assert.deepEqual(patched.metadata!.annotations, { b: "2", c: "3" });
  assert.deepEqual(patched.spec!.taints, []);
  assert.deepEqual(patched.spec!.podCIDRs, ["10.244.1.0/24"], "untouched fields stay");
});

Deno.test("strategic merge patch: set lists merge, $patch directives are honoured", () => {
  const patched = applyStrategicMergePatch(node, {
    metadata: { finalizers: ["x", "y"] },
    status: { conditions: [{ type: "Ready", $patch: "delete" }] },
  }) as Record<string, Record<string, Json>>;
  assert.deepEqual(patched.metadata!.finalizers, ["x", "y"]);
  assert.deepEqual(patched.status!.conditions, [
    { type: "NetworkUnavailable", status: "True", reason: "NoRouteCreated" },
  ]);
  const replaced = applyStrategicMergePatch(node, {
    metadata: { annotations: { $patch: "replace", z: "9" } },
  }) as Record<string, Record<string, Json>>;
  assert.deepEqual(replaced.metadata!.annotations, { z: "9" });
});

Deno.test("strategic merge patch: malformed patches are rejected with 400", () => {
  for (
    const patch of [
      ["not", "an", "object"],
      { status: { conditions: [{ status: "False" }] } },
      { metadata: { $retainKeys: ["name"] } },
    ] as Json[]
  ) {
    assert.throws(
      () => applyStrategicMergePatch(node, patch),
      (error: unknown) => error instanceof PatchError && error.status === 400,
      JSON.stringify(patch),
    );
  }
});

Deno.test("JSON patch (RFC 6902): add, remove, replace, move, copy, test", () => {
  const doc: Json = { a: { b: [1, 2] }, c: "x" };
  assert.deepEqual(applyJsonPatch(doc, [{ op: "add", path: "/a/b/1", value: 9 }]), {
    a: { b: [1, 9, 2] },
    c: "x",
  });
  assert.deepEqual(applyJsonPatch(doc, [{ op: "add", path: "/a/b/-", value: 3 }]), {
    a: { b: [1, 2, 3] },
    c: "x",
  });
  assert.deepEqual(applyJsonPatch(doc, [{ op: "remove", path: "/c" }]), { a: { b: [1, 2] } });
  assert.deepEqual(applyJsonPatch(doc, [{ op: "replace", path: "/c", value: "y" }]), {
    a: { b: [1, 2] },
    c: "y",
  });
  assert.deepEqual(applyJsonPatch(doc, [{ op: "move", from: "/c", path: "/d" }]), {
    a: { b: [1, 2] },
    d: "x",
  });
  assert.deepEqual(applyJsonPatch(doc, [{ op: "copy", from: "/a/b/0", path: "/e" }]), {
    a: { b: [1, 2] },
    c: "x",
    e: 1,
  });
  assert.deepEqual(
    applyJsonPatch({ "a/b": { "m~n": 1 } }, [{ op: "replace", path: "/a~1b/m~0n", value: 2 }]),
    { "a/b": { "m~n": 2 } },
    "~1 and ~0 escapes",
  );
  assert.deepEqual(applyJsonPatch(doc, [{ op: "test", path: "/a/b", value: [1, 2] }]), doc);
  assert.deepEqual(doc, { a: { b: [1, 2] }, c: "x" }, "the target is not modified");
});

Deno.test("JSON patch: failures are 422, malformed operations 400", () => {
  const doc: Json = { a: 1 };
  const expectStatus = (patch: Json, status: number) =>
    assert.throws(
      () => applyJsonPatch(doc, patch),
      (error: unknown) => error instanceof PatchError && error.status === status,
      JSON.stringify(patch),
    );
  expectStatus([{ op: "test", path: "/a", value: 2 }], 422);
  expectStatus([{ op: "remove", path: "/missing" }], 422);
  expectStatus([{ op: "replace", path: "/x/y", value: 1 }], 422);
  expectStatus([{ op: "add", path: "/a" }], 400);
  expectStatus([{ op: "jump", path: "/a" }], 400);
  expectStatus({ op: "add", path: "/a", value: 1 }, 400);
});

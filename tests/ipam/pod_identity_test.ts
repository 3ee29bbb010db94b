import assert from "node:assert/strict";
import { podIdentityFromArgs } from "../../src/ipam/pod_identity.ts";

Deno.test("pod identity from CNI_ARGS: both namespace and name, validated", () => {
  assert.equal(podIdentityFromArgs(""), undefined);
  assert.equal(podIdentityFromArgs("K8S_POD_NAME=x"), undefined);
  assert.equal(podIdentityFromArgs("K8S_POD_NAMESPACE=;K8S_POD_NAME=x"), undefined);
  assert.deepEqual(
    podIdentityFromArgs("K8S_POD_NAMESPACE=ns;K8S_POD_NAME=a.b-c;K8S_POD_UID=AB-12"),
    {
      namespace: "ns",
      name: "a.b-c",
      uid: "AB-12",
    },
  );
  assert.throws(() => podIdentityFromArgs("K8S_POD_NAMESPACE=ns;K8S_POD_NAME=-x"), {
    message: /^invalid K8S_POD_NAME "-x"/,
  });
  assert.throws(() => podIdentityFromArgs(`K8S_POD_NAMESPACE=ns;K8S_POD_NAME=${"a".repeat(254)}`), {
    message: /^invalid K8S_POD_NAME/,
  });
  assert.throws(() => podIdentityFromArgs("K8S_POD_NAMESPACE=a.b;K8S_POD_NAME=x"), {
    message: /^invalid K8S_POD_NAMESPACE "a\.b"/,
  });
});

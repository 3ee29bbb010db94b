/**
 * Concurrency: a restart storm of the real bundle. 110 pods are added at once to one network,
 * then all are restarted at once (DEL of the old sandbox, then ADD of a new one): every pod
 * must get a distinct IP, and after the restart its own IP back.
 */
import assert from "node:assert/strict";
import { addressesOf, ipamBundle, readStore, reservationsIn, withTempDir } from "./harness.ts";

const PODS = 110;

const podArgs = (i: number) => `IgnoreUnknown=1;K8S_POD_NAMESPACE=storm;K8S_POD_NAME=pod-${i}`;

Deno.test(`${PODS} concurrent ADDs, then a concurrent DEL-then-ADD restart of them all`, async () => {
  await withTempDir(async (dir) => {
    const config = {
      cniVersion: "1.0.0",
      name: "storm",
      ipam: { dataDir: dir, ranges: [[{ subnet: "10.77.0.0/24" }]] },
    };
    const pods = [...Array(PODS).keys()];
    const first = await Promise.all(
      pods.map((i) => ipamBundle({ containerID: `first-${i}`, args: podArgs(i), config })),
    );
    const firstIPs = first.map((out) => addressesOf(out)[0]!);
    assert.equal(new Set(firstIPs).size, PODS, "addresses are distinct");

    const restarted = await Promise.all(pods.map(async (i) => {
      const del = await ipamBundle({
        command: "DEL",
        containerID: `first-${i}`,
        args: podArgs(i),
        config,
      });
      assert.equal(del.code, 0, del.stdout);
      return await ipamBundle({ containerID: `second-${i}`, args: podArgs(i), config });
    }));
    assert.deepEqual(
      restarted.map((out) => addressesOf(out)[0]),
      firstIPs,
      "every pod got its IP back",
    );

    const store = await readStore(`${dir}/storm`);
    const reservations = reservationsIn(store);
    assert.equal(Object.keys(reservations).length, PODS);
    for (const content of Object.values(reservations)) {
      assert.match(content, /^second-\d+\r\neth0$/);
    }
  });
});

/**
 * Interoperability with Debian's Go host-local on one live data directory: keepnet-ipam takes
 * over a store host-local wrote, and host-local can still DEL and CHECK (and allocate around)
 * what keepnet-ipam wrote, bindings included.
 */
import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import {
  addressesOf,
  hasHostLocal,
  hostLocal,
  ipam,
  readStore,
  reservationsIn,
  withTempDir,
} from "./harness.ts";

const podArgs = (name: string) => `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${name}`;

Deno.test({
  name: "keepnet-ipam takes over host-local's store, and host-local works on ours",
  ignore: !hasHostLocal,
  fn: async () => {
    await withTempDir(async (dir) => {
      const config = {
        cniVersion: "0.4.0",
        name: "live",
        type: "bridge",
        ipam: {
          type: "host-local",
          dataDir: dir,
          ranges: [[{ subnet: "10.44.0.0/28" }], [{ subnet: "fd00:44::/124" }]],
        },
      };
      // host-local writes a store: three containers, one of them released again.
      const goIPs: string[][] = [];
      for (const id of ["go1", "go2", "go3"]) {
        goIPs.push(addressesOf(await hostLocal({ containerID: id, config })));
      }
      assert.equal((await hostLocal({ command: "DEL", containerID: "go2", config })).code, 0);

      // keepnet-ipam continues round-robin after host-local's cursor and never collides.
      const ours: string[][] = [];
      for (const id of ["k1", "k2", "k3"]) {
        ours.push(addressesOf(await ipam({ containerID: id, args: podArgs(`pod-${id}`), config })));
      }
      assert.deepEqual(ours[0], ["10.44.0.5/28", "fd00:44::5/124"]);
      const held = [goIPs[0]!, goIPs[2]!, ...ours].flat();
      assert.equal(new Set(held).size, held.length);

      // host-local sees our reservations (and ignores our binding files).
      assert.equal((await hostLocal({ command: "CHECK", containerID: "k1", config })).code, 0);
      const next = addressesOf(await hostLocal({ containerID: "go4", config }));
      assert.ok(!held.includes(next[0]!) && !held.includes(next[1]!));
      assert.equal((await hostLocal({ command: "DEL", containerID: "k2", config })).code, 0);
      assert.equal((await hostLocal({ command: "CHECK", containerID: "k2", config })).code, 1);

      // keepnet-ipam checks and releases what host-local wrote.
      assert.equal((await ipam({ command: "CHECK", containerID: "go1", config })).code, 0);
      assert.equal((await ipam({ command: "DEL", containerID: "go1", config })).code, 0);
      assert.equal((await ipam({ command: "DEL", containerID: "go3", config })).code, 0);

      const store = await readStore(`${dir}/live`);
      const holders = new Set(Object.values(reservationsIn(store)).map((c) => c.split("\r\n")[0]));
      assert.deepEqual([...holders].sort(), ["go4", "k1", "k3"]);
      // Bindings survive host-local's DEL and still give k2's pod its addresses back.
      assert.deepEqual(
        addressesOf(await ipam({ containerID: "k2b", args: podArgs("pod-k2"), config })),
        ours[1],
      );
    });
  },
});

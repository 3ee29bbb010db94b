import assert from "node:assert/strict";
import { loadState, saveState, statePath, type VtepState } from "../../src/vtepd/state.ts";

const state: VtepState = {
  nodeName: "edge-1",
  machineId: "abc",
  vtepMAC: "0e:11:22:33:44:55",
  vni: 1,
  lease: { podCIDR: "10.244.1.0/24", publicIP: "192.168.1.1" },
  peers: [{
    name: "edge-2",
    podCIDR: "10.244.2.0/24",
    publicIP: "192.168.1.2",
    mac: "0e:00:00:00:00:02",
  }],
  updatedAt: "2026-11-26T00:00:00.000Z",
};

Deno.test("state: round trip through an atomically written file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.deepEqual(await loadState(`${dir}/absent`), { kind: "missing" });
    await saveState(`${dir}/keepnet`, state);
    assert.deepEqual(await loadState(`${dir}/keepnet`), { kind: "loaded", state });
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(`${dir}/keepnet`))).map((entry) => entry.name),
      [
        "vtepd-state.json",
      ],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("state: a damaged file is reported, a damaged peer entry is dropped alone", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(statePath(dir), "{ half a file");
    const damaged = await loadState(dir);
    assert.equal(damaged.kind, "invalid");
    const document = {
      version: 1,
      ...state,
      peers: [...state.peers!, { name: "bad", podCIDR: "nope", publicIP: "1.2.3.4", mac: "x" }],
    };
    await Deno.writeTextFile(statePath(dir), JSON.stringify(document));
    const loaded = await loadState(dir);
    assert.ok(loaded.kind === "loaded");
    assert.deepEqual(loaded.state.peers, state.peers);
    // A MAC that cannot be a VTEP's is set aside alone: the lease and the peers are still good.
    for (const mac of ["zz", "01:00:5e:00:00:01", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"]) {
      await Deno.writeTextFile(statePath(dir), JSON.stringify({ ...document, vtepMAC: mac }));
      const unusable = await loadState(dir);
      assert.ok(unusable.kind === "loaded", mac);
      assert.equal(unusable.state.vtepMAC, undefined, mac);
      assert.equal(unusable.state.unusableMAC, JSON.stringify(mac));
      assert.deepEqual(unusable.state.lease, state.lease);
      assert.deepEqual(unusable.state.peers, state.peers);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

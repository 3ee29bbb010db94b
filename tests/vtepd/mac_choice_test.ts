import assert from "node:assert/strict";
import { chooseVtepMAC } from "../../src/vtepd/mac_choice.ts";
import { isUsableUnicastMAC } from "../../src/net/mac.ts";
import type { StateLoad } from "../../src/vtepd/state.ts";

const saved = (nodeName: string, machineId?: string): StateLoad => ({
  kind: "loaded",
  state: { nodeName, machineId, vtepMAC: "0e:00:00:00:00:01", vni: 1, updatedAt: "" },
});

Deno.test("VTEP MAC: state file first, then device, then annotation, then a new MAC", () => {
  const base = { nodeName: "n1", machineId: "m1" };
  const all = { deviceMAC: "0e:00:00:00:00:02", annotationMAC: "0e:00:00:00:00:03" };
  assert.deepEqual(
    chooseVtepMAC({ ...base, ...all, state: saved("n1", "m1") }),
    { mac: "0e:00:00:00:00:01", source: "state", skipped: [] },
  );
  assert.equal(chooseVtepMAC({ ...base, ...all, state: { kind: "missing" } }).source, "device");
  assert.equal(
    chooseVtepMAC({ ...base, annotationMAC: "0E-00-00-00-00-03", state: { kind: "missing" } }).mac,
    "0e:00:00:00:00:03",
  );
  const generated = chooseVtepMAC({ ...base, state: { kind: "missing" } });
  assert.equal(generated.source, "generated");
  assert.ok(isUsableUnicastMAC(generated.mac));
  assert.equal(parseInt(generated.mac.slice(0, 2), 16) & 2, 2, "locally administered");
});

Deno.test("VTEP MAC: a state file of another node or machine is not trusted", () => {
  const other = chooseVtepMAC({
    nodeName: "n1",
    state: saved("n2"),
    deviceMAC: "0e:00:00:00:00:02",
  });
  assert.equal(other.source, "device");
  assert.match(other.skipped[0]!, /node n2/);
  const cloned = chooseVtepMAC({ nodeName: "n1", machineId: "m2", state: saved("n1", "m1") });
  assert.equal(cloned.source, "generated");
  assert.match(cloned.skipped[0]!, /machine-id/);
});

Deno.test("VTEP MAC: multicast, all-zero, broadcast and malformed candidates are skipped, with reasons", () => {
  for (const bad of ["01:00:5e:00:00:01", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "zz:00:00"]) {
    const choice = chooseVtepMAC({
      nodeName: "n1",
      state: {
        kind: "loaded",
        state: { nodeName: "n1", unusableMAC: JSON.stringify(bad), vni: 1, updatedAt: "" },
      },
      deviceMAC: bad,
      annotationMAC: bad,
    });
    assert.equal(choice.source, "generated", bad);
    assert.ok(isUsableUnicastMAC(choice.mac));
    assert.equal(choice.skipped.length, 3, choice.skipped.join("; "));
    assert.match(choice.skipped[0]!, /state file's vtepMAC .* is not a usable unicast MAC/);
    assert.match(choice.skipped[1]!, /the device's MAC .* is not a usable unicast MAC/);
    assert.match(choice.skipped[2]!, /the annotation's MAC .* is not a usable unicast MAC/);
  }
  // A good annotation is taken after a bad device MAC.
  const next = chooseVtepMAC({
    nodeName: "n1",
    state: { kind: "invalid", reason: "not JSON" },
    deviceMAC: "01:00:5e:00:00:01",
    annotationMAC: "0e:00:00:00:00:03",
  });
  assert.deepEqual([next.mac, next.source], ["0e:00:00:00:00:03", "annotation"]);
});

import assert from "node:assert/strict";
import { macFromBytes, macToBytes } from "../../src/net/mac.ts";

Deno.test("macToBytes takes six colon-separated hex octets in either case", () => {
  assert.deepEqual(
    macToBytes("02:42:0A:f4:01:ff"),
    Uint8Array.of(0x02, 0x42, 0x0a, 0xf4, 0x01, 0xff),
  );
  for (
    const bad of [
      "",
      "02:42:0a:f4:01",
      "02:42:0a:f4:01:00:00",
      "02-42-0a-f4-01-00",
      "2:42:0a:f4:01:00",
      "02:42:0a:f4:01:0g",
      " 02:42:0a:f4:01:00",
    ]
  ) {
    assert.equal(macToBytes(bad), undefined, bad);
  }
});

Deno.test("macFromBytes writes lower-case octets with leading zeros, as flannel's VtepMAC", () => {
  assert.equal(macFromBytes(Uint8Array.of(0x0e, 0x2a, 0, 0xab, 0x0c, 0xff)), "0e:2a:00:ab:0c:ff");
  assert.equal(macFromBytes(macToBytes("AA:BB:CC:DD:EE:FF")!), "aa:bb:cc:dd:ee:ff");
});

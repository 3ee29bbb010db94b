import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { parseIP } from "../../src/net/ip.ts";
import { loadLibnl } from "../../src/netlink/library.ts";
import {
  buildIPAddr,
  buildMACAddr,
  bytesToIP,
  ipToBytes,
  readAddrBytes,
  readIP,
  readPrefixLength,
} from "../../src/netlink/nladdr.ts";

Deno.test("ipToBytes and bytesToIP convert in network byte order", () => {
  assert.deepEqual(ipToBytes(parseIP("10.244.1.2")!), Uint8Array.of(10, 244, 1, 2));
  const v6 = ipToBytes(parseIP("fd00::1:2")!);
  assert.equal(v6.length, 16);
  assert.deepEqual([v6[0], v6[1], v6[13], v6[15]], [0xfd, 0, 1, 2]);
  assert.deepEqual(bytesToIP(Uint8Array.of(10, 244, 1, 2), 4), parseIP("10.244.1.2"));
  assert.deepEqual(bytesToIP(v6, 6), parseIP("fd00::1:2"));
});

Deno.test("bytesToIP reads libnl's empty default-route address and v4-mapped IPv6 as Go prints them", () => {
  assert.deepEqual(bytesToIP(new Uint8Array(0), 4), { family: 4, value: 0n });
  assert.deepEqual(bytesToIP(new Uint8Array(0), 6), { family: 6, value: 0n });
  assert.deepEqual(
    bytesToIP(ipToBytes({ family: 6, value: 0xffff0a000001n }), 6),
    parseIP("10.0.0.1"),
  );
  assert.equal(bytesToIP(new Uint8Array(6), 4), undefined);
});

Deno.test("nl_addr round trip through libnl keeps bytes, family and prefix length", () => {
  const lib = loadLibnl();
  const ip = parseIP("fd00:244:1::7")!;
  const addr = buildIPAddr(lib, ip, 64);
  try {
    assert.equal(readPrefixLength(lib, addr), 64);
    assert.deepEqual(readIP(lib, addr, 6), ip);
  } finally {
    lib.nl_addr_put(addr);
  }
  const host = buildIPAddr(lib, parseIP("10.0.0.1")!);
  try {
    assert.equal(readPrefixLength(lib, host), 32);
  } finally {
    lib.nl_addr_put(host);
  }
  const mac = buildMACAddr(lib, Uint8Array.of(2, 0x42, 0xa, 0xf4, 1, 0));
  try {
    assert.deepEqual(readAddrBytes(lib, mac), Uint8Array.of(2, 0x42, 0xa, 0xf4, 1, 0));
  } finally {
    lib.nl_addr_put(mac);
  }
  assert.deepEqual(readAddrBytes(lib, null), new Uint8Array(0));
  assert.equal(readIP(lib, null, 4), undefined);
});

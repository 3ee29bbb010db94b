import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { parseKernelChanges } from "../../src/netlink/changes.ts";

// Hand-built rtnetlink messages, laid out as the kernel sends them (host byte order).
const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const RTM_NEWNEIGH = 28;
const RTM_DELNEIGH = 29;
const RTM_NEWADDR = 20;
const NLMSG_ERROR = 2;
const AF_INET = 2;
const AF_BRIDGE = 7;
const AF_INET6 = 10;

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function padded(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array((bytes.length + 3) & ~3);
  out.set(bytes);
  return out;
}

/** Little helper to write host-order integers into a fresh buffer. */
function struct(length: number, fill: (view: DataView) => void): Uint8Array {
  const bytes = new Uint8Array(length);
  fill(new DataView(bytes.buffer));
  return bytes;
}

function u32(value: number): Uint8Array {
  return struct(4, (v) => v.setUint32(0, value, LITTLE_ENDIAN));
}

function attr(type: number, value: Uint8Array): Uint8Array {
  const header = struct(4, (v) => {
    v.setUint16(0, 4 + value.length, LITTLE_ENDIAN);
    v.setUint16(2, type, LITTLE_ENDIAN);
  });
  return padded(concat(header, value));
}

function message(type: number, body: Uint8Array, senderPort = 0): Uint8Array {
  const header = struct(16, (v) => {
    v.setUint32(0, 16 + body.length, LITTLE_ENDIAN);
    v.setUint16(4, type, LITTLE_ENDIAN);
    v.setUint32(8, 7, LITTLE_ENDIAN); // nlmsg_seq
    v.setUint32(12, senderPort, LITTLE_ENDIAN);
  });
  return padded(concat(header, body));
}

function ifinfomsg(ifindex: number, flags: number, family = 0): Uint8Array {
  return struct(16, (v) => {
    v.setUint8(0, family);
    v.setInt32(4, ifindex, LITTLE_ENDIAN);
    v.setUint32(8, flags, LITTLE_ENDIAN);
  });
}

function ndmsg(family: number, ifindex: number, state: number, flags: number): Uint8Array {
  return struct(12, (v) => {
    v.setUint8(0, family);
    v.setInt32(4, ifindex, LITTLE_ENDIAN);
    v.setUint16(8, state, LITTLE_ENDIAN);
    v.setUint8(10, flags);
  });
}

function rtmsg(family: number, dstLength: number, table: number, flags: number): Uint8Array {
  return struct(12, (v) => {
    v.setUint8(0, family);
    v.setUint8(1, dstLength);
    v.setUint8(4, table);
    v.setUint32(8, flags, LITTLE_ENDIAN);
  });
}

const text = (s: string) => new TextEncoder().encode(`${s}\0`);
const bytes = (...values: number[]) => Uint8Array.of(...values);
const MAC = bytes(0x02, 0x42, 0x0a, 0xf4, 0x02, 0x00);
const FD00_2 = bytes(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);

const LINK = message(
  RTM_NEWLINK,
  concat(
    ifinfomsg(5, 0x11043),
    attr(3, text("flannel.1")),
    attr(1, MAC),
    attr(4, u32(1450)),
  ),
  4242,
);
const NEIGHBOUR = message(
  RTM_NEWNEIGH,
  concat(ndmsg(AF_INET, 5, 0x80, 0), attr(1, bytes(10, 244, 2, 0)), attr(2, MAC)),
  99,
);
const ROUTE = message(
  RTM_NEWROUTE,
  concat(
    rtmsg(AF_INET, 24, 254, 0x4),
    attr(15, u32(254)),
    attr(1, bytes(10, 244, 2, 0)),
    attr(5, bytes(10, 244, 2, 0)),
    attr(4, u32(5)),
  ),
);

Deno.test("a link message gives its index, name, MAC, MTU, flags and sender port", () => {
  assert.deepEqual(parseKernelChanges(LINK), [{
    kind: "link",
    action: "new",
    ifindex: 5,
    name: "flannel.1",
    mac: "02:42:0a:f4:02:00",
    mtu: 1450,
    flags: 0x11043,
    senderPort: 4242,
  }]);
  const deleted = message(RTM_DELLINK, concat(ifinfomsg(5, 0x1002), attr(3, text("flannel.1"))));
  assert.deepEqual(parseKernelChanges(deleted), [{
    kind: "link",
    action: "del",
    ifindex: 5,
    name: "flannel.1",
    flags: 0x1002,
    senderPort: 0,
  }]);
});

Deno.test("neighbour messages become neighbour changes, AF_BRIDGE ones FDB changes", () => {
  assert.deepEqual(parseKernelChanges(NEIGHBOUR), [{
    kind: "neighbour",
    action: "new",
    family: 4,
    ifindex: 5,
    ip: "10.244.2.0",
    mac: "02:42:0a:f4:02:00",
    state: 0x80,
    flags: 0,
    senderPort: 99,
  }]);
  const v6 = message(RTM_DELNEIGH, concat(ndmsg(AF_INET6, 5, 0x20, 0), attr(1, FD00_2)));
  assert.deepEqual(parseKernelChanges(v6), [{
    kind: "neighbour",
    action: "del",
    family: 6,
    ifindex: 5,
    ip: "fd00::2",
    state: 0x20,
    flags: 0,
    senderPort: 0,
  }]);
  const fdb = message(
    RTM_NEWNEIGH,
    concat(ndmsg(AF_BRIDGE, 5, 0x80, 0x02), attr(2, MAC), attr(1, bytes(192, 168, 50, 2))),
  );
  assert.deepEqual(parseKernelChanges(fdb), [{
    kind: "fdb",
    action: "new",
    ifindex: 5,
    mac: "02:42:0a:f4:02:00",
    dst: "192.168.50.2",
    state: 0x80,
    flags: 0x02,
    senderPort: 0,
  }]);
  const fdbV6 = message(
    RTM_DELNEIGH,
    concat(ndmsg(AF_BRIDGE, 5, 0x80, 2), attr(2, MAC), attr(1, FD00_2)),
  );
  assert.equal((parseKernelChanges(fdbV6)[0] as { dst?: string }).dst, "fd00::2");
});

Deno.test("route messages give the prefix, gateway, device, table and flags", () => {
  assert.deepEqual(parseKernelChanges(ROUTE), [{
    kind: "route",
    action: "new",
    family: 4,
    dst: "10.244.2.0/24",
    gateway: "10.244.2.0",
    ifindex: 5,
    table: 254,
    flags: 0x4,
    senderPort: 0,
  }]);
  // No RTA_DST: a default route. RTA_TABLE, when present, wins over the 8-bit rtm_table.
  const defaultRoute = message(
    RTM_DELROUTE,
    concat(rtmsg(AF_INET6, 0, 252, 0), attr(15, u32(1000)), attr(5, FD00_2)),
    7,
  );
  assert.deepEqual(parseKernelChanges(defaultRoute), [{
    kind: "route",
    action: "del",
    family: 6,
    dst: "::/0",
    gateway: "fd00::2",
    table: 1000,
    flags: 0,
    senderPort: 7,
  }]);
  const noTableAttribute = message(
    RTM_NEWROUTE,
    concat(rtmsg(AF_INET, 8, 255, 0), attr(1, bytes(10, 0, 0, 0))),
  );
  assert.deepEqual(
    parseKernelChanges(noTableAttribute).map((c) => [c.kind, (c as { table: number }).table]),
    [["route", 255]],
  );
});

Deno.test("one datagram with several messages gives their changes in order", () => {
  const changes = parseKernelChanges(concat(LINK, NEIGHBOUR, ROUTE));
  assert.deepEqual(changes.map((c) => c.kind), ["link", "neighbour", "route"]);
});

Deno.test("messages of other types and families are skipped", () => {
  const others = [
    message(NLMSG_ERROR, new Uint8Array(20)),
    message(RTM_NEWADDR, new Uint8Array(8)),
    // An AF_BRIDGE link message describes a bridge port, not a device.
    message(RTM_NEWLINK, concat(ifinfomsg(5, 0, AF_BRIDGE), attr(3, text("port0")))),
    // Neighbour of an unknown family, FDB entry without a MAC, neighbour without an address.
    message(RTM_NEWNEIGH, concat(ndmsg(3, 5, 0x80, 0), attr(1, bytes(1, 2, 3, 4)))),
    message(RTM_NEWNEIGH, concat(ndmsg(AF_BRIDGE, 5, 0x80, 2), attr(1, bytes(1, 2, 3, 4)))),
    message(RTM_NEWNEIGH, concat(ndmsg(AF_INET, 5, 0x80, 0), attr(2, MAC))),
    // Route of a non-IP family (RTNL_FAMILY_IPMR = 128).
    message(RTM_NEWROUTE, concat(rtmsg(128, 0, 254, 0), attr(4, u32(5)))),
  ];
  assert.deepEqual(parseKernelChanges(concat(...others, ROUTE)).map((c) => c.kind), ["route"]);
});

Deno.test("malformed messages are skipped and what can still be framed is read", () => {
  const cases: [string, Uint8Array, string[]][] = [
    ["empty datagram", new Uint8Array(0), []],
    ["shorter than a header", LINK.subarray(0, 15), []],
    // A family header cut short (nlmsg_len says so): skipped, the next message still read.
    ["short family header", concat(message(RTM_NEWLINK, new Uint8Array(8)), ROUTE), ["route"]],
    ["short ndmsg", concat(message(RTM_NEWNEIGH, new Uint8Array(6)), LINK), ["link"]],
    ["short rtmsg", concat(message(RTM_NEWROUTE, new Uint8Array(4)), LINK), ["link"]],
    // An attribute whose length runs past its message spoils that message only.
    [
      "attribute past its message",
      concat(
        message(
          RTM_NEWLINK,
          concat(ifinfomsg(5, 0), struct(4, (v) => v.setUint16(0, 200, LITTLE_ENDIAN))),
        ),
        NEIGHBOUR,
      ),
      ["neighbour"],
    ],
    [
      "attribute length below its header",
      concat(message(RTM_NEWLINK, concat(ifinfomsg(5, 0), bytes(2, 0, 3, 0))), NEIGHBOUR),
      ["neighbour"],
    ],
    // Addresses of the wrong size, an impossible prefix length.
    [
      "neighbour address of 5 bytes",
      message(RTM_NEWNEIGH, concat(ndmsg(AF_INET, 5, 0x80, 0), attr(1, bytes(1, 2, 3, 4, 5)))),
      [],
    ],
    [
      "route prefix length 33",
      message(RTM_NEWROUTE, concat(rtmsg(AF_INET, 33, 254, 0), attr(1, bytes(10, 0, 0, 0)))),
      [],
    ],
    [
      "route destination of 3 bytes",
      message(RTM_NEWROUTE, concat(rtmsg(AF_INET, 24, 254, 0), attr(1, bytes(10, 0, 0)))),
      [],
    ],
    // A message length past the datagram, or below the header size, ends the datagram.
    ["message cut off", concat(LINK, ROUTE.subarray(0, ROUTE.length - 4)), ["link"]],
    [
      "message length below the header size",
      concat(NEIGHBOUR, struct(16, (v) => v.setUint32(0, 8, LITTLE_ENDIAN)), LINK),
      ["neighbour"],
    ],
  ];
  for (const [name, datagram, kinds] of cases) {
    assert.deepEqual(parseKernelChanges(datagram).map((c) => c.kind), kinds, name);
  }
  // Short values keep their message but not the value: an MTU of 2 bytes is ignored.
  const shortMtu = message(RTM_NEWLINK, concat(ifinfomsg(5, 0), attr(4, bytes(1, 2))));
  assert.equal("mtu" in parseKernelChanges(shortMtu)[0]!, false);
});

Deno.test("every truncation and random garbage parse without throwing", () => {
  const datagram = concat(LINK, NEIGHBOUR, ROUTE);
  const full = parseKernelChanges(datagram);
  for (let length = 0; length <= datagram.length; length++) {
    const changes = parseKernelChanges(datagram.subarray(0, length));
    // A cut datagram yields the complete messages before the cut, nothing invented.
    assert.deepEqual(changes, full.slice(0, changes.length), `truncated to ${length}`);
  }
  // Flipped bytes and random datagrams: never an exception.
  const random = new Uint8Array(4096);
  for (let round = 0; round < 3000; round++) {
    const mutated = datagram.slice();
    for (let flips = 0; flips < 1 + (round % 8); flips++) {
      mutated[Math.floor(Math.random() * mutated.length)] = Math.floor(Math.random() * 256);
    }
    assert.ok(Array.isArray(parseKernelChanges(mutated)));
    crypto.getRandomValues(random);
    // Plausible framing so the attribute parsers are reached, not just the length check.
    const length = 16 + (random[0]! % 200);
    new DataView(random.buffer).setUint32(0, length, LITTLE_ENDIAN);
    new DataView(random.buffer).setUint16(4, [16, 17, 24, 25, 28, 29][round % 6]!, LITTLE_ENDIAN);
    assert.ok(Array.isArray(parseKernelChanges(random.subarray(0, length + (round % 64)))));
  }
});

/**
 * host-local's own test suite (plugins `host_local_test.go`), run against keepnet-ipam through
 * the CNI skeleton for every spec version, with real files in a temporary data directory.
 */
import "../helpers/ipv6.ts";
import assert from "node:assert/strict";
import { SUPPORTED_VERSIONS } from "../../src/cni/version.ts";
import { type Call, errorOf, ipam, readStore, withTempDir } from "./harness.ts";

/** address/gateway pairs of a result of any version. */
function ipsOf(stdout: string): { address: string; gateway?: string }[] {
  const result = JSON.parse(stdout);
  if (result.ips) {
    return result.ips.map((i: { address: string; gateway?: string }) => ({
      address: i.address,
      gateway: i.gateway,
    }));
  }
  return [result.ip4, result.ip6].filter(Boolean).map((i) => ({
    address: i.ip,
    gateway: i.gateway,
  }));
}

const hasVersionField = (v: string) => ["0.3.0", "0.3.1", "0.4.0"].includes(v);
const multiIP = (v: string) => !["0.1.0", "0.2.0"].includes(v);

for (const version of SUPPORTED_VERSIONS) {
  Deno.test(`HL-1 ADD/DEL dual-stack with pools, routes and DNS (${version})`, async () => {
    await withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/resolv.conf`, "nameserver 192.0.2.3\n");
      const config = {
        cniVersion: version,
        name: "mynet",
        type: "ipvlan",
        master: "foo0",
        ipam: {
          type: "host-local",
          dataDir: dir,
          resolvConf: `${dir}/resolv.conf`,
          ranges: [[{ subnet: "10.1.2.0/24" }, { subnet: "10.2.2.0/24" }], [{
            subnet: "2001:db8:1::/64",
          }]],
          routes: [
            { dst: "0.0.0.0/0" },
            { dst: "::/0" },
            { dst: "192.168.0.0/16", gw: "1.1.1.1" },
            { dst: "2001:db8:2::/64", gw: "2001:db8:3::1" },
          ],
        },
      };
      const call: Call = { containerID: "dummy", ifName: "eth0", config };
      const add = await ipam(call);
      assert.equal(add.code, 0, add.stdout);
      assert.equal(add.stdout.includes('"version":'), hasVersionField(version));
      assert.deepEqual(ipsOf(add.stdout), [
        { address: "10.1.2.2/24", gateway: "10.1.2.1" },
        { address: "2001:db8:1::2/64", gateway: "2001:db8:1::1" },
      ]);
      const result = JSON.parse(add.stdout);
      if (multiIP(version)) {
        assert.deepEqual(result.routes.map((r: { dst: string }) => r.dst), [
          "0.0.0.0/0",
          "::/0",
          "192.168.0.0/16",
          "2001:db8:2::/64",
        ]);
      }
      assert.deepEqual(result.dns.nameservers, ["192.0.2.3"]);
      const store = await readStore(`${dir}/mynet`);
      assert.equal(store["10.1.2.2"], "dummy\r\neth0");
      assert.equal(store["2001:db8:1::2"], "dummy\r\neth0");
      assert.equal(store["last_reserved_ip.0"], "10.1.2.2");
      assert.equal(store["last_reserved_ip.1"], "2001:db8:1::2");
      assert.equal((await ipam({ ...call, command: "DEL" })).code, 0);
      const after = await readStore(`${dir}/mynet`);
      assert.equal(after["10.1.2.2"], undefined);
      assert.equal(after["2001:db8:1::2"], undefined);
    });
  });

  Deno.test(`HL-2 release is per interface (${version})`, async () => {
    await withTempDir(async (dir) => {
      const conf = (name: string, subnet: string) => ({
        cniVersion: version,
        name,
        ipam: { type: "host-local", dataDir: dir, subnet },
      });
      assert.equal(
        (await ipam({
          containerID: "dummy",
          ifName: "eth0",
          config: conf("mynet0", "10.1.2.0/24"),
        })).code,
        0,
      );
      assert.equal(
        (await ipam({
          containerID: "dummy",
          ifName: "eth1",
          config: conf("mynet1", "10.2.2.0/24"),
        })).code,
        0,
      );
      assert.equal((await readStore(`${dir}/mynet0`))["10.1.2.2"], "dummy\r\neth0");
      assert.equal((await readStore(`${dir}/mynet1`))["10.2.2.2"], "dummy\r\neth1");
      await ipam({
        command: "DEL",
        containerID: "dummy",
        ifName: "eth0",
        config: conf("mynet0", "10.1.2.0/24"),
      });
      assert.equal((await readStore(`${dir}/mynet0`))["10.1.2.2"], undefined);
      assert.equal((await readStore(`${dir}/mynet1`))["10.2.2.2"], "dummy\r\neth1");
      await ipam({
        command: "DEL",
        containerID: "dummy",
        ifName: "eth1",
        config: conf("mynet1", "10.2.2.0/24"),
      });
      assert.equal((await readStore(`${dir}/mynet1`))["10.2.2.2"], undefined);
    });
  });

  Deno.test(`HL-3 a second ADD of the same attachment is refused (${version})`, async () => {
    await withTempDir(async (dir) => {
      const config = {
        cniVersion: version,
        name: "mynet",
        ipam: { type: "host-local", dataDir: dir, subnet: "10.1.2.0/24" },
      };
      assert.equal(
        ipsOf((await ipam({ containerID: "dummy", config })).stdout)[0]!.address,
        "10.1.2.2/24",
      );
      assert.equal(
        errorOf(await ipam({ containerID: "dummy", config })).msg,
        "failed to allocate for range 0: 10.1.2.2 has been allocated to dummy, duplicate allocation is not allowed",
      );
      assert.equal(
        ipsOf((await ipam({ containerID: "dummy1", config })).stdout)[0]!.address,
        "10.1.2.3/24",
      );
      assert.equal((await ipam({ containerID: "dummy", config })).code, 1);
      assert.equal((await ipam({ command: "DEL", containerID: "dummy", config })).code, 0);
      assert.equal((await readStore(`${dir}/mynet`))["10.1.2.2"], undefined);
      assert.equal((await ipam({ command: "DEL", containerID: "dummy1", config })).code, 0);
    });
  });

  Deno.test(`HL-4 DEL removes a legacy bare-ID file (${version})`, async () => {
    await withTempDir(async (dir) => {
      const config = {
        cniVersion: version,
        name: "mynet",
        ipam: { type: "host-local", dataDir: dir, subnet: "10.1.2.0/24" },
      };
      await ipam({ containerID: "dummy", config });
      await Deno.writeTextFile(`${dir}/mynet/10.1.2.2`, "dummy");
      assert.equal((await ipam({ command: "DEL", containerID: "dummy", config })).code, 0);
      assert.equal((await readStore(`${dir}/mynet`))["10.1.2.2"], undefined);
    });
  });

  Deno.test(`HL-5/HL-7 DEL of an unknown ID succeeds; the first ADD logs nothing (${version})`, async () => {
    await withTempDir(async (dir) => {
      const config = {
        cniVersion: version,
        name: "mynet",
        ipam: { type: "host-local", dataDir: dir, subnet: "10.1.2.0/24" },
      };
      const del = await ipam({ command: "DEL", containerID: "nope", config });
      assert.deepEqual([del.code, del.stdout], [0, ""]);
      const add = await ipam({ containerID: "dummy", config });
      assert.equal(add.stderr, "");
    });
  });

  Deno.test(`HL-8 args.cni.ips gives exactly that IP (${version})`, async () => {
    await withTempDir(async (dir) => {
      const config = {
        cniVersion: version,
        name: "mynet",
        ipam: { type: "host-local", dataDir: dir, ranges: [[{ subnet: "10.1.2.0/24" }]] },
        args: { cni: { ips: ["10.1.2.88"] } },
      };
      assert.deepEqual(ipsOf((await ipam({ config })).stdout), [{
        address: "10.1.2.88/24",
        gateway: "10.1.2.1",
      }]);
    });
  });

  Deno.test(`HL-9 requested IPs across two v4 sets (${version})`, async () => {
    await withTempDir(async (dir) => {
      const config = {
        cniVersion: version,
        name: "mynet",
        ipam: {
          type: "host-local",
          dataDir: dir,
          ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "10.1.3.0/24" }]],
        },
        args: { cni: { ips: ["10.1.2.88", "10.1.3.77"] } },
      };
      const out = await ipam({ config });
      if (!multiIP(version)) {
        assert.equal(
          errorOf(out).msg,
          `CNI version ${version} does not support more than 1 address per family`,
        );
      } else {
        assert.deepEqual(ipsOf(out.stdout).map((i) => i.address), ["10.1.2.88/24", "10.1.3.77/24"]);
      }
    });
  });

  Deno.test(`HL-10 requested IPs across families, in set order (${version})`, async () => {
    await withTempDir(async (dir) => {
      const config = {
        cniVersion: version,
        name: "mynet",
        ipam: {
          type: "host-local",
          dataDir: dir,
          ranges: [[{ subnet: "172.16.1.0/24" }, { subnet: "10.1.2.0/24" }], [{
            subnet: "2001:db8:1::/48",
          }]],
        },
        args: { cni: { ips: ["10.1.2.88", "2001:db8:1::999"] } },
      };
      assert.deepEqual(ipsOf((await ipam({ config })).stdout).map((i) => i.address), [
        "10.1.2.88/24",
        "2001:db8:1::999/48",
      ]);
    });
  });

  Deno.test(`HL-11 a requested IP left over fails the ADD (${version})`, async () => {
    await withTempDir(async (dir) => {
      const config = {
        cniVersion: version,
        name: "mynet",
        ipam: {
          type: "host-local",
          dataDir: dir,
          ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "10.1.3.0/24" }]],
        },
        args: { cni: { ips: ["10.1.2.88", "10.1.2.77"] } },
      };
      const { msg } = errorOf(await ipam({ config }));
      if (!multiIP(version)) {
        assert.equal(msg, `CNI version ${version} does not support more than 1 address per family`);
      } else {
        assert.equal(msg, "failed to allocate all requested IPs: 10.1.2.77");
        const store = await readStore(`${dir}/mynet`);
        assert.deepEqual(Object.keys(store).filter((n) => n.startsWith("10.")), []);
      }
    });
  });
}

Deno.test("HL-6 the container ID is trimmed in files and when matching", async () => {
  // The skeleton rejects such IDs; the store below it trims as host-local's store does.
  const { NetworkStore } = await import("../../src/ipam/store.ts");
  await withTempDir(async (dir) => {
    const store = await NetworkStore.open(dir, "mynet");
    const { parseIP } = await import("../../src/net/ip.ts");
    assert.equal(await store.reserve(parseIP("10.1.2.2")!, "   dummy\n ", "eth0", 0), true);
    store.close();
    assert.equal((await readStore(`${dir}/mynet`))["10.1.2.2"], "dummy\r\neth0");
    const again = await NetworkStore.open(dir, "mynet");
    again.releaseByID("   dummy\n ", "eth0");
    await again.close();
    assert.equal((await readStore(`${dir}/mynet`))["10.1.2.2"], undefined);
  });
});

Deno.test("S-9/S-11/S-12/S-13 quirks: cursor, duplicate-free requested path, legacy sweep, CHECK", async () => {
  await withTempDir(async (dir) => {
    const config = {
      cniVersion: "1.0.0",
      name: "q",
      ipam: { dataDir: dir, subnet: "10.150.0.0/24" },
    };
    const conf4 = { ...config, cniVersion: "0.4.0" };
    // S-11: the requested-IP path skips the duplicate check; DEL releases both.
    await ipam({ containerID: "c1", config });
    assert.equal((await ipam({ containerID: "c1", args: "IP=10.150.0.50", config })).code, 0);
    let store = await readStore(`${dir}/q`);
    assert.equal(store["10.150.0.50"], "c1\r\neth0");
    assert.equal(store["last_reserved_ip.0"], "10.150.0.50");
    await ipam({ command: "DEL", containerID: "c1", config });
    store = await readStore(`${dir}/q`);
    assert.deepEqual(Object.keys(store), ["last_reserved_ip.0", "lock"]);
    // S-9: a cursor with garbage or an IP outside the set restarts from the beginning.
    await Deno.writeTextFile(`${dir}/q/last_reserved_ip.0`, "garbage");
    assert.match((await ipam({ containerID: "g1", config })).stdout, /10\.150\.0\.2\//);
    // S-13: CHECK matches the exact ifname or a legacy bare ID; LF-only content does not match.
    await Deno.writeTextFile(`${dir}/q/10.150.0.60`, "  new3\r\neth0\n");
    await Deno.writeTextFile(`${dir}/q/10.150.0.61`, "new4\neth0");
    await Deno.writeTextFile(`${dir}/q/10.150.0.62`, "old1");
    await Deno.writeTextFile(`${dir}/q/not-an-ip`, "old1");
    assert.equal((await ipam({ command: "CHECK", containerID: "new3", config: conf4 })).code, 0);
    assert.equal(
      (await ipam({ command: "CHECK", containerID: "old1", ifName: "eth7", config: conf4 })).code,
      0,
    );
    assert.equal(
      errorOf(await ipam({ command: "CHECK", containerID: "new4", config: conf4 })).msg,
      "host-local: Failed to find address added by container new4",
    );
    assert.equal(
      errorOf(await ipam({ command: "CHECK", containerID: "g1", ifName: "eth1", config: conf4 }))
        .code,
      999,
    );
    // S-12: DEL of a legacy ID also removes non-IP files with that content.
    await ipam({ command: "DEL", containerID: "old1", config });
    store = await readStore(`${dir}/q`);
    assert.equal(store["10.150.0.62"], undefined);
    assert.equal(store["not-an-ip"], undefined);
  });
});

Deno.test("S-12 with two range sets DEL always does the legacy sweep (runs/18)", async () => {
  await withTempDir(async (dir) => {
    for (const [name, sets] of [["l2", 2], ["l1", 1]] as const) {
      await Deno.mkdir(`${dir}/${name}`);
      await Deno.writeTextFile(`${dir}/${name}/10.160.0.10`, "c\r\neth1");
      await Deno.writeTextFile(`${dir}/${name}/10.160.0.9`, "c");
      const ranges = [[{ subnet: "10.160.0.0/24" }], [{ subnet: "10.161.0.0/24" }]].slice(0, sets);
      const config = { cniVersion: "1.0.0", name, ipam: { dataDir: dir, ranges } };
      assert.equal(
        (await ipam({ command: "DEL", containerID: "c", ifName: "eth1", config })).code,
        0,
      );
    }
    assert.equal((await readStore(`${dir}/l2`))["10.160.0.9"], undefined);
    assert.equal((await readStore(`${dir}/l1`))["10.160.0.9"], "c");
  });
});

Deno.test("S-14 files: Go IPv6 names, content id\\r\\nifname, modes 0600 and lock 0750", async () => {
  await withTempDir(async (dir) => {
    const config = {
      cniVersion: "1.0.0",
      name: "p6b",
      ipam: { dataDir: dir, subnet: "fd00:0:0:1::/64", rangeStart: "fd00:0:0:1:0:1:0:1" },
    };
    assert.match((await ipam({ config })).stdout, /"fd00::1:0:1:0:1\/64"/);
    const file = await Deno.stat(`${dir}/p6b/fd00::1:0:1:0:1`);
    assert.equal(file.mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${dir}/p6b/last_reserved_ip.0`)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${dir}/p6b/lock`)).mode! & 0o777, 0o750);
    // DEL and CHECK of an unknown network create its directory (and lock), as host-local does.
    await ipam({ command: "DEL", config: { ...config, name: "fresh" } });
    assert.deepEqual(Object.keys(await readStore(`${dir}/fresh`)), ["lock"]);
  });
});

Deno.test("S-10 a failed cursor write fails the ADD with Go's messages and leaks nothing", async () => {
  await withTempDir(async (dir) => {
    const config = {
      cniVersion: "1.0.0",
      name: "rr",
      ipam: { dataDir: dir, subnet: "10.40.0.0/29" },
    };
    await Deno.mkdir(`${dir}/rr/last_reserved_ip.0`, { recursive: true });
    const out = await ipam({ containerID: "h", config });
    assert.equal(
      errorOf(out).msg,
      `failed to allocate for range 0: open ${dir}/rr/last_reserved_ip.0: is a directory`,
    );
    assert.match(
      out.stderr,
      /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d Error retrieving last reserved ip: read .*last_reserved_ip\.0: is a directory\n$/,
    );
    assert.deepEqual(Object.keys(await readStore(`${dir}/rr`)), ["lock"]);
  });
});

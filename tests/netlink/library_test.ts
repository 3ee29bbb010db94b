import assert from "node:assert/strict";
import { DEFAULT_LIBNL_PATHS, loadLibnl } from "../../src/netlink/library.ts";
import { LibnlLoadError } from "../../src/netlink/errors.ts";

Deno.test("loadLibnl opens both libraries by soname, once per process", () => {
  const first = loadLibnl();
  assert.equal(typeof first.nl_socket_alloc, "function");
  assert.equal(typeof first.rtnl_link_vxlan_alloc, "function");
  assert.equal(loadLibnl(), first);
  // libnl 3.7 has no rtnl_link_vxlan_set_gbp; GBP goes through the optional flags setter.
  assert.equal(typeof first.rtnl_link_vxlan_set_flags, "function");
});

Deno.test("a missing library fails with an error naming the Debian packages", () => {
  for (
    const paths of [
      { core: "libnl-3.so.999", route: DEFAULT_LIBNL_PATHS.route },
      { core: DEFAULT_LIBNL_PATHS.core, route: "libnl-route-3.so.999" },
    ]
  ) {
    assert.throws(() => loadLibnl(paths), (error: unknown) => {
      assert.ok(error instanceof LibnlLoadError);
      assert.match(error.message, /^Cannot load libnl-(route-)?3\.so\.999 /);
      assert.match(error.message, /install the Debian packages libnl-3-200 and libnl-route-3-200/);
      return true;
    });
  }
});

import assert from "node:assert/strict";
import { openNetlink } from "../../src/netlink/mod.ts";

// Only opens and closes a socket: nothing is sent, so running in the host's namespace is safe.
Deno.test("a closed Netlink refuses further calls, and closing twice is harmless", () => {
  const netlink = openNetlink();
  netlink.close();
  netlink.close();
  assert.throws(() => netlink.listLinks(), { message: "The netlink socket is closed" });
  assert.throws(() => netlink.getLink("lo"), /closed/);
});

Deno.test("openNetlink works with using, and reports missing libraries by package", () => {
  {
    using netlink = openNetlink();
    assert.equal(typeof netlink.lookupRoute, "function");
  }
  assert.throws(
    () => openNetlink({ libraries: { core: "libnl-3.so.999", route: "libnl-route-3.so.200" } }),
    { name: "LibnlLoadError", message: /libnl-3-200 and libnl-route-3-200/ },
  );
});

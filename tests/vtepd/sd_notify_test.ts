/**
 * systemd's notification protocol: each notify() is one datagram on $NOTIFY_SOCKET, a path or
 * an abstract name; a missing variable means no notifier; a bad one is refused with a reason.
 */
import assert from "node:assert/strict";
import { notifyAddress, openNotifier } from "../../src/vtepd/sd_notify.ts";
import { openNotifySocket } from "../helpers/notify_socket.ts";

Deno.test("sd_notify: READY=1 and STOPPING=1 arrive as datagrams on a path socket", async () => {
  const dir = await Deno.makeTempDir();
  try {
    using socket = openNotifySocket(`${dir}/notify`);
    const notifier = openNotifier(socket.name)!;
    notifier.notify("READY=1\nSTATUS=data plane ready");
    notifier.notify("STOPPING=1");
    notifier.close();
    notifier.notify("READY=1"); // after close: nothing, and no error
    assert.deepEqual(socket.poll(), ["READY=1\nSTATUS=data plane ready", "STOPPING=1"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sd_notify: an abstract socket name (@…) works too", () => {
  const name = `@keepnet-test-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  using socket = openNotifySocket(name);
  const notifier = openNotifier(name)!;
  notifier.notify("READY=1");
  notifier.close();
  assert.deepEqual(socket.poll(), ["READY=1"]);
});

Deno.test("sd_notify: no NOTIFY_SOCKET, no notifier; a bad one is refused with a reason", () => {
  assert.equal(openNotifier(undefined), undefined);
  assert.equal(openNotifier(""), undefined);
  assert.match(notifyAddress("relative/path") as string, /neither an absolute path nor @abstract/);
  assert.match(notifyAddress(`/${"x".repeat(120)}`) as string, /too long/);
  const sent = openNotifier("/nonexistent/keepnet-notify")!;
  assert.throws(() => sent.notify("READY=1"), /cannot notify systemd at \/nonexistent/);
  sent.close();
});

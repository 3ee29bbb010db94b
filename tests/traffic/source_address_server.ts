/**
 * A TCP server for the traffic tests: answers every connection with the source address it sees
 * (one line), then closes it. Listens on every address of its namespace, both families, on the
 * given port; prints "ready" once listening. Stopped by its PID.
 *
 * Usage: deno run --allow-net source_address_server.ts PORT
 *
 * @module
 */
const port = Number(Deno.args[0]);
const encoder = new TextEncoder();

// "::" also takes IPv4 connections, as v4-mapped addresses.
const listener = Deno.listen({ hostname: "::", port });
console.log("ready");
for await (const conn of listener) {
  const source = conn.remoteAddr.hostname.replace(/^::ffff:(?=\d+\.)/, "");
  await conn.write(encoder.encode(`${source}\n`)).catch(() => {});
  conn.close();
}

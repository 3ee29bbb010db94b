/**
 * `resolvConf` → the result's `dns`, read line by line as host-local's `parseResolvConf` does.
 *
 * @module
 */
import { type DNS, emptyDNS } from "../cni/result.ts";
import { goFields, goPathError, goTrimSpace } from "./go_text.ts";

// bufio.Scanner's default token limit: a longer line fails the whole read.
const MAX_LINE_BYTES = 64 * 1024;

/** Parses resolv.conf text (nameserver, domain, search, options; comments and others ignored). */
export function parseResolvConfText(text: string): DNS {
  const dns = emptyDNS();
  for (const rawLine of text.split("\n")) {
    const line = goTrimSpace(rawLine);
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const fields = goFields(line);
    if (fields.length < 2) continue;
    switch (fields[0]) {
      case "nameserver":
        dns.nameservers.push(fields[1]!);
        break;
      case "domain":
        dns.domain = fields[1]!;
        break;
      case "search":
        dns.search.push(...fields.slice(1));
        break;
      case "options":
        dns.options.push(...fields.slice(1));
        break;
    }
  }
  return dns;
}

/** Reads and parses the file; errors carry Go's text (`open /x: no such file or directory`). */
export function parseResolvConf(path: string): DNS {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (error) {
    const op = error instanceof Deno.errors.IsADirectory ? "read" : "open";
    throw goPathError(op, path, error);
  }
  let lineStart = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      if (i - lineStart >= MAX_LINE_BYTES) throw new Error("bufio.Scanner: token too long");
      lineStart = i + 1;
    }
  }
  return parseResolvConfText(new TextDecoder().decode(bytes));
}

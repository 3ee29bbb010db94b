/**
 * `resolvConf` → the result's `dns`, read line by line as host-local's `parseResolvConf` does.
 *
 * @module
 */
import { goQuote } from "../cni/json.ts";
import { type DNS, emptyDNS } from "../cni/result.ts";
import { formatByteLimit, readBounded } from "../fs/bounded_read.ts";
import { goFields, goPathError, goTrimSpace, isSystemPathRefusal } from "./go_text.ts";

// bufio.Scanner's default token limit: a longer line fails the whole read.
const MAX_LINE_BYTES = 64 * 1024;

/**
 * The most of a resolv.conf that is read: real ones are a few hundred bytes. host-local reads
 * any size line by line (only a line over 64 KiB fails it); a larger file here fails at once
 * instead of growing memory with whatever the path gives (a log, a disk image).
 */
export const MAX_RESOLV_CONF_BYTES = 1024 * 1024;

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

/**
 * Reads and parses the file; errors carry Go's text (`open /x: no such file or directory`,
 * `bufio.Scanner: token too long` for /dev/zero) where host-local has one, and name the key
 * otherwise (a file over MAX_RESOLV_CONF_BYTES, a path Deno refuses).
 */
export function parseResolvConf(path: string): DNS {
  let bytes: Uint8Array;
  let complete: boolean;
  try {
    ({ bytes, complete } = readBounded(path, MAX_RESOLV_CONF_BYTES));
  } catch (error) {
    const op = error instanceof Deno.errors.IsADirectory ? "read" : "open";
    const failure = goPathError(op, path, error);
    if (!isSystemPathRefusal(error)) throw failure;
    throw new Error(`ipam.resolvConf ${goQuote(path)}: ${failure.message}`);
  }
  // A line too long within what was read is the error host-local reports first.
  let lineStart = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      if (i - lineStart >= MAX_LINE_BYTES) throw new Error("bufio.Scanner: token too long");
      lineStart = i + 1;
    }
  }
  if (!complete) {
    throw new Error(
      `ipam.resolvConf ${goQuote(path)}: the file is larger than ${
        formatByteLimit(MAX_RESOLV_CONF_BYTES)
      }`,
    );
  }
  return parseResolvConfText(new TextDecoder().decode(bytes));
}

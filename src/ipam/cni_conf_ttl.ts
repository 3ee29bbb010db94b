/**
 * A network's `ipam.bindingTTL` as the node's CNI configuration sets it, for `inspect`: the TTL
 * lives only in the network config the runtime passes on every call, and the runtime reads that
 * config from its CNI config directory (`/etc/cni/net.d`). Files are chosen as libcni does
 * (`.conf`, `.conflist`, `.json`, in name order; the first that names the network wins), and the
 * `ipam` object is looked for where plugins keep it: at the top of a single-plugin file, in each
 * plugin of a list, and in a plugin's `delegate` (flannel's CNI plugin passes its own `ipam` on).
 *
 * @module
 */
import { goQuote } from "../cni/json.ts";
import { readBounded } from "../fs/bounded_read.ts";
import { parseGoDuration } from "./duration.ts";

export const DEFAULT_CNI_CONF_DIR = "/etc/cni/net.d";

/** A CNI config file larger than this is not read (real ones are a few KiB). */
const MAX_CONF_BYTES = 1024 * 1024;

export interface ConfiguredTTL {
  /** Milliseconds; undefined when the network sets no bindingTTL (bindings are kept forever). */
  ms?: number;
  /** The duration as written, or "none". */
  text: string;
  /** The file it was found in. */
  file: string;
}

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A key looked up case-insensitively, as Go's decoder matches struct fields. */
function field(object: JsonObject, key: string): unknown {
  const lower = key.toLowerCase();
  let found: unknown;
  for (const [name, value] of Object.entries(object)) {
    if (name.toLowerCase() === lower) found = value;
  }
  return found;
}

/** The `ipam` objects of a parsed config file, in the order a reader meets them. */
function ipamObjects(config: JsonObject): JsonObject[] {
  const holders: JsonObject[] = [config];
  const plugins = field(config, "plugins");
  if (Array.isArray(plugins)) holders.push(...plugins.filter(isObject));
  const out: JsonObject[] = [];
  for (const holder of holders) {
    const ipam = field(holder, "ipam");
    if (isObject(ipam)) out.push(ipam);
    const delegate = field(holder, "delegate");
    if (isObject(delegate) && isObject(field(delegate, "ipam"))) {
      out.push(field(delegate, "ipam") as JsonObject);
    }
  }
  return out;
}

function readConfig(path: string): JsonObject | undefined {
  try {
    const { bytes, complete } = readBounded(path, MAX_CONF_BYTES);
    if (!complete) return undefined;
    const value = JSON.parse(new TextDecoder().decode(bytes));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The bindingTTL the CNI config in `confDir` sets for `network`; undefined when no config there
 * names the network. Throws when the TTL it sets is not a valid duration.
 */
export function configuredBindingTTL(confDir: string, network: string): ConfiguredTTL | undefined {
  let names: string[];
  try {
    names = [...Deno.readDirSync(confDir)]
      .filter((e) => !e.isDirectory && /\.(conf|conflist|json)$/.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch {
    return undefined;
  }
  for (const name of names) {
    const file = `${confDir}/${name}`;
    const config = readConfig(file);
    if (!config || field(config, "name") !== network) continue;
    for (const ipam of ipamObjects(config)) {
      const ttl = field(ipam, "bindingTTL");
      if (typeof ttl !== "string" || ttl === "") continue;
      try {
        return { ms: parseGoDuration(ttl), text: ttl, file };
      } catch (error) {
        throw new Error(
          `${file}: invalid ipam.bindingTTL ${goQuote(ttl)}: ${(error as Error).message}`,
        );
      }
    }
    return { text: "none", file };
  }
  return undefined;
}

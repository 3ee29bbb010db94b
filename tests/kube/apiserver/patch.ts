/**
 * The three PATCH formats of the Kubernetes API, on plain JSON values:
 *
 * - JSON merge patch (RFC 7386): objects merge, `null` deletes, anything else replaces.
 * - Strategic merge patch, for the fields of a Node: like a merge patch, except that lists
 *   with a patch merge key (`status.conditions` and `status.addresses` by `type`) merge entry
 *   by entry, `spec.podCIDRs` and `metadata.finalizers` merge as sets, and the `$patch`
 *   directive (`replace`, `delete`) is honoured. Other lists are replaced.
 * - JSON patch (RFC 6902): add, remove, replace, move, copy, test.
 *
 * Errors are thrown as PatchError, with the HTTP status the API server would use.
 *
 * @module
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export class PatchError extends Error {
  override name = "PatchError";
  /** 400 for a malformed patch, 422 when it cannot be applied. */
  readonly status: 400 | 422;
  constructor(status: 400 | 422, message: string) {
    super(message);
    this.status = status;
  }
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function cloneJson<T extends Json>(value: T): T {
  return structuredClone(value);
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => jsonEqual(item, b[index]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length &&
      keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]));
  }
  return false;
}

/** RFC 7386. */
export function applyMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return cloneJson(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key] ?? null, value);
  }
  return result;
}

/** Lists of a Node merged by key rather than replaced, by their path. */
const MERGE_KEYS: Record<string, string> = {
  "status.conditions": "type",
  "status.addresses": "type",
};
/** Lists of primitives merged as sets. */
const SET_LISTS = new Set(["spec.podCIDRs", "metadata.finalizers"]);

function strategicList(path: string, target: Json, patch: Json[]): Json[] {
  const mergeKey = MERGE_KEYS[path];
  const current = Array.isArray(target) ? target : [];
  if (SET_LISTS.has(path)) {
    const result = [...current];
    for (const item of patch) {
      if (!result.some((existing) => jsonEqual(existing, item))) result.push(cloneJson(item));
    }
    return result;
  }
  if (!mergeKey) {
    return patch.map((item) => isObject(item) ? strategicObject(`${path}[]`, null, item) : item);
  }
  const result = current.map((item) => cloneJson(item));
  for (const item of patch) {
    if (!isObject(item) || typeof item[mergeKey] !== "string") {
      throw new PatchError(400, `${path}: every entry needs the merge key "${mergeKey}"`);
    }
    const index = result.findIndex((existing) =>
      isObject(existing) && existing[mergeKey] === item[mergeKey]
    );
    if (item.$patch === "delete") {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    if (index >= 0) result[index] = strategicObject(`${path}[]`, result[index]!, item);
    else result.push(strategicObject(`${path}[]`, null, item));
  }
  return result;
}

function strategicObject(path: string, target: Json, patch: JsonObject): JsonObject {
  const directive = patch.$patch;
  if (directive !== undefined && directive !== "replace" && directive !== "merge") {
    throw new PatchError(400, `${path || "patch"}: unsupported $patch directive ${directive}`);
  }
  const replace = directive === "replace";
  const result: JsonObject = isObject(target) && !replace ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    // The order hint changes nothing in what is stored here.
    if (key === "$patch" || key.startsWith("$setElementOrder/")) continue;
    if (key.startsWith("$")) {
      throw new PatchError(400, `the test API server does not implement the ${key} directive`);
    }
    const childPath = path ? `${path}.${key}` : key;
    if (value === null) delete result[key];
    else if (isObject(value)) {
      if (value.$patch === "delete") delete result[key];
      else result[key] = strategicObject(childPath, result[key] ?? null, value);
    } else if (Array.isArray(value)) {
      result[key] = strategicList(childPath, result[key] ?? null, value);
    } else result[key] = value;
  }
  return result;
}

/** Strategic merge patch for a Node object. */
export function applyStrategicMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) throw new PatchError(400, "a strategic merge patch must be a JSON object");
  return strategicObject("", target, patch);
}

function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new PatchError(400, `invalid JSON pointer ${pointer}`);
  return pointer.slice(1).split("/").map((token) =>
    token.replaceAll("~1", "/").replaceAll("~0", "~")
  );
}

function arrayIndex(list: Json[], token: string, forInsert: boolean): number {
  if (forInsert && token === "-") return list.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchError(422, `invalid array index ${token}`);
  const index = Number(token);
  if (index > list.length || (!forInsert && index === list.length)) {
    throw new PatchError(422, `array index ${token} out of bounds`);
  }
  return index;
}

function parentOf(document: Json, tokens: string[], pointer: string): Json {
  let node: Json = document;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[arrayIndex(node, token, false)]!;
    else if (isObject(node) && Object.hasOwn(node, token)) node = node[token]!;
    else throw new PatchError(422, `path ${pointer} does not exist`);
  }
  return node;
}

function getAt(document: Json, pointer: string): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return document;
  const parent = parentOf(document, tokens, pointer);
  const last = tokens.at(-1)!;
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, false)]!;
  if (isObject(parent) && Object.hasOwn(parent, last)) return parent[last]!;
  throw new PatchError(422, `path ${pointer} does not exist`);
}

function removeAt(document: Json, pointer: string): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new PatchError(422, "cannot remove the whole document");
  const parent = parentOf(document, tokens, pointer);
  const last = tokens.at(-1)!;
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, last, false), 1)[0]!;
  if (isObject(parent) && Object.hasOwn(parent, last)) {
    const value = parent[last]!;
    delete parent[last];
    return value;
  }
  throw new PatchError(422, `path ${pointer} does not exist`);
}

function addAt(document: Json, pointer: string, value: Json): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const parent = parentOf(document, tokens, pointer);
  const last = tokens.at(-1)!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true), 0, value);
  else if (isObject(parent)) parent[last] = value;
  else throw new PatchError(422, `path ${pointer} has no parent object`);
  return document;
}

/** RFC 6902. */
export function applyJsonPatch(target: Json, patch: Json): Json {
  if (!Array.isArray(patch)) throw new PatchError(400, "a JSON patch must be a list of operations");
  let document = cloneJson(target);
  for (const operation of patch) {
    if (!isObject(operation) || typeof operation.path !== "string") {
      throw new PatchError(400, "every JSON patch operation needs an op and a path");
    }
    const { op, path } = operation;
    const from = typeof operation.from === "string" ? operation.from : undefined;
    const needsValue = op === "add" || op === "replace" || op === "test";
    if (needsValue && !Object.hasOwn(operation, "value")) {
      throw new PatchError(400, `JSON patch ${op} at ${path} has no value`);
    }
    if ((op === "move" || op === "copy") && from === undefined) {
      throw new PatchError(400, `JSON patch ${op} at ${path} has no from`);
    }
    const value = operation.value as Json;
    switch (op) {
      case "add":
        document = addAt(document, path, cloneJson(value));
        break;
      case "remove":
        removeAt(document, path);
        break;
      case "replace":
        if (path !== "") removeAt(document, path);
        document = addAt(document, path, cloneJson(value));
        break;
      case "move":
        document = addAt(document, path, removeAt(document, from!));
        break;
      case "copy":
        document = addAt(document, path, cloneJson(getAt(document, from!)));
        break;
      case "test":
        if (!jsonEqual(getAt(document, path), value)) {
          throw new PatchError(422, `JSON patch test failed at ${path}`);
        }
        break;
      default:
        throw new PatchError(400, `unknown JSON patch operation ${JSON.stringify(op)}`);
    }
  }
  return document;
}

/**
 * Go's notions of whitespace and of error text, for byte-compatible comparisons and messages.
 *
 * @module
 */

// Go's unicode.IsSpace. JavaScript's \s differs: it lacks U+0085 and includes U+FEFF.
const SPACE_CLASS =
  "\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const TRIM = new RegExp(`^[${SPACE_CLASS}]+|[${SPACE_CLASS}]+$`, "g");
const FIELD_SEPARATOR = new RegExp(`[${SPACE_CLASS}]+`);

/** Go's `strings.TrimSpace`. */
export function goTrimSpace(text: string): string {
  return text.replace(TRIM, "");
}

/** Go's `strings.Fields`. */
export function goFields(text: string): string[] {
  const trimmed = goTrimSpace(text);
  return trimmed === "" ? [] : trimmed.split(FIELD_SEPARATOR);
}

/**
 * Why a path was refused: Deno grants no program without full access the special files under
 * /dev, /proc and /sys (besides a few such as /dev/null), whatever its read/write permissions.
 */
export const SYSTEM_PATH_REFUSED =
  "not permitted: keepnet-ipam does not use paths under /dev, /proc or /sys";

/** True when Deno refused a path outright (see SYSTEM_PATH_REFUSED). */
export function isSystemPathRefusal(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable;
}

/**
 * The errno text of a Deno file-system error as Go prints it ("no such file or directory"):
 * Deno's message starts with the C library's text, which Go's table has in lower case. A path
 * Deno refuses gets our own text instead of Deno's advice to run with --allow-all.
 */
export function goErrnoText(error: unknown): string {
  if (isSystemPathRefusal(error)) return SYSTEM_PATH_REFUSED;
  const message = error instanceof Error ? error.message : String(error);
  const text = message.replace(/ \(os error \d+\).*$/s, "");
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** Go's `*fs.PathError` text: `<op> <path>: <errno text>`. */
export function goPathError(op: string, path: string, error: unknown): Error {
  return new Error(`${op} ${path}: ${goErrnoText(error)}`, { cause: error });
}

/** Go's `filepath.Join` (cleaned, "/"-separated). */
export function goJoinPath(...parts: string[]): string {
  const joined = parts.filter((part) => part !== "").join("/");
  return joined === "" ? "" : goCleanPath(joined);
}

/** Go's `filepath.Clean`. */
export function goCleanPath(path: string): string {
  if (path === "") return ".";
  const rooted = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const body = out.join("/");
  if (rooted) return `/${body}`;
  return body === "" ? "." : body;
}

/** A line as Go's standard logger writes it: `YYYY/MM/DD HH:MM:SS message` (local time). */
export function goLogLine(message: string, now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  const date = `${now.getFullYear()}/${pad(now.getMonth() + 1)}/${pad(now.getDate())}`;
  const time = `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
  return `${date} ${time} ${message}`;
}

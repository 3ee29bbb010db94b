/**
 * One line per event on stderr: `LEVEL message key=value ...`. Under systemd (JOURNAL_STREAM
 * set) each line also starts with a `<N>` syslog priority so journald records the level.
 *
 * @module
 */

export type Level = "debug" | "info" | "warn" | "error";
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
}

const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const SYSLOG_PRIORITY: Record<Level, number> = { debug: 7, info: 6, warn: 4, error: 3 };
const PLAIN_VALUE = /^[^\s"=]+$/;

function formatValue(value: unknown): string {
  if (value instanceof Error) value = value.message;
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  return PLAIN_VALUE.test(text) ? text : JSON.stringify(text);
}

/** Renders one log line (without the newline). */
export function formatLine(level: Level, message: string, fields: Fields = {}): string {
  let line = `${level.toUpperCase()} ${message}`;
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) line += ` ${key}=${formatValue(value)}`;
  }
  return line;
}

export interface LoggerOptions {
  /** Lowest level written. Default "info". */
  level?: Level;
  /** Prefix lines with `<N>` for journald. Default: when JOURNAL_STREAM is set. */
  syslogPrefix?: boolean;
  /** Where lines go. Default: stderr. */
  write?: (line: string) => void;
}

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line));
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = RANK[options.level ?? "info"];
  const prefix = options.syslogPrefix ?? journalAttached();
  const write = options.write ?? writeStderr;
  const emit = (level: Level) => (message: string, fields?: Fields) => {
    if (RANK[level] < threshold) return;
    const line = formatLine(level, message, fields);
    write(`${prefix ? `<${SYSLOG_PRIORITY[level]}>` : ""}${line}\n`);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

function journalAttached(): boolean {
  try {
    return Deno.env.get("JOURNAL_STREAM") !== undefined;
  } catch {
    return false;
  }
}

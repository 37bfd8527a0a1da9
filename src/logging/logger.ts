// The project's one logger: namespaced (`driver:nats`), leveled, one line per record on stderr
// with `key=value` fields. Owns redaction of secret-looking fields and the quoting of values; control
// characters in the message and in every value are escaped (src/logging/control-escapes.ts), so
// text a caller chose — a method name in a message, an owner in a field — cannot forge a line or
// drive a terminal. Does not own where the level comes from (the config module sets it once at start-up).
import { escapeControls } from './control-escapes.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Field names whose values never reach a log line (credentials, tokens, seeds). */
const SECRET_FIELD = /jwt|seed|nkey|token|secret|password|pass$|creds_content|authorization|cookie/i;

let threshold: number = LEVEL_RANK.info;
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');

export function setLogLevel(level: LogLevel): void {
  threshold = LEVEL_RANK[level];
}

/** Tests capture log lines to prove secrets never appear in them. */
export function setLogSink(next: (line: string) => void): void {
  sink = next;
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A value that must be quoted: whitespace, a quote, `=`, or any control character (C0, DEL, C1, line separators). */
const NEEDS_QUOTES = /[\s"=\p{Cc}\u2028\u2029]/u;

/** A value as written: bare when it can be, else JSON with what JSON leaves raw (DEL, C1, separators) escaped too. */
function formatValue(value: unknown): string {
  if (typeof value === 'string') return NEEDS_QUOTES.test(value) ? escapeControls(JSON.stringify(value)) : value;
  if (value instanceof Error) return escapeControls(JSON.stringify(value.message));
  try {
    return escapeControls(JSON.stringify(value) ?? JSON.stringify(String(value)));
  } catch {
    return escapeControls(JSON.stringify(String(value)));
  }
}

export function createLogger(namespace: string): Logger {
  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (LEVEL_RANK[level] < threshold) return;
    let line = `${new Date().toISOString()} ${level.toUpperCase()} driver:${namespace} ${escapeControls(message)}`;
    if (fields) {
      for (const [key, value] of Object.entries(fields)) {
        if (value === undefined) continue;
        line += ` ${key}=${SECRET_FIELD.test(key) ? '[redacted]' : formatValue(value)}`;
      }
    }
    sink(line);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}

// The project's one logger: namespaced (`driver:nats`), leveled, one line per record on stderr
// with `key=value` fields. Owns redaction of secret-looking fields and the quoting of values (control
// characters escaped: a caller's value cannot forge a line or drive a terminal); does not own where the level
// comes from (the config module sets it once at start-up).

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
/** What JSON.stringify leaves raw but a terminal or a log reader may act on: DEL, C1 controls, line/paragraph separators. */
const RAW_AFTER_JSON = /[\u007f-\u009f\u2028\u2029]/gu;

/** JSON text with those escaped too: a caller's value in a field cannot move the cursor or forge a line. */
function escapedJson(json: string): string {
  return json.replace(RAW_AFTER_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return NEEDS_QUOTES.test(value) ? escapedJson(JSON.stringify(value)) : value;
  if (value instanceof Error) return escapedJson(JSON.stringify(value.message));
  try {
    return escapedJson(JSON.stringify(value) ?? JSON.stringify(String(value)));
  } catch {
    return escapedJson(JSON.stringify(String(value)));
  }
}

export function createLogger(namespace: string): Logger {
  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (LEVEL_RANK[level] < threshold) return;
    let line = `${new Date().toISOString()} ${level.toUpperCase()} driver:${namespace} ${message}`;
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

// A bounded, printable excerpt of a value a peer sent (a registry's reply, an answer to the
// duplicate-id probe) for a log line: its JSON (or its text) cut to a fixed length with the full
// length said. Owns only the cutting; the logger redacts secrets and formats the line.

/**
 * The most of a peer's message a log line carries: enough for a JSON-RPC error (code, message,
 * some data) or a JetStream PubAck whole, short of a registration document (~10 kB) or whatever
 * a misbehaving peer sends on every retry.
 */
export const LOG_EXCERPT_MAX_CHARS = 300;

/** `value` as JSON (text as it is), at most `maxChars` characters, with `… (N chars)` when cut. */
export function excerpt(value: unknown, maxChars: number = LOG_EXCERPT_MAX_CHARS): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}… (${text.length} chars)`;
}

// The one escaping of text someone else chose (a caller's method or owner, a device's function
// names, descriptions and event payloads, a peer's error message) before it reaches a log line or a
// terminal: every control character — C0 (CR, LF, TAB, ESC, BEL, …), DEL, C1 — and the Unicode line
// and paragraph separators becomes its JSON escape (`\n`, `\u001b`), so such text can neither forge a
// line nor drive a terminal; every other character, backslashes included, stays as it is (ordinary
// text is unchanged). Owns only that mapping; the logger (src/logging/logger.ts), `audit tail`
// (src/cli/audit-command.ts) and the client's output (src/client/) decide where it applies.

/** C0 controls, DEL, C1 controls (all of `\p{Cc}`) and U+2028/U+2029, which some readers take as line ends. */
const CONTROL_CHARACTERS = /[\p{Cc}\u2028\u2029]/gu;

/** JSON's short escapes, the ones a reader recognises at sight; the rest are `\uXXXX`. */
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };

/** `text` with every control character and line/paragraph separator written as its JSON escape. */
export function escapeControls(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * JSON text (JSON.stringify's, indented or not) with the same escapes: JSON already escapes C0 inside
 * strings but leaves DEL, C1 and the separators raw; a newline outside a string is the indentation's
 * and stays. The result parses to the same value.
 */
export function escapeJsonControls(json: string): string {
  return json.split('\n').map(escapeControls).join('\n');
}

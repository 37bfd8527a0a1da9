// Canonical JSON (RFC 8785 / JCS for the JSON values the mesh carries): object keys sorted by
// UTF-16 code units at every depth, no whitespace, strings and numbers as JSON.stringify writes them,
// and what JSON.stringify leaves out (undefined, functions) left out, `toJSON` honoured — so the
// canonical form of a value equals that of the JSON it is sent as. One function for the audit
// chain's hashes (audit-chain.ts) and the caller signature's params digest (caller-signature.ts).
// Owns no I/O and no hashing. A value nested deeper than CANONICAL_MAX_DEPTH is refused with
// TooDeepToCanonicalise (a caller may send JSON nested 300,000 deep: recursing into it overflows the stack).

/**
 * What the mesh carries is a few levels deep; 512 is far beyond any real value and far within the
 * stack (this function recursed ~10,000 levels before V8's default stack ran out).
 */
export const CANONICAL_MAX_DEPTH = 512;

/** The value is nested deeper than CANONICAL_MAX_DEPTH: it has no canonical form here. */
export class TooDeepToCanonicalise extends RangeError {
  constructor() {
    super(`the value is nested deeper than ${CANONICAL_MAX_DEPTH} levels`);
    this.name = 'TooDeepToCanonicalise';
  }
}

export function canonicalJson(value: unknown, depth = 0): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (depth >= CANONICAL_MAX_DEPTH) throw new TooDeepToCanonicalise();
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v, depth + 1))).join(',')}]`;
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return canonicalJson(withJson.toJSON(), depth + 1);
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined && typeof record[k] !== 'function')
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k], depth + 1)}`).join(',')}}`;
}

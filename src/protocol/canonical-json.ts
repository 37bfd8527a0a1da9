// Canonical JSON (RFC 8785 / JCS for the JSON values the mesh carries): object keys sorted by
// UTF-16 code units at every depth, no whitespace, strings and numbers as JSON.stringify writes them,
// and what JSON.stringify leaves out (undefined, functions) left out, `toJSON` honoured — so the
// canonical form of a value equals that of the JSON it is sent as. One function for the audit
// chain's hashes (audit-chain.ts) and the caller signature's params digest (caller-signature.ts).
// Owns no I/O and no hashing.

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return canonicalJson(withJson.toJSON());
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined && typeof record[k] !== 'function')
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
}

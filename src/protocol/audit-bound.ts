// The size bound of an audit record, applied before it is chained (src/adapters/audit-log.ts): a
// record's line stays within AUDIT_MAX_RECORD_BYTES whatever callers put in it (an owner, a reason,
// `llm_reasoning`, approval params, an error message quoting input). A long string is cut with a
// visible marker; a value still too large becomes a small summary (`_omitted`: type, bytes, sha256
// of its canonical JSON); if the record is still too large its largest fields are summarised in turn.
// Deterministic: the same record always gives the same bounded record, so the hash chain and `audit
// verify` hold as before. Owns the bound and its markers; pure (no I/O).
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';

/**
 * Largest chained record line, in UTF-8 bytes. A quarter of the 64 KiB the audit log reads back at
 * start to find the chain's head (so that tail always holds a whole record), far under any sane broker
 * max_payload (NATS defaults to 1 MiB), and ~30× a usual record (~0.5 KiB): room for an agent's
 * 2,000-character reason, both policy documents of a policy change and a motion command's params.
 */
export const AUDIT_MAX_RECORD_BYTES = 16 * 1024;
/**
 * Bytes kept free for what chaining adds (`seq`, `prev`, `hash`: two 64-hex hashes, a safe integer,
 * keys, quotes and commas take < 170 bytes), so the chained line stays within AUDIT_MAX_RECORD_BYTES.
 */
export const AUDIT_CHAIN_FIELDS_BYTES = 256;
/** A string longer than this (UTF-16 units) is cut: an agent's `llm_reasoning` (2,000 at most) fits whole. */
export const AUDIT_MAX_STRING_CHARS = 2_048;
/**
 * A value (string, object, array) whose canonical JSON is over this many bytes is summarised: half a
 * record, so one field never crowds out the rest; 2,048 CJK characters (3 bytes each) still fit.
 */
export const AUDIT_MAX_VALUE_BYTES = 8 * 1024;
/** What starts the marker appended to a cut string (`…[truncated: N of M characters cut]`). */
export const AUDIT_TRUNCATED_MARKER = '…[truncated';
/** What starts the text that replaces a string too large even once cut (`…[omitted: …, sha256 …]`). */
export const AUDIT_OMITTED_MARKER = '…[omitted';
/** The key of the summary that replaces a value too large to keep. */
export const AUDIT_OMITTED_KEY = '_omitted';

/** A record whose canonical JSON is this short needs no change (no string, value or total can be over its bound). */
const UNCHANGED_BELOW_CHARS = Math.min(AUDIT_MAX_STRING_CHARS, Math.floor(AUDIT_MAX_VALUE_BYTES / 3), Math.floor((AUDIT_MAX_RECORD_BYTES - AUDIT_CHAIN_FIELDS_BYTES) / 3));

const bytesOf = (json: string): number => Buffer.byteLength(json, 'utf8');
const sha256 = (json: string): string => createHash('sha256').update(json).digest('hex');

/** The string cut to AUDIT_MAX_STRING_CHARS (never inside a surrogate pair), the marker saying how much went. */
export function truncatedString(text: string): string {
  if (text.length <= AUDIT_MAX_STRING_CHARS) return text;
  const end = AUDIT_MAX_STRING_CHARS - (isHighSurrogate(text.charCodeAt(AUDIT_MAX_STRING_CHARS - 1)) ? 1 : 0);
  return `${text.slice(0, end)}${AUDIT_TRUNCATED_MARKER}: ${text.length - end} of ${text.length} characters cut]`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** The small stand-in for `value` (its canonical JSON `json`): a string stays a string, anything else becomes `{_omitted: …}`. */
function summaryOf(value: unknown, json: string): unknown {
  const bytes = bytesOf(json);
  if (typeof value === 'string') return `${AUDIT_OMITTED_MARKER}: a string of ${bytes} bytes of JSON, sha256 ${sha256(json)}]`;
  const type = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  const items = Array.isArray(value) ? value.length : typeof value === 'object' && value !== null ? Object.keys(value).length : undefined;
  return { [AUDIT_OMITTED_KEY]: { type, bytes, sha256: sha256(json), ...(items === undefined ? {} : { items }) } };
}

/** `value` (plain JSON) with long strings cut at every depth, and summarised when it is still over AUDIT_MAX_VALUE_BYTES. */
function boundedValue(value: unknown): unknown {
  if (typeof value === 'string') {
    const cut = truncatedString(value);
    return bytesOf(JSON.stringify(cut)) > AUDIT_MAX_VALUE_BYTES ? summaryOf(value, JSON.stringify(value)) : cut;
  }
  if (value === null || typeof value !== 'object') return value;
  const bounded = Array.isArray(value) ? value.map(boundedValue) : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, boundedValue(v)]));
  return bytesOf(canonicalJson(bounded)) > AUDIT_MAX_VALUE_BYTES ? summaryOf(value, canonicalJson(value)) : bounded;
}

/** Bytes of `"key":value` in the record's canonical JSON. */
function entryBytes(key: string, value: unknown): number {
  return bytesOf(JSON.stringify(key)) + 1 + bytesOf(canonicalJson(value));
}

/**
 * The record's fields summarised, largest first (ties by key; a field is kept when its summary would
 * not be smaller), until its canonical JSON is within `budget` bytes; when even that is not enough
 * (hundreds of fields), only `kind`, `ts` and one summary of the whole record are left.
 */
function fitted(original: Record<string, unknown>, fields: Record<string, unknown>, budget: number): Record<string, unknown> {
  const sizes = Object.entries(fields).map(([key, value]) => ({ key, bytes: entryBytes(key, value) }));
  let total = 2 + sizes.reduce((sum, e) => sum + e.bytes, 0) + Math.max(0, sizes.length - 1);
  if (total <= budget) return fields;
  const out = { ...fields };
  for (const { key, bytes } of sizes.sort((a, b) => b.bytes - a.bytes || (a.key < b.key ? -1 : 1))) {
    const summary = summaryOf(original[key], canonicalJson(original[key]));
    const smaller = entryBytes(key, summary);
    if (smaller >= bytes) continue;
    out[key] = summary;
    total += smaller - bytes;
    if (total <= budget) return out;
  }
  const short = (v: unknown) => (typeof v === 'string' ? v.slice(0, 64) : null);
  return { kind: short(original['kind']), ts: short(original['ts']), [AUDIT_OMITTED_KEY]: (summaryOf(original, canonicalJson(original)) as Record<string, unknown>)[AUDIT_OMITTED_KEY] };
}

/**
 * The record as it may be chained: unchanged when small (nearly always), else with long strings cut,
 * oversized values summarised and, if need be, its largest fields summarised, so its chained line is
 * at most AUDIT_MAX_RECORD_BYTES. Plain JSON in, plain JSON out; the same record gives the same result.
 */
export function boundedAuditRecord<T extends Readonly<Record<string, unknown>>>(record: T): T {
  // JSON.stringify (native) is as long as the canonical JSON (the same text, keys in another order).
  if (JSON.stringify(record).length <= UNCHANGED_BELOW_CHARS) return record;
  const plain = JSON.parse(canonicalJson(record)) as Record<string, unknown>;
  const fields = Object.fromEntries(Object.entries(plain).map(([k, v]) => [k, boundedValue(v)]));
  return fitted(plain, fields, AUDIT_MAX_RECORD_BYTES - AUDIT_CHAIN_FIELDS_BYTES) as T;
}

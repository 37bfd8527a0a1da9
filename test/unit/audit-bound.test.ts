// The size bound of audit records (src/protocol/audit-bound.ts) and the audit file that applies it
// (src/adapters/audit-log.ts): a small record is left alone; a record carrying a 600,000-character
// owner, a huge nested value, fields that together are too large or strings full of escapes is cut
// to at most AUDIT_MAX_RECORD_BYTES, with visible markers, the same way every time, and still chains
// and verifies; the file holds the bounded line and a reopened file continues the chain — also after
// a longer record written before records were bounded.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { AUDIT_MAX_RECORD_BYTES, AUDIT_MAX_STRING_CHARS, AUDIT_MAX_VALUE_BYTES, AUDIT_OMITTED_MARKER, AUDIT_TRUNCATED_MARKER, boundedAuditRecord, truncatedString } from '../../src/protocol/audit-bound.ts';
import { chainRecord, createChainVerifier, GENESIS_HASH, recordLine } from '../../src/protocol/audit-chain.ts';
import { canonicalJson } from '../../src/protocol/canonical-json.ts';
import { openAuditLog, type SafetyRecord } from '../../src/adapters/audit-log.ts';

const HUGE_OWNER = 'A'.repeat(600_000);
const base = { kind: 'refused', reason: 'the call\'s signature was refused', function: 'acquire_lease', state: { interlock: 'safe' }, ts: '2026-12-06T00:00:00Z' };
const refusal = (owner: string): SafetyRecord => ({ ...base, owner, caller: { id: owner, verified: false }, error_tag: 'SignatureInvalid' });
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
const chainedBytes = (record: Record<string, unknown>) => bytes(recordLine(chainRecord(record, 1, GENESIS_HASH)));

test('a small record is left as it is (the same object)', () => {
  const small = refusal('agent');
  expect(boundedAuditRecord(small)).toBe(small);
  const reasoning = { ...refusal('agent'), llm_reasoning: 'é'.repeat(2_000) };
  expect(boundedAuditRecord(reasoning)).toEqual(reasoning);
});

test('a 600,000-character owner, twice in the record: cut with a marker, the line under the bound, the same every time', () => {
  const record = refusal(HUGE_OWNER);
  expect(bytes(canonicalJson(record))).toBeGreaterThan(1_200_000);
  const bounded = boundedAuditRecord(record);
  const cut = `${'A'.repeat(AUDIT_MAX_STRING_CHARS)}${AUDIT_TRUNCATED_MARKER}: ${600_000 - AUDIT_MAX_STRING_CHARS} of 600000 characters cut]`;
  expect(bounded).toMatchObject({ ...base, owner: cut, caller: { id: cut, verified: false }, error_tag: 'SignatureInvalid' });
  expect(chainedBytes(bounded)).toBeLessThanOrEqual(AUDIT_MAX_RECORD_BYTES);
  expect(canonicalJson(boundedAuditRecord(refusal(HUGE_OWNER)))).toBe(canonicalJson(bounded));
});

test('a nested value over the value bound becomes a summary naming its type, size, items and sha256', () => {
  const params = { yaw: 5, waypoints: Array.from({ length: 2_000 }, (_, i) => ({ t: i, yaw: i / 10 })) };
  const bounded = boundedAuditRecord({ ...refusal('agent'), kind: 'accepted', params });
  const json = canonicalJson(params.waypoints);
  expect(bytes(json)).toBeGreaterThan(AUDIT_MAX_VALUE_BYTES);
  expect(bounded['params']).toEqual({ yaw: 5, waypoints: { _omitted: { type: 'array', items: 2_000, bytes: bytes(json), sha256: createHash('sha256').update(json).digest('hex') } } });
});

test('many fields each within bounds but too large together: the largest are summarised until the record fits; kind and ts stay', () => {
  const fields = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`note_${String(i).padStart(2, '0')}`, 'x'.repeat(1_500 + i * 40)]));
  const record = { ...refusal('agent'), ...fields };
  expect(chainedBytes(record)).toBeGreaterThan(AUDIT_MAX_RECORD_BYTES);
  const bounded = boundedAuditRecord(record);
  expect(chainedBytes(bounded)).toBeLessThanOrEqual(AUDIT_MAX_RECORD_BYTES);
  expect(bounded).toMatchObject({ kind: 'refused', ts: base.ts, owner: 'agent', note_00: 'x'.repeat(1_500) });
  expect(String(bounded['note_11'])).toMatch(new RegExp(`^${AUDIT_OMITTED_MARKER.replace(/[[\]]/g, '\\$&')}: a string of \\d+ bytes of JSON, sha256 [0-9a-f]{64}]$`));
});

test('a string of escapes (6 bytes of JSON a character) is replaced whole; a cut never splits a surrogate pair', () => {
  const bounded = boundedAuditRecord({ ...refusal('agent'), reason: '\u0001'.repeat(2_000) });
  expect(String(bounded['reason']).startsWith(AUDIT_OMITTED_MARKER)).toBe(true);
  const emoji = truncatedString(`${'a'.repeat(AUDIT_MAX_STRING_CHARS - 1)}😀 and more`);
  expect(emoji.startsWith(`${'a'.repeat(AUDIT_MAX_STRING_CHARS - 1)}${AUDIT_TRUNCATED_MARKER}`)).toBe(true);
});

test('the audit file: a huge refusal is written bounded, verifies, and a reopened file continues the chain', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rmd-audit-bound-'));
  const path = join(dir, 'audit.jsonl');
  const first = openAuditLog(path);
  first.append(refusal('agent'));
  const written = first.append(refusal(HUGE_OWNER));
  first.close();
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  expect(lines).toHaveLength(2);
  expect(bytes(lines[1]!)).toBeLessThanOrEqual(AUDIT_MAX_RECORD_BYTES);
  expect(lines[1]).toBe(recordLine(written));

  const again = openAuditLog(path);
  expect(again.lastSeq).toBe(2);
  expect(again.append(refusal('agent'))).toMatchObject({ seq: 3, prev: written.hash });
  again.close();
  const verifier = createChainVerifier();
  for (const line of readFileSync(path, 'utf8').trim().split('\n')) verifier.push(line);
  expect(verifier.report()).toMatchObject({ records: 3, lastSeq: 3, restarts: [], problem: null });
  expect(readdirSync(dir).filter((f) => f.includes('unchained'))).toEqual([]);
});

test('a file whose last record is longer than the tail read at start (written before the bound): the head is found further back', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rmd-audit-bound-'));
  const path = join(dir, 'audit.jsonl');
  const one = chainRecord(refusal('agent'), 1, GENESIS_HASH);
  const unbounded = chainRecord(refusal(HUGE_OWNER), 2, one.hash);
  writeFileSync(path, `${recordLine(one)}\n${recordLine(unbounded)}\n`);
  const log = openAuditLog(path);
  expect(log.lastSeq).toBe(2);
  expect(log.append(refusal('agent'))).toMatchObject({ seq: 3, prev: unbounded.hash });
  log.close();
  expect(readdirSync(dir).filter((f) => f.includes('unchained'))).toEqual([]);
});

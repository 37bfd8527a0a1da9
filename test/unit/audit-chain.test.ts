// The audit hash chain (src/protocol/audit-chain.ts) and the local file (src/adapters/audit-log.ts):
// canonical JSON is key-order independent; a chain of records verifies; each kind of tampering is
// named with the first bad seq; a reopened file continues the chain (seq + 1, prev = last hash), its
// unsent tail comes back from the cursor, and a file of older unchained lines is set aside.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { chainHash, chainRecord, createChainVerifier, GENESIS_HASH, recordLine, type ChainedRecord } from '../../src/protocol/audit-chain.ts';
import { canonicalJson } from '../../src/protocol/canonical-json.ts';
import { openAuditLog, type SafetyRecord } from '../../src/adapters/audit-log.ts';
import { auditedWhenAccepted } from '../../src/actors/safety-trail.ts';

const entry = (i: number): SafetyRecord => ({ kind: 'refused', reason: `r${i}`, function: 'look_at_world', owner: 'agent', state: { interlock: 'tripped', lease_owner: null }, ts: '2026-01-01T00:00:00Z' });

function chain(n: number): ChainedRecord[] {
  const out: ChainedRecord[] = [];
  for (let i = 1; i <= n; i += 1) out.push(chainRecord(entry(i), i, out.at(-1)?.hash ?? GENESIS_HASH));
  return out;
}

function verify(lines: ReadonlyArray<string>) {
  const v = createChainVerifier();
  for (const line of lines) v.push(line);
  return v.report();
}

test('canonical JSON sorts keys at every depth and drops undefined; the hash covers prev and every field but hash', () => {
  expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
  const r = chainRecord(entry(1), 1, GENESIS_HASH);
  expect(r).toMatchObject({ seq: 1, prev: GENESIS_HASH });
  expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
  expect(chainHash({ ...r })).toBe(r.hash);
  expect(chainHash({ ...r, reason: 'other' })).not.toBe(r.hash);
  expect(chainHash({ ...r, prev: 'f'.repeat(64) })).not.toBe(r.hash);
  // The line re-read is the same record (canonical both ways).
  expect(recordLine(JSON.parse(recordLine(r)) as ChainedRecord)).toBe(recordLine(r));
});

test('a whole chain verifies; an edit, a deletion, a swap, a re-hashed edit and a torn line are each named with the first bad seq', () => {
  const lines = chain(10).map(recordLine);
  expect(verify(lines)).toMatchObject({ records: 10, firstSeq: 1, lastSeq: 10, problem: null });

  const edited = [...lines];
  edited[3] = edited[3]!.replace('"reason":"r4"', '"reason":"r4 (nothing happened)"');
  expect(verify(edited).problem).toMatchObject({ kind: 'edited', seq: 4, position: 4 });

  expect(verify(lines.filter((_, i) => i !== 6)).problem).toMatchObject({ kind: 'gap', seq: 7 });
  expect(verify(lines.slice(2)).problem).toMatchObject({ kind: 'gap', seq: 1, detail: 'records 1–2 missing before 3' });

  const swapped = [...lines];
  [swapped[4], swapped[5]] = [swapped[5]!, swapped[4]!];
  expect(verify(swapped).problem).toMatchObject({ kind: 'gap', seq: 5 });

  // An edit whose author recomputed that record's hash: the next record's prev no longer matches.
  const records = chain(10);
  const forged = chainRecord({ ...records[4]!, reason: 'forged' }, 5, records[3]!.hash);
  const reHashed = records.map((r, i) => recordLine(i === 4 ? forged : r));
  expect(verify(reHashed).problem).toMatchObject({ kind: 'broken_link', seq: 6 });

  expect(verify([...lines.slice(0, 5), lines[5]!.slice(0, 40), ...lines.slice(6)]).problem).toMatchObject({ kind: 'unparsable', seq: 6, position: 6 });
  expect(verify([...lines, lines[9]!]).problem).toMatchObject({ kind: 'out_of_order', seq: 10 });
});

test('a second chain starting at seq 1 from genesis is a restart, not a fault', () => {
  const lines = [...chain(3), ...chain(2)].map(recordLine);
  expect(verify(lines)).toMatchObject({ records: 5, lastSeq: 2, restarts: [4], problem: null });
});

test('the audit file: a reopened file continues the chain; the unsent tail comes back from the cursor; fsync and cursor on close', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rmd-audit-unit-'));
  const path = join(dir, 'audit.jsonl');
  const first = openAuditLog(path);
  for (let i = 1; i <= 5; i += 1) first.append(entry(i));
  first.acknowledge(3, 'stream');
  expect(first.unsent(10).map((r) => r.seq)).toEqual([4, 5]);
  first.close();
  expect(JSON.parse(readFileSync(`${path}.cursor`, 'utf8'))).toEqual({ acked_seq: 3, stream_seq: 3 });

  const second = openAuditLog(path);
  expect(second.lastSeq).toBe(5);
  expect(second.ackedSeq).toBe(3);
  expect(second.unsent(10).map((r) => r.seq)).toEqual([4, 5]);
  const sixth = second.append(entry(6));
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  expect(sixth).toMatchObject({ seq: 6, prev: (JSON.parse(lines[4]!) as ChainedRecord).hash });
  expect(verify(lines)).toMatchObject({ records: 6, problem: null });
  second.close();
});

test('a file of records without a chain (an older driver) is kept aside and a new chain starts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rmd-audit-unit-'));
  const path = join(dir, 'audit.jsonl');
  writeFileSync(path, JSON.stringify(entry(1)) + '\n');
  const log = openAuditLog(path);
  expect(log.append(entry(2))).toMatchObject({ seq: 1, prev: GENESIS_HASH });
  log.close();
  expect(readdirSync(dir).some((name) => name.startsWith('audit.jsonl.unchained-'))).toBe(true);
  expect(existsSync(path)).toBe(true);
  expect(verify(readFileSync(path, 'utf8').trim().split('\n')).problem).toBeNull();
});

test('accepted motion commands get an `accepted` record; captures have their own (media_capture); reads, stops, leases and sounds none', () => {
  for (const fn of ['look_at_world', 'goto_pose', 'wake_up', 'play_move', 'antenna_pose']) expect(auditedWhenAccepted(fn), fn).toBe(true);
  for (const fn of ['capture_video_frame', 'capture_audio_sample', 'get_status', 'stop_motion', 'emergency_stop', 'acquire_lease', 'play_audio_file', 'push_audio_sample']) expect(auditedWhenAccepted(fn), fn).toBe(false);
});

test('a record torn by a power cut stays in the file and is named by verify; the chain continues on its own line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rmd-audit-unit-'));
  const path = join(dir, 'audit.jsonl');
  const first = openAuditLog(path);
  for (let i = 1; i <= 3; i += 1) first.append(entry(i));
  first.close();
  const whole = readFileSync(path, 'utf8');
  const torn = recordLine(chainRecord(entry(4), 4, (JSON.parse(whole.trim().split('\n')[2]!) as ChainedRecord).hash)).slice(0, 50);
  writeFileSync(path, whole + torn);
  const reopened = openAuditLog(path);
  expect(reopened.append(entry(5))).toMatchObject({ seq: 4 });
  reopened.close();
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  expect(lines).toHaveLength(5);
  expect(lines[3]).toBe(torn);
  expect(verify(lines).problem).toMatchObject({ kind: 'unparsable', seq: 4, position: 4 });
  expect(verify(lines.filter((l) => l !== torn)).problem).toBeNull();
});

// The audit outbox's memory bound (src/adapters/audit-log.ts): unsent records are held in memory up
// to AUDIT_OUTBOX_MAX_RECORDS and AUDIT_OUTBOX_MAX_BYTES of lines, whichever comes first. Records
// near the 16 KiB record bound reach the byte bound long before the count: without a file the oldest
// are dropped, with a file the rest stay on disk and come back, in order, as the queue drains.
// Records delivered on core NATS only (no stream answering) are sent to the stream later: with a file
// they are read back from it (the cursor remembers where the stream's copy ends, across a restart);
// without one the newest AUDIT_CORE_RESEND_MAX_RECORDS are kept and the older ones are lost for it.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { AUDIT_CORE_RESEND_MAX_RECORDS, AUDIT_OUTBOX_MAX_BYTES, AUDIT_OUTBOX_MAX_RECORDS, openAuditLog, type SafetyRecord } from '../../src/adapters/audit-log.ts';
import { AUDIT_MAX_RECORD_BYTES } from '../../src/protocol/audit-bound.ts';
import { recordLine, type ChainedRecord } from '../../src/protocol/audit-chain.ts';

/** Records of ~12 KB (within the record bound, so kept whole): 1,500 of them are ~18 MB. */
const LARGE_RECORDS = 1_500;
const large = (i: number): SafetyRecord => ({
  kind: 'refused',
  reason: 'invalid params',
  owner: 'agent',
  state: { interlock: 'safe' },
  ts: '2026-12-06T00:00:00Z',
  function: 'set_target',
  error_tag: 'InvalidParams',
  ...Object.fromEntries(Array.from({ length: 8 }, (_, f) => [`note_${f}`, `${i}:${'x'.repeat(1_500)}`])),
});
const lineBytes = (records: ReadonlyArray<ChainedRecord>) => records.reduce((sum, r) => sum + recordLine(r).length, 0);

test('the bound is reached by bytes long before the count with records near the record bound', () => {
  expect(recordLine({ ...large(1), seq: 1, prev: '0'.repeat(64), hash: '0'.repeat(64) } as ChainedRecord).length).toBeGreaterThan(12_000);
  expect(LARGE_RECORDS).toBeLessThan(AUDIT_OUTBOX_MAX_RECORDS);
  expect(LARGE_RECORDS * 12_000).toBeGreaterThan(AUDIT_OUTBOX_MAX_BYTES);
  expect(AUDIT_OUTBOX_MAX_BYTES).toBeLessThan(AUDIT_OUTBOX_MAX_RECORDS * AUDIT_MAX_RECORD_BYTES);
});

test('without a file: the newest records are kept within the byte bound, the oldest dropped', () => {
  const log = openAuditLog(undefined);
  for (let i = 1; i <= LARGE_RECORDS; i++) log.append(large(i));
  const kept = log.unsent(100_000);
  expect(lineBytes(kept)).toBeLessThanOrEqual(AUDIT_OUTBOX_MAX_BYTES);
  expect(kept.length).toBeLessThan(LARGE_RECORDS);
  expect(kept.length).toBeGreaterThan(1_000);
  expect(kept.at(-1)!.seq).toBe(LARGE_RECORDS);
  expect(kept.map((r) => r.seq)).toEqual(Array.from({ length: kept.length }, (_, k) => LARGE_RECORDS - kept.length + 1 + k));
  log.close();
});

test('with a file: memory holds what fits the byte bound; the rest is read back from the file in order as the queue drains', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'audit-outbox-')), 'audit.jsonl');
  const log = openAuditLog(path);
  for (let i = 1; i <= LARGE_RECORDS; i++) log.append(large(i));
  const delivered: number[] = [];
  for (let round = 0; round < 5 && delivered.length < LARGE_RECORDS; round++) {
    const batch = log.unsent(100_000);
    expect(batch.length).toBeGreaterThan(0);
    expect(lineBytes(batch), `round ${round}: bytes held in memory`).toBeLessThanOrEqual(AUDIT_OUTBOX_MAX_BYTES);
    delivered.push(...batch.map((r) => r.seq));
    log.acknowledge(batch.at(-1)!.seq, 'stream');
  }
  expect(delivered).toEqual(Array.from({ length: LARGE_RECORDS }, (_, k) => k + 1));
  expect(log.unsent(100_000)).toEqual([]);
  log.close();
});

const small = (i: number): SafetyRecord => ({ kind: 'refused', reason: `r${i}`, owner: 'agent', state: {}, ts: '2026-12-06T00:00:00Z', function: 'goto_pose' });
const seqs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);

test('with a file: records delivered on core NATS only are unsent again for the stream, read back from the file, after a restart too', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'audit-outbox-')), 'audit.jsonl');
  const first = openAuditLog(path);
  for (let i = 1; i <= 3; i++) first.append(small(i));
  first.acknowledge(3, 'stream');
  for (let i = 4; i <= 8; i++) first.append(small(i));
  first.acknowledge(8, 'core');
  expect({ acked: first.ackedSeq, stream: first.streamSeq, unsent: first.unsent(100) }).toEqual({ acked: 8, stream: 3, unsent: [] });
  first.close();
  expect(JSON.parse(readFileSync(`${path}.cursor`, 'utf8'))).toEqual({ acked_seq: 8, stream_seq: 3 });

  // Restarted while still on core: nothing to send on core, the stream's copy still ends at 3.
  const second = openAuditLog(path);
  expect({ acked: second.ackedSeq, stream: second.streamSeq, unsent: second.unsent(100) }).toEqual({ acked: 8, stream: 3, unsent: [] });
  second.append(small(9));
  expect(second.recordAt(5)).toMatchObject({ seq: 5, reason: 'r5' });
  // The stream answers: 4..8 (from the file) come before 9, in order.
  expect(second.resendAfter(3)).toBe(3);
  expect(second.unsent(100).map((r) => r.seq)).toEqual(seqs(4, 9));
  expect({ acked: second.ackedSeq, stream: second.streamSeq }).toEqual({ acked: 3, stream: 3 });
  second.acknowledge(9, 'stream');
  expect({ acked: second.ackedSeq, stream: second.streamSeq, unsent: second.unsent(100) }).toEqual({ acked: 9, stream: 9, unsent: [] });
  second.close();
  expect(JSON.parse(readFileSync(`${path}.cursor`, 'utf8'))).toEqual({ acked_seq: 9, stream_seq: 9 });
  // A cursor written before 2026-12-06 has no stream_seq: the stream is taken to hold what was acknowledged.
  writeFileSync(`${path}.cursor`, JSON.stringify({ acked_seq: 7 }));
  const legacy = openAuditLog(path);
  expect({ acked: legacy.ackedSeq, stream: legacy.streamSeq }).toEqual({ acked: 7, stream: 7 });
  legacy.close();
});

test('without a file: the newest AUDIT_CORE_RESEND_MAX_RECORDS delivered on core NATS only are kept for the stream, the older ones are lost for it', () => {
  const log = openAuditLog(undefined);
  const total = AUDIT_CORE_RESEND_MAX_RECORDS + 5;
  for (let i = 1; i <= total; i++) log.append(small(i));
  log.acknowledge(total, 'core');
  log.append(small(total + 1));
  // The re-send starts after the last record not kept (5), not after what the stream holds (0).
  expect(log.resendAfter(0)).toBe(5);
  expect(log.unsent(100_000).map((r) => r.seq)).toEqual(seqs(6, total + 1));
  expect({ acked: log.ackedSeq, stream: log.streamSeq }).toEqual({ acked: 5, stream: 5 });
  log.close();
});

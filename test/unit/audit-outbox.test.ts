// The audit outbox's memory bound (src/adapters/audit-log.ts): unsent records are held in memory up
// to AUDIT_OUTBOX_MAX_RECORDS and AUDIT_OUTBOX_MAX_BYTES of lines, whichever comes first. Records
// near the 16 KiB record bound reach the byte bound long before the count: without a file the oldest
// are dropped, with a file the rest stay on disk and come back, in order, as the queue drains.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { AUDIT_OUTBOX_MAX_BYTES, AUDIT_OUTBOX_MAX_RECORDS, openAuditLog, type SafetyRecord } from '../../src/adapters/audit-log.ts';
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
    log.acknowledge(batch.at(-1)!.seq);
  }
  expect(delivered).toEqual(Array.from({ length: LARGE_RECORDS }, (_, k) => k + 1));
  expect(log.unsent(100_000)).toEqual([]);
  log.close();
});

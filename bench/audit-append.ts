// `npm run bench` (and `node bench/audit-append.ts` alone): the cost of one audit record — chained
// (canonical JSON + sha256) and appended to the file with the bounded fsync batching of
// src/adapters/audit-log.ts — as a ratio to the bare `appendFileSync(JSON.stringify(record))` the
// driver did before issue 13, both on the same temp directory in the same run, interleaved in
// rounds so load hits both alike. Owns only measurement; no assertions (benchmarks are never timed
// tests). The disk under the temp directory decides the fsync cost: read the ratio with that in mind.
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAuditLog, type SafetyRecord } from '../src/adapters/audit-log.ts';

/** Records per round per case: bursts of refusals, as an agent looping on a refused call makes. */
const RECORDS_PER_ROUND = 2_000;
/** Rounds, alternating the cases; the first is discarded (JIT, page cache). */
const ROUNDS = 6;

function record(i: number): SafetyRecord {
  return { kind: 'refused', reason: 'motion refused: the interlock is tripped (reset_interlock first)', function: 'look_at_world', owner: 'agent', state: { interlock: 'tripped', power: 'awake', connection: 'connected', execution: 'idle', lease_owner: null }, ts: '2026-12-03T15:00:00Z', error_tag: 'InterlockTripped', n: i };
}

export interface AuditAppendResult {
  readonly plainUsPerRecord: number;
  readonly chainedUsPerRecord: number;
}

export function runAuditAppendBench(): AuditAppendResult {
  const dir = mkdtempSync(join(tmpdir(), 'rmd-bench-audit-'));
  const plainTimes: number[] = [];
  const chainedTimes: number[] = [];
  try {
    const log = openAuditLog(join(dir, 'chained.jsonl'));
    const plainPath = join(dir, 'plain.jsonl');
    for (let round = 0; round < ROUNDS; round += 1) {
      let t = performance.now();
      for (let i = 0; i < RECORDS_PER_ROUND; i += 1) appendFileSync(plainPath, JSON.stringify(record(i)) + '\n', { flag: 'a', mode: 0o600 });
      const plain = performance.now() - t;
      t = performance.now();
      for (let i = 0; i < RECORDS_PER_ROUND; i += 1) log.append(record(i));
      const chained = performance.now() - t;
      if (round === 0) continue;
      plainTimes.push(plain);
      chainedTimes.push(chained);
    }
    log.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { plainUsPerRecord: (median(plainTimes) * 1000) / RECORDS_PER_ROUND, chainedUsPerRecord: (median(chainedTimes) * 1000) / RECORDS_PER_ROUND };
}

export function formatAuditAppend(r: AuditAppendResult): string {
  return [
    '',
    `audit record append (${RECORDS_PER_ROUND} per round, median of ${ROUNDS - 1} rounds):`,
    `  plain appendFileSync(JSON) (baseline)   ${r.plainUsPerRecord.toFixed(1)} µs/record`,
    `  chained + fsync every 64 / 200 ms       ${r.chainedUsPerRecord.toFixed(1)} µs/record  (${(r.chainedUsPerRecord / r.plainUsPerRecord).toFixed(2)}× baseline)`,
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(formatAuditAppend(runAuditAppendBench()));

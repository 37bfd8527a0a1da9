// The reorder window (src/media/rtp/reorder-buffer.ts): packets come out consecutive, across the
// sequence wrap too; holes become gaps once the window or the wait is exceeded; late and duplicate
// packets are dropped; and a sender restart resyncs (RFC 3550 A.1). Payloads and frames are the
// depacketizers' tests; the buffer keeps no clock, so the tests pass arrival times.
import { expect, test } from 'vitest';
import { ReorderBuffer, type ReorderOutput } from '../../../src/media/rtp/reorder-buffer.ts';

function run(buffer: ReorderBuffer<number>, steps: readonly [seq: number, ms: number][]): string[] {
  const out: string[] = [];
  for (const [seq, ms] of steps) for (const o of buffer.push(seq, seq, ms)) out.push(describe(o));
  return out;
}

function describe(o: ReorderOutput<number>): string {
  switch (o.kind) {
    case 'packet':
      return String(o.sequence);
    case 'gap':
      return `gap ${o.firstMissing}-${o.lastMissing} (${o.lost})`;
    case 'resync':
      return `resync ${o.sequence}`;
    case 'late':
      return `late ${o.sequence}`;
  }
}

test('in order passes straight through, across the wrap', () => {
  expect(run(new ReorderBuffer(), [[65534, 0], [65535, 0], [0, 0], [1, 0]])).toEqual(['65534', '65535', '0', '1']);
});

test('a swap inside the window is put back in order without a gap', () => {
  expect(run(new ReorderBuffer(), [[10, 0], [12, 1], [13, 2], [11, 3], [14, 4]])).toEqual(['10', '11', '12', '13', '14']);
});

test('a swap across the wrap is put back in order', () => {
  expect(run(new ReorderBuffer(), [[65535, 0], [1, 1], [0, 2]])).toEqual(['65535', '0', '1']);
});

test('a hole is given up once the wait is exceeded', () => {
  const buffer = new ReorderBuffer<number>({ maxWaitMs: 50 });
  expect(run(buffer, [[1, 0], [3, 10], [4, 40]])).toEqual(['1']);
  expect(run(buffer, [[5, 61]])).toEqual(['gap 2-2 (1)', '3', '4', '5']);
  expect(run(buffer, [[2, 62]])).toEqual(['late 2']);
});

test('a packet a whole window ahead flushes the holes at once', () => {
  const buffer = new ReorderBuffer<number>({ windowPackets: 8 });
  expect(run(buffer, [[1, 0], [3, 0], [12, 0]])).toEqual(['1', 'gap 2-2 (1)', '3', 'gap 4-11 (8)', '12']);
});

test('duplicates are late, held duplicates too', () => {
  expect(run(new ReorderBuffer(), [[1, 0], [1, 0], [3, 0], [3, 0], [2, 0]])).toEqual(['1', 'late 1', 'late 3', '2', '3']);
});

test('a big backward jump is a restart once two consecutive packets agree', () => {
  const buffer = new ReorderBuffer<number>();
  expect(run(buffer, [[5000, 0], [5001, 0], [100, 0], [101, 0], [102, 0]])).toEqual([
    '5000',
    '5001',
    'late 100',
    'resync 101',
    '101',
    '102',
  ]);
});

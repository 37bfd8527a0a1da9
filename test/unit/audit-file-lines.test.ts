// Reading the audit file line by line (src/adapters/audit-file-lines.ts): lines cut by the 1 MiB chunk
// boundary (also inside a multi-byte character) come out whole, a torn last line comes out as it is,
// empty lines in the middle are kept; the first line after a seq is found from the end of a file of
// several MiB; the last N lines are the file's last N. Whole-file reads are the comparison.
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { AUDIT_READ_CHUNK_BYTES, forEachAuditLine, lastAuditLines, offsetOfLinesAfter } from '../../src/adapters/audit-file-lines.ts';

const dir = mkdtempSync(join(tmpdir(), 'audit-lines-'));
let files = 0;
const fileWith = (text: string): string => {
  const path = join(dir, `audit-${++files}.jsonl`);
  writeFileSync(path, text);
  return path;
};
const all = (path: string, from = 0): string[] => {
  const lines: string[] = [];
  forEachAuditLine(path, from, (line) => void lines.push(line));
  return lines;
};
/** ~3.5 MiB of records `{"seq":n,...}`, each line of a different length, with 'é' (2 bytes) throughout. */
const RECORDS = 12_000;
const record = (seq: number) => JSON.stringify({ seq, hash: 'h', note: 'é'.repeat(100 + (seq % 37)) });
const big = fileWith(Array.from({ length: RECORDS }, (_, i) => record(i + 1)).join('\n') + '\n');
const seqOf = (line: string): number | undefined => {
  try {
    return (JSON.parse(line) as { seq?: number }).seq;
  } catch {
    return undefined;
  }
};

test('lines across chunk boundaries (inside two-byte characters too) come out whole and in order', () => {
  expect(readFileSync(big).length).toBeGreaterThan(3 * AUDIT_READ_CHUNK_BYTES);
  const lines = all(big);
  expect(lines).toEqual(readFileSync(big, 'utf8').split('\n').slice(0, -1));
  expect(lines.length).toBe(RECORDS);
});

test('a torn last line is a line; empty lines in the middle are kept; a missing file has none', () => {
  expect(all(fileWith('{"seq":1}\n\n{"seq":2}\n{"seq":3,"tor'))).toEqual(['{"seq":1}', '', '{"seq":2}', '{"seq":3,"tor']);
  expect(all(fileWith(''))).toEqual([]);
  expect(all(join(dir, 'missing.jsonl'))).toEqual([]);
});

test('a visitor that returns false stops the reading; the end offset of each line is where the next starts', () => {
  const path = fileWith('{"seq":1}\n{"seq":2}\n{"seq":3}\n');
  const seen: Array<[string, number]> = [];
  forEachAuditLine(path, 0, (line, end) => (seen.push([line, end]), seen.length < 2));
  expect(seen).toEqual([['{"seq":1}', 10], ['{"seq":2}', 20]]);
  expect(all(path, 20)).toEqual(['{"seq":3}']);
});

test('where the lines after a seq begin: near the end for a recent seq, from the start for an old one', () => {
  for (const after of [RECORDS - 5, RECORDS - 3_000, 10, 0, RECORDS]) {
    const offset = offsetOfLinesAfter(big, after, seqOf);
    const after_ = all(big, offset).filter((line) => (seqOf(line) ?? 0) > after);
    expect(after_.map(seqOf), `after ${after}`).toEqual(Array.from({ length: RECORDS - after }, (_, i) => after + i + 1));
    if (after === RECORDS - 5) expect(offset).toBeGreaterThan(readFileSync(big).length - 4 * AUDIT_READ_CHUNK_BYTES);
  }
});

test("the last N lines are the file's last N, also when they reach back over several chunks or past the start", () => {
  const whole = all(big);
  for (const n of [1, 20, 9_000, RECORDS, RECORDS + 5]) expect(lastAuditLines(big, n), `last ${n}`).toEqual(whole.slice(-n));
  expect(lastAuditLines(big, 0)).toEqual([]);
  const torn = fileWith('{"seq":1}\n{"seq":2}\n');
  appendFileSync(torn, '{"seq":3');
  expect(lastAuditLines(torn, 2)).toEqual(['{"seq":2}', '{"seq":3']);
});

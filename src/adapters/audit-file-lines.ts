// Reading the audit file line by line without holding it whole (issue 13 §1; README "Audit trail").
// The file only grows (no rotation): a driver streaming targets records tens of lines a second and
// passes V8's largest string (~512 MiB) within a day, where a whole-file read (`readFileSync` to a
// string) throws. Owns chunked reading: the lines from a byte offset, where the lines after a given
// seq begin (probed back from the end in growing steps: the unsent tail is usually short) and the last
// N lines. Does not decide what a line means: the caller passes how to read a line's seq.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';

/** Read in chunks of 1 MiB: few system calls for a scan, nothing next to the driver's heap. */
export const AUDIT_READ_CHUNK_BYTES = 1024 * 1024;
/** Each probe back from the end for the first unsent line goes this many times further back. */
const PROBE_GROWTH = 4;
const NEWLINE = 0x0a;

/**
 * Calls `visit` with each line from byte `from` (a line start) and the offset right after it,
 * including a last line without its newline (a torn write); stops when `visit` returns false.
 */
export function forEachAuditLine(path: string, from: number, visit: (line: string, end: number) => boolean | void): void {
  if (!existsSync(path)) return;
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(AUDIT_READ_CHUNK_BYTES);
    let pending: Buffer[] = [];
    let offset = from;
    for (let n = readSync(fd, chunk, 0, chunk.length, offset); n > 0; offset += n, n = readSync(fd, chunk, 0, chunk.length, offset)) {
      let start = 0;
      for (let nl = chunk.indexOf(NEWLINE, start); nl !== -1 && nl < n; nl = chunk.indexOf(NEWLINE, start)) {
        const piece = chunk.subarray(start, nl);
        const line = (pending.length > 0 ? Buffer.concat([...pending, piece]) : piece).toString('utf8');
        pending = [];
        start = nl + 1;
        if (visit(line, offset + start) === false) return;
      }
      if (start < n) pending.push(Buffer.from(chunk.subarray(start, n)));
    }
    if (pending.length > 0) visit(Buffer.concat(pending).toString('utf8'), offset);
  } finally {
    closeSync(fd);
  }
}

/** The start of the first line beginning at or after byte `at`. */
function lineStartFrom(path: string, at: number): number {
  if (at <= 0) return 0;
  let start = -1;
  // The byte before `at` decides: a newline there makes `at` itself a line start.
  forEachAuditLine(path, at - 1, (_line, end) => {
    start = end;
    return false;
  });
  return start;
}

/**
 * Where the lines after seq `after` begin: a line start at or before the first line whose seq
 * (`seqOf`; undefined for a line without one) is above `after` — 0 when it lies in the first probe's
 * reach from the start. Seqs only grow along the file, so the first seq readable after a probe point
 * at or below `after` means everything later is after it.
 */
export function offsetOfLinesAfter(path: string, after: number, seqOf: (line: string) => number | undefined): number {
  if (!existsSync(path)) return 0;
  const size = statSync(path).size;
  for (let back = AUDIT_READ_CHUNK_BYTES; back < size; back *= PROBE_GROWTH) {
    const probe = lineStartFrom(path, size - back);
    let seq: number | undefined;
    forEachAuditLine(path, probe, (line) => (seq = seqOf(line)) === undefined);
    if (seq !== undefined && seq <= after) return probe;
  }
  return 0;
}

/** The file's last `count` lines (fewer when it holds fewer), read back from the end in growing steps. */
export function lastAuditLines(path: string, count: number): string[] {
  if (count <= 0 || !existsSync(path)) return [];
  const size = statSync(path).size;
  for (let back = AUDIT_READ_CHUNK_BYTES; ; back *= PROBE_GROWTH) {
    const from = back >= size ? 0 : lineStartFrom(path, size - back);
    const lines: string[] = [];
    forEachAuditLine(path, from, (line) => {
      lines.push(line);
    });
    if (lines.length >= count || from === 0) return lines.slice(-count);
  }
}

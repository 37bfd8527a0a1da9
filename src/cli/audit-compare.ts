// `audit verify --stream`: the audit file and the broker's copy held against each other (issue 13 §1;
// README "Audit trail" → Commands). Every record the stream holds must be byte-equal to the file's at
// that seq (a stand-in: same seq, prev and hash); one the file lacks was cut from it (the driver never
// rotates nor truncates it) or published by someone else on the `.audit` subject. The cursor file, read
// before the stream, names what the driver sent (`acked_seq`: a file ending before it was cut back) and
// what the stream acknowledged (`stream_seq`: a stream ending before it lost records); later records are
// not in the stream yet (no fault). Owns these verdicts and the file read they need; the chain rules are
// audit-chain.ts's, the cursor format audit-log.ts's, the output and exit code audit-command.ts's.
import { forEachAuditLine } from '../adapters/audit-file-lines.ts';
import type { AuditCursor } from '../adapters/audit-log.ts';
import { createChainVerifier, isWithheld, type ChainedRecord, type ChainReport } from '../protocol/audit-chain.ts';

/** The file as the comparison needs it: its chain's report, and its lines at the seqs the stream holds. */
export interface FileCopy {
  readonly report: ChainReport;
  readonly lines: ReadonlyMap<number, string>;
}

/** The broker's copy: its lines as read and its chain's report. */
export interface StreamCopy {
  readonly lines: ReadonlyArray<string>;
  readonly report: ChainReport;
}

export interface Comparison {
  /** Each a line of output and a failure (exit 1). */
  readonly faults: ReadonlyArray<string>;
  /** Records of the file after the stream's last and after what it acknowledged: not sent to it yet. */
  readonly notYetSent: number;
}

function parsed(line: string): ChainedRecord | undefined {
  try {
    const value = JSON.parse(line) as ChainedRecord | null;
    return value !== null && typeof value === 'object' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The file's chain and its lines at the `wanted` seqs, in one pass (the file may be larger than any string). */
export function readFileCopy(path: string | undefined, wanted: ReadonlySet<number>): FileCopy {
  const verifier = createChainVerifier({ allowWithheld: false });
  const lines = new Map<number, string>();
  if (path) {
    forEachAuditLine(path, 0, (line) => {
      const record = parsed(line);
      verifier.push(record ?? line);
      if (record && wanted.has(record.seq)) lines.set(record.seq, line);
    });
  }
  return { report: verifier.report(), lines };
}

/** The seqs the stream's lines name (a line that is no record names none: the stream's chain check reports it). */
export function streamSeqs(lines: ReadonlyArray<string>): Set<number> {
  return new Set(lines.map((line) => parsed(line)?.seq).filter((seq): seq is number => Number.isSafeInteger(seq)));
}

/** Whether the stream's line is the file's record: the same bytes, or the stand-in of that record. */
function sameRecord(streamLine: string, fileLine: string): boolean {
  if (streamLine === fileLine) return true;
  const ours = parsed(streamLine);
  const theirs = parsed(fileLine);
  return ours !== undefined && theirs !== undefined && isWithheld(ours) && ours.seq === theirs.seq && ours.prev === theirs.prev && ours.hash === theirs.hash;
}

/** The first seq where both copies hold a record and they differ, or null. */
function firstDifference(stream: ReadonlyArray<string>, file: ReadonlyMap<number, string>): number | null {
  for (const line of stream) {
    const seq = parsed(line)?.seq;
    const own = seq === undefined ? undefined : file.get(seq);
    if (own !== undefined && !sameRecord(line, own)) return seq!;
  }
  return null;
}

/** Ascending seqs as ranges: `6–10, 12`. */
export function seqRanges(seqs: ReadonlyArray<number>): string {
  const sorted = [...seqs].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i += 1) {
    const first = sorted[i]!;
    while (i + 1 < sorted.length && sorted[i + 1] === sorted[i]! + 1) i += 1;
    parts.push(first === sorted[i] ? `${first}` : `${first}–${sorted[i]}`);
  }
  return parts.join(', ');
}

/** Records the stream holds and the file does not: there is no honest way for them to get there. */
function notInFile(stream: ReadonlyArray<string>, file: ReadonlyMap<number, string>): string | null {
  const missing = [...streamSeqs(stream)].filter((seq) => !file.has(seq));
  if (missing.length === 0) return null;
  return `the stream holds ${missing.length} record${missing.length === 1 ? '' : 's'} the file does not: seq ${seqRanges(missing)} (cut from the file — the driver never rotates nor truncates it — or published by someone else on the device's .audit subject)`;
}

/** Records the stream acknowledged (the cursor file says so) and no longer holds: deleted from it. */
function deletedFromStream(streamLast: number, cursor: AuditCursor): string | null {
  if (cursor.stream <= streamLast) return null;
  const seqs = cursor.stream === streamLast + 1 ? `${cursor.stream}` : `${streamLast + 1}–${cursor.stream}`;
  const holds = streamLast === 0 ? 'holds none of them' : `holds them up to seq ${streamLast}`;
  return `the stream acknowledged the records up to seq ${cursor.stream} (the audit file's .cursor) but ${holds}: seq ${seqs} were deleted from it`;
}

/** Records the driver had sent (the cursor file says so) past the file's end: cut from the file. */
function cutFromFile(fileLast: number, cursor: AuditCursor): string | null {
  if (cursor.acked <= fileLast) return null;
  const seqs = cursor.acked === fileLast + 1 ? `${cursor.acked}` : `${fileLast + 1}–${cursor.acked}`;
  return `the driver had sent the records up to seq ${cursor.acked} (the audit file's .cursor) but the file ends at seq ${fileLast}: seq ${seqs} were cut from it`;
}

/** The verdicts on the two copies; `cursor` was read before the stream (it never claims more than the stream had then). */
export function compareCopies(stream: StreamCopy, file: FileCopy, cursor: AuditCursor): Comparison {
  const differs = firstDifference(stream.lines, file.lines);
  if (differs !== null) return { faults: [`file and stream differ at seq ${differs} (one of them was rewritten)`], notYetSent: 0 };
  const streamLast = stream.report.lastSeq ?? 0;
  const faults = [notInFile(stream.lines, file.lines), cutFromFile(file.report.lastSeq ?? 0, cursor), deletedFromStream(streamLast, cursor)].filter((f): f is string => f !== null);
  const notYetSent = stream.report.restarts.length === 0 ? Math.max(0, (file.report.lastSeq ?? 0) - Math.max(streamLast, cursor.stream)) : 0;
  return { faults, notYetSent };
}

// The audit trail's local file and outbox (issue 13 §1): every record bounded (audit-bound.ts),
// chained (seq, prev, hash: audit-chain.ts) and appended as one canonical JSON line to a file opened
// for append only (never rewritten or truncated), fsynced in bounded batches. The file is the outbox:
// a cursor beside it (`<file>.cursor`: the last acknowledged seq and the last one the JetStream stream
// holds) lets a restart send the unsent tail, the publisher re-send core-only records to the stream,
// and `audit verify --stream` tell a deletion from a record not sent yet. Owns the file, the cursor
// and the chain's head; not what is audited (the safety trail) nor how records leave (audit-stream.ts).
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { createLogger } from '../logging/logger.ts';
import { forEachAuditLine, offsetOfLinesAfter } from './audit-file-lines.ts';
import { failureNotice } from '../logging/failure-notice.ts';
import { AUDIT_MAX_RECORD_BYTES, boundedAuditRecord } from '../protocol/audit-bound.ts';
import { chainRecord, GENESIS_HASH, recordLine, type ChainedRecord } from '../protocol/audit-chain.ts';

const log = createLogger('audit');

/**
 * fsync at most this long after a record is written: a power cut loses at most the records of the
 * last 200 ms that were not yet published (published ones were fsynced first). Short enough that a
 * refusal burst is on disk before anyone reads it, long enough that 1,000 refusals a second cost a
 * handful of fsyncs, not a thousand.
 */
export const AUDIT_FSYNC_INTERVAL_MS = 200;
/** …or after this many records, whichever comes first (bounds the loss of a burst by count too). */
export const AUDIT_FSYNC_MAX_RECORDS = 64;
/**
 * Unsent records kept in memory (~0.5 KiB each: ~10 MiB). Beyond it the file holds them and they are
 * read back when the memory queue drains; without a file (`--audit-log none`) the oldest are dropped.
 */
export const AUDIT_OUTBOX_MAX_RECORDS = 20_000;
/**
 * …and this many bytes of record lines: records are up to AUDIT_MAX_RECORD_BYTES (16 KiB) each, so a
 * count alone would let the queue reach ~320 MiB; 16 MiB holds ~30,000 ordinary records or 1,000 of
 * the largest, and keeps the driver's memory bounded however large the records a caller provokes.
 */
export const AUDIT_OUTBOX_MAX_BYTES = 16 * 1024 * 1024;
/**
 * Without a file (`--audit-log none`), records delivered on core NATS only (no stream answering yet)
 * are kept in memory to be sent to the stream once it answers: the newest 1,000. A fresh cluster
 * elects its JetStream leader within seconds (tens of records); 1,000 also covers a minute of an
 * agent streaming targets at 15 Hz. Records are ≤ 16 KiB (AUDIT_MAX_RECORD_BYTES), so ≤ 16 MiB, ~0.5 MiB
 * typically, kept for a driver that never gets a stream. Older ones are lost for the stream (its copy
 * shows the gap; a WARN names the seqs). With a file nothing is kept: the file is read back.
 */
export const AUDIT_CORE_RESEND_MAX_RECORDS = 1_000;
/** The cursor file is rewritten at most this often while records are being acknowledged (and on close). */
export const AUDIT_CURSOR_WRITE_INTERVAL_MS = 500;
/**
 * How much of the file's end is read at start to find the chain's head: four times
 * AUDIT_MAX_RECORD_BYTES, so it holds whole records. A file whose tail holds none (a longer record
 * written before records were bounded) is read further back, AUDIT_TAIL_GROWTH times more each time.
 */
const TAIL_READ_BYTES = 4 * AUDIT_MAX_RECORD_BYTES;
/** Each further read back takes this many times the last (a few reads reach far back). */
const AUDIT_TAIL_GROWTH = 8;
/**
 * The read back stops here (the file is then taken as unchained and set aside, not lost): more than
 * any record ever written — an unbounded one held a ≤ 1 MiB request at most twice, 6× when every
 * character was escaped (12 MiB) — while a large file of older unchained lines is not read whole.
 */
const AUDIT_HEAD_SEARCH_MAX_BYTES = 32 * 1024 * 1024;

export interface SafetyRecord {
  readonly kind: string;
  readonly reason: string;
  readonly function: string | null;
  readonly owner: string | null;
  readonly state: Record<string, unknown>;
  readonly ts: string;
  readonly [extra: string]: unknown;
}

/** Where an acknowledged record went: into the JetStream stream, or to core NATS only (no stream held it). */
export type AuditDelivered = 'stream' | 'core';

export interface AuditLog {
  /** Bounds the record (AUDIT_MAX_RECORD_BYTES), chains it, appends it (fsync batched) and queues it for the publisher; returns it as written. */
  append(record: SafetyRecord): ChainedRecord;
  /** Up to `limit` records the publisher has not had acknowledged, oldest first. */
  unsent(limit: number): ReadonlyArray<ChainedRecord>;
  /** Every record up to `seq` is delivered (`where`): dropped from the outbox, remembered in the cursor file. */
  acknowledge(seq: number, where: AuditDelivered): void;
  /**
   * The stream holds the records up to `seq`; those after it that went to core NATS only are unsent
   * again, ahead of the rest, read back from the file (without one: those kept, AUDIT_CORE_RESEND_MAX_RECORDS).
   * Returns the seq the re-send starts after: `seq`, or later when records without a file were not kept.
   */
  resendAfter(seq: number): number;
  /** The record with this seq, from memory or the file (undefined when neither has it). */
  recordAt(seq: number): ChainedRecord | undefined;
  /** fsync now if anything is unsynced (the publisher calls this before sending, so the broker never holds a record the file lost). */
  sync(): void;
  /** Called after each append (the publisher wakes up). */
  onAppend(listener: () => void): () => void;
  readonly path: string | undefined;
  /** The chain's head: the last seq written (0 before the first record). */
  readonly lastSeq: number;
  readonly ackedSeq: number;
  /** The last seq the JetStream stream acknowledged (or was found holding); ≤ ackedSeq, the ones between went to core NATS only. */
  readonly streamSeq: number;
  /** Final fsync and cursor write; appends after it still go to memory only. */
  close(): void;
}

/**
 * The file's whole last lines within its last `bytes` (the first, cut by the read, is dropped unless
 * the read reached the start), whether it ends with a newline (a torn write does not) and whether
 * the read reached the start.
 */
function tailOf(path: string, bytes: number): { lines: string[]; endsWithNewline: boolean; whole: boolean } {
  const size = statSync(path).size;
  if (size === 0) return { lines: [], endsWithNewline: true, whole: true };
  const length = Math.min(size, bytes);
  const buffer = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buffer, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  const text = buffer.toString('utf8');
  const lines = text.split('\n');
  if (length < size) lines.shift();
  return { lines: lines.filter((l) => l.trim().length > 0), endsWithNewline: text.endsWith('\n'), whole: length === size };
}

/** The file's last chained record, read back from the end in growing steps; whether the file ends with a newline, or holds no line. */
function lastChained(path: string): { head: ChainedRecord | undefined; endsWithNewline: boolean; empty: boolean } {
  for (let bytes = TAIL_READ_BYTES; ; bytes = Math.min(bytes * AUDIT_TAIL_GROWTH, AUDIT_HEAD_SEARCH_MAX_BYTES)) {
    const tail = tailOf(path, bytes);
    const head = tail.lines.map(parseChained).findLast((r) => r !== undefined);
    const searched = tail.whole || bytes >= AUDIT_HEAD_SEARCH_MAX_BYTES;
    if (head || searched) return { head, endsWithNewline: tail.endsWithNewline, empty: tail.whole && tail.lines.length === 0 };
  }
}

function parseChained(line: string | undefined): ChainedRecord | undefined {
  if (line === undefined) return undefined;
  try {
    const r = JSON.parse(line) as Partial<ChainedRecord>;
    return typeof r.seq === 'number' && typeof r.hash === 'string' ? (r as ChainedRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** An unsent record and the bytes of its line (what the outbox's memory bound counts). */
interface Queued {
  readonly record: ChainedRecord;
  readonly bytes: number;
}

/**
 * The records after seq `after`, oldest first, up to `limit` of them and `maxBytes` of lines (at
 * least one; a torn or foreign line is skipped), read in chunks from near where they begin.
 */
function readRecordsAfter(path: string, after: number, limit: number, maxBytes: number): Queued[] {
  const out: Queued[] = [];
  let bytes = 0;
  forEachAuditLine(path, offsetOfLinesAfter(path, after, (line) => parseChained(line)?.seq), (line) => {
    const r = parseChained(line);
    if (!r || r.seq <= after) return true;
    if (out.length > 0 && bytes + line.length > maxBytes) return false;
    out.push({ record: r, bytes: line.length });
    bytes += line.length;
    return out.length < limit;
  });
  return out;
}

/** The cursor file's seqs (0 when missing); one written before 2026-12-06 has no `stream_seq`: taken as the acked one. */
export interface AuditCursor {
  readonly acked: number;
  readonly stream: number;
}

/** The cursor file beside an audit file (`<file>.cursor`), as the driver reads it at start; `audit verify --stream` reads it too. */
export function readAuditCursor(auditPath: string): AuditCursor {
  return readCursor(`${auditPath}.cursor`);
}

function readCursor(path: string): AuditCursor {
  const valid = (seq: unknown): seq is number => typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0;
  try {
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { acked_seq?: unknown; stream_seq?: unknown };
    const acked = valid(saved.acked_seq) ? saved.acked_seq : 0;
    return { acked, stream: valid(saved.stream_seq) ? Math.min(saved.stream_seq, acked) : acked };
  } catch {
    return { acked: 0, stream: 0 };
  }
}

/**
 * The chain's head in an existing file: its last chained record. A line torn by a power cut after it
 * stays (verify reports it) and the file is given the newline it lacks, so the next record starts its
 * own line. A file of older unchained lines only is set aside (renamed), not rewritten.
 */
function openHead(path: string): { seq: number; hash: string } {
  if (!existsSync(path)) return { seq: 0, hash: GENESIS_HASH };
  const { head, endsWithNewline, empty } = lastChained(path);
  if (empty) return { seq: 0, hash: GENESIS_HASH };
  if (head) {
    if (!endsWithNewline) {
      appendFileSync(path, '\n');
      log.warn('the audit file ends with a torn record (a write cut short, e.g. by a power cut): kept, and the chain continues after it', { path, last_seq: head.seq });
    }
    return { seq: head.seq, hash: head.hash };
  }
  const aside = `${path}.unchained-${Date.now()}`;
  renameSync(path, aside);
  log.warn('the audit file holds records without a hash chain (an older driver): kept aside, a new chained file starts', { path, kept_as: aside });
  return { seq: 0, hash: GENESIS_HASH };
}

type Notice = ReturnType<typeof failureNotice>;

/** The file side: one O_APPEND write per line, fsynced within AUDIT_FSYNC_INTERVAL_MS or AUDIT_FSYNC_MAX_RECORDS. */
interface AppendOnlyFile {
  write(line: string): void;
  sync(): void;
  close(): void;
}

function appendOnlyFile(path: string | undefined, notice: Notice): AppendOnlyFile {
  let fd: number | undefined = path ? openSync(path, 'a', 0o600) : undefined;
  let unsynced = 0;
  let syncTimer: NodeJS.Timeout | undefined;
  const sync = () => {
    clearTimeout(syncTimer);
    syncTimer = undefined;
    if (fd === undefined || unsynced === 0) return;
    try {
      fsyncSync(fd);
      unsynced = 0;
    } catch (error) {
      notice.failed('fsync', 'cannot fsync the audit file; records may be lost on a power cut', { path, error: error as Error });
    }
  };
  return {
    write(line) {
      if (fd === undefined) return;
      try {
        // One write per line with O_APPEND: lines from one process never interleave or overwrite.
        writeSync(fd, line + '\n');
        unsynced += 1;
        notice.recovered('audit file writable again', { path });
      } catch (error) {
        notice.failed('write', 'cannot append to the audit log; records still go to the broker from memory', { path, error: error as Error });
      }
      if (unsynced >= AUDIT_FSYNC_MAX_RECORDS) sync();
      else if (unsynced > 0 && !syncTimer) syncTimer = setTimeout(sync, AUDIT_FSYNC_INTERVAL_MS).unref();
    },
    sync,
    /** Closes the file (after the caller's final sync); later writes are dropped, the records kept in memory. */
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/** The cursor file (`<file>.cursor`): the last acknowledged seq and the stream's, rewritten atomically at most every AUDIT_CURSOR_WRITE_INTERVAL_MS. */
function cursorWriter(cursorPath: string | undefined, initial: AuditCursor, current: () => AuditCursor, notice: Notice): { schedule(): void; writeNow(): void } {
  let written = initial;
  let timer: NodeJS.Timeout | undefined;
  const writeNow = () => {
    clearTimeout(timer);
    timer = undefined;
    const now = current();
    if (!cursorPath || (written.acked === now.acked && written.stream === now.stream)) return;
    try {
      writeFileSync(`${cursorPath}.tmp`, JSON.stringify({ acked_seq: now.acked, stream_seq: now.stream }) + '\n', { mode: 0o600 });
      renameSync(`${cursorPath}.tmp`, cursorPath);
      written = now;
    } catch (error) {
      notice.failed('cursor', 'cannot write the audit cursor; a restart re-sends records (the stream drops the duplicates)', { path: cursorPath, error: error as Error });
    }
  };
  return {
    schedule: () => {
      if (!timer) timer = setTimeout(writeNow, AUDIT_CURSOR_WRITE_INTERVAL_MS).unref();
    },
    writeNow,
  };
}

/**
 * The unsent records: in memory up to AUDIT_OUTBOX_MAX_RECORDS and AUDIT_OUTBOX_MAX_BYTES; beyond
 * either the file holds them (`spilled`) and they are read back as the memory queue drains; without
 * a file the oldest are dropped, and records delivered on core NATS only are kept for the stream
 * (the newest AUDIT_CORE_RESEND_MAX_RECORDS).
 */
class Outbox {
  #queued: Queued[];
  #bytes: number;
  #spilled: boolean;
  #dropped = 0;
  /** Without a file: records delivered on core NATS only, oldest first, to send to the stream later. */
  #coreOnly: Queued[] = [];
  readonly #path: string | undefined;

  constructor(path: string | undefined, acked: number, headSeq: number) {
    this.#path = path;
    this.#queued = [];
    this.#bytes = 0;
    this.#spilled = false;
    if (path && acked < headSeq) this.#readBack(path, acked, headSeq);
  }

  /** Refills the memory queue from the file, after `acked`. */
  #readBack(path: string, acked: number, headSeq: number): void {
    this.#queued = readRecordsAfter(path, acked, AUDIT_OUTBOX_MAX_RECORDS, AUDIT_OUTBOX_MAX_BYTES);
    this.#bytes = this.#queued.reduce((sum, q) => sum + q.bytes, 0);
    this.#spilled = acked + this.#queued.length < headSeq;
  }

  #fits(bytes: number): boolean {
    return this.#queued.length < AUDIT_OUTBOX_MAX_RECORDS && this.#bytes + bytes <= AUDIT_OUTBOX_MAX_BYTES;
  }

  /** `bytes`: the length of the record's line. */
  queue(record: ChainedRecord, bytes: number): void {
    if (!this.#spilled && this.#fits(bytes)) {
      this.#push({ record, bytes });
      return;
    }
    if (this.#path) {
      this.#spilled = true;
      return;
    }
    while (this.#queued.length > 0 && !this.#fits(bytes)) this.#shift();
    this.#push({ record, bytes });
    this.#dropped += 1;
    if (this.#dropped === 1) log.warn('audit records not yet sent are being dropped: no audit file and the broker is not taking them', { kept_records: AUDIT_OUTBOX_MAX_RECORDS, kept_bytes: AUDIT_OUTBOX_MAX_BYTES });
  }

  unsent(limit: number, acked: number, headSeq: number): ReadonlyArray<ChainedRecord> {
    if (this.#queued.length === 0 && this.#spilled && this.#path) this.#readBack(this.#path, acked, headSeq);
    return this.#queued.slice(0, limit).map((q) => q.record);
  }

  /** Drops the records up to `acked` (delivered); without a file, keeps those that went to core NATS only. */
  delivered(acked: number, where: AuditDelivered): void {
    while (this.#queued.length > 0 && this.#queued[0]!.record.seq <= acked) {
      const q = this.#shift();
      if (where === 'core' && !this.#path) this.#coreOnly.push(q);
    }
    if (where === 'stream') this.#coreOnly = [];
    if (this.#coreOnly.length > AUDIT_CORE_RESEND_MAX_RECORDS) this.#coreOnly.splice(0, this.#coreOnly.length - AUDIT_CORE_RESEND_MAX_RECORDS);
  }

  /** The records after `after` (up to `acked`) are unsent again, ahead of the rest; returns the seq the re-send starts after (later than `after` when a record without a file was not kept). */
  resend(after: number, acked: number, headSeq: number): number {
    if (this.#path) {
      this.#readBack(this.#path, after, headSeq);
      return after;
    }
    const kept = this.#coreOnly.filter((q) => q.record.seq > after);
    this.#coreOnly = [];
    this.#queued = [...kept, ...this.#queued];
    this.#bytes += kept.reduce((sum, q) => sum + q.bytes, 0);
    return kept.length > 0 ? kept[0]!.record.seq - 1 : Math.max(after, acked);
  }

  /** The record with this seq when memory holds it (unsent, or kept for the stream). */
  inMemory(seq: number): ChainedRecord | undefined {
    return (this.#queued.find((q) => q.record.seq === seq) ?? this.#coreOnly.find((q) => q.record.seq === seq))?.record;
  }

  #push(q: Queued): void {
    this.#queued.push(q);
    this.#bytes += q.bytes;
  }

  #shift(): Queued {
    const q = this.#queued.shift()!;
    this.#bytes -= q.bytes;
    return q;
  }
}

export function openAuditLog(path: string | undefined): AuditLog {
  if (path) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const cursorPath = path ? `${path}.cursor` : undefined;
  let head = path ? openHead(path) : { seq: 0, hash: GENESIS_HASH };
  const saved = cursorPath ? readCursor(cursorPath) : { acked: 0, stream: 0 };
  let acked = Math.min(saved.acked, head.seq);
  let streamSeq = Math.min(saved.stream, acked);
  const notice = failureNotice(log);
  const file = appendOnlyFile(path, notice);
  const cursor = cursorWriter(cursorPath, { acked, stream: streamSeq }, () => ({ acked, stream: streamSeq }), notice);
  const outbox = new Outbox(path, acked, head.seq);
  const listeners = new Set<() => void>();
  return {
    append(record) {
      const chained = chainRecord(boundedAuditRecord(record), head.seq + 1, head.hash);
      head = { seq: chained.seq, hash: chained.hash };
      const line = recordLine(chained);
      file.write(line);
      outbox.queue(chained, line.length);
      for (const listener of listeners) listener();
      return chained;
    },
    unsent: (limit) => outbox.unsent(limit, acked, head.seq),
    acknowledge(seq, where) {
      const upTo = Math.min(seq, head.seq);
      const stored = where === 'stream' && upTo > streamSeq;
      if (upTo <= acked && !stored) return;
      if (upTo > acked) (acked = upTo), outbox.delivered(acked, where);
      if (stored) streamSeq = upTo;
      cursor.schedule();
    },
    resendAfter(seq) {
      const from = outbox.resend(Math.max(seq, streamSeq), acked, head.seq);
      acked = Math.min(acked, from);
      streamSeq = acked;
      cursor.schedule();
      return from;
    },
    recordAt(seq) {
      const known = outbox.inMemory(seq);
      if (known || !path || seq < 1 || seq > head.seq) return known;
      const [found] = readRecordsAfter(path, seq - 1, 1, Number.POSITIVE_INFINITY);
      return found?.record.seq === seq ? found.record : undefined;
    },
    sync: () => file.sync(),
    onAppend(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    path,
    get lastSeq() {
      return head.seq;
    },
    get ackedSeq() {
      return acked;
    },
    get streamSeq() {
      return streamSeq;
    },
    close() {
      file.sync();
      cursor.writeNow();
      file.close();
    },
  };
}

/** `audit tail --follow` polls the file this often (a poll, not fs.watch: it works on every filesystem). */
export const AUDIT_FOLLOW_POLL_MS = 250;

/** Calls `onLine` for each complete line appended after `fromByte`, until the returned stop is called. */
export function followAuditFile(path: string, fromByte: number, onLine: (line: string) => void): () => void {
  let offset = fromByte;
  let partial = '';
  const poll = () => {
    if (!existsSync(path)) return;
    const size = statSync(path).size;
    if (size <= offset) return;
    const buffer = Buffer.alloc(size - offset);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, buffer, 0, buffer.length, offset);
    } finally {
      closeSync(fd);
    }
    offset = size;
    const parts = (partial + buffer.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) if (line.length > 0) onLine(line);
  };
  const timer = setInterval(poll, AUDIT_FOLLOW_POLL_MS);
  return () => clearInterval(timer);
}

/** The file's size now (0 when missing): where `--follow` starts. */
export function auditFileSize(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

// The audit trail's hash chain (issue 13 §1): every record carries `seq` (1, 2, 3… per chain),
// `prev` (the previous record's hash; GENESIS_HASH for seq 1) and `hash` = sha256(prev + the
// canonical JSON of the record without `hash`). Canonical JSON: keys sorted at every depth, no
// whitespace, as JSON.stringify writes values. Owns the record format, the stand-in a broker gets
// for a record over its size limit, and the verifier that names the first bad sequence number; pure
// (no I/O). Does not decide what is audited (the safety trail) nor where records go
// (src/adapters/audit-log.ts, src/adapters/audit-stream.ts).
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';

/** The `prev` of a chain's first record. */
export const GENESIS_HASH = '0'.repeat(64);

export interface ChainedRecord {
  readonly seq: number;
  readonly prev: string;
  readonly hash: string;
  readonly [field: string]: unknown;
}

/** sha256(prev + canonical JSON of the record without `hash`), hex. */
export function chainHash(record: Readonly<Record<string, unknown>>): string {
  const { hash: _ignored, ...rest } = record;
  return createHash('sha256').update(String(rest['prev'] ?? '') + canonicalJson(rest)).digest('hex');
}

/** The record as the next link after (`seq - 1`, `prev`); a `seq`, `prev` or `hash` it had is replaced. */
export function chainRecord(record: Readonly<Record<string, unknown>>, seq: number, prev: string): ChainedRecord {
  const plain = JSON.parse(canonicalJson({ ...record, seq, prev, hash: undefined })) as Record<string, unknown>;
  return { ...plain, seq, prev, hash: chainHash(plain) } as ChainedRecord;
}

/** The line written to the file and published to the stream (canonical, so re-encoding is stable). */
export function recordLine(record: ChainedRecord): string {
  return canonicalJson(record);
}

/** The field of a stand-in that says why the record's content is not there. */
export const WITHHELD_KEY = 'withheld';

/**
 * The broker's copy of a record it cannot take (over its max_payload): the record's `seq`, `prev` and
 * `hash`, and `withheld` = why. Its content is in the audit file only; the links around it still verify.
 */
export function withheldRecord(record: ChainedRecord, why: Readonly<Record<string, unknown>>): ChainedRecord {
  return { seq: record.seq, prev: record.prev, hash: record.hash, [WITHHELD_KEY]: why };
}

/** Whether a record is such a stand-in: exactly `seq`, `prev`, `hash` and an object `withheld`. */
export function isWithheld(record: Readonly<Record<string, unknown>>): boolean {
  const why = record[WITHHELD_KEY];
  return Object.keys(record).length === 4 && typeof why === 'object' && why !== null && 'seq' in record && 'prev' in record && 'hash' in record;
}

export type ChainProblemKind = 'unparsable' | 'edited' | 'gap' | 'out_of_order' | 'broken_link';

export interface ChainProblem {
  readonly kind: ChainProblemKind;
  /** The first bad sequence number: the record's own, or (a missing or unreadable record) the one expected. */
  readonly seq: number;
  /** 1-based position in the file or stream. */
  readonly position: number;
  readonly detail: string;
}

export interface ChainReport {
  readonly records: number;
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  readonly lastHash: string | null;
  /** Positions where a new chain starts (seq 1 after records: the file was started again, or a run without a file). */
  readonly restarts: ReadonlyArray<number>;
  /** Seqs of stand-ins whose content was withheld (a stream only; see withheldRecord). */
  readonly withheld: ReadonlyArray<number>;
  /** The first problem; null when the chain holds. */
  readonly problem: ChainProblem | null;
}

export interface ChainVerifier {
  /** One line (or an already parsed record); returns the problem it shows, if it is the first. */
  push(entry: string | Readonly<Record<string, unknown>>): ChainProblem | null;
  report(): ChainReport;
}

function isChained(value: unknown): value is ChainedRecord {
  const r = value as Record<string, unknown> | null;
  return r !== null && typeof r === 'object' && Number.isSafeInteger(r['seq']) && (r['seq'] as number) >= 1 && typeof r['prev'] === 'string' && typeof r['hash'] === 'string';
}

export interface ChainVerifierOptions {
  /**
   * Accept stand-ins (withheldRecord) instead of records: their hash is taken as given (the links
   * around them are still checked) and their seqs reported. For the broker's copy; never for the file.
   */
  readonly allowWithheld?: boolean;
}

/**
 * Checks records in order. A chain must start at seq 1 from GENESIS_HASH; each next record has
 * seq + 1 and `prev` = the previous hash, and its own hash must match its content (a stand-in's, when
 * allowed, cannot). A record with seq 1 and the genesis `prev` after others starts a new chain
 * (reported in `restarts`, not a fault).
 */
export function createChainVerifier(options: ChainVerifierOptions = {}): ChainVerifier {
  let position = 0;
  let records = 0;
  let firstSeq: number | null = null;
  let last: ChainedRecord | null = null;
  let problem: ChainProblem | null = null;
  const restarts: number[] = [];
  const withheld: number[] = [];
  const fail = (kind: ChainProblemKind, seq: number, detail: string): ChainProblem | null => {
    if (problem) return null;
    problem = { kind, seq, position, detail };
    return problem;
  };
  const check = (record: ChainedRecord): ChainProblem | null => {
    if (options.allowWithheld && isWithheld(record)) withheld.push(record.seq);
    else if (chainHash(record) !== record.hash) return fail('edited', record.seq, `record ${record.seq}: its hash does not match its content (edited)`);
    const expected = last ? last.seq + 1 : 1;
    if (record.seq === 1 && record.prev === GENESIS_HASH) {
      if (last) restarts.push(position);
      return null;
    }
    if (record.seq > expected) return fail('gap', expected, `records ${expected}${record.seq - 1 > expected ? `–${record.seq - 1}` : ''} missing before ${record.seq}`);
    if (record.seq < expected) return fail('out_of_order', record.seq, `record ${record.seq} after record ${expected - 1} (duplicate or out of order)`);
    if (record.prev !== (last?.hash ?? GENESIS_HASH)) return fail('broken_link', record.seq, `record ${record.seq}: prev does not match the hash of record ${expected - 1} (a record before it was replaced)`);
    return null;
  };
  return {
    push(entry) {
      position += 1;
      let parsed: unknown = entry;
      if (typeof entry === 'string') {
        try {
          parsed = JSON.parse(entry);
        } catch {
          parsed = undefined;
        }
      }
      if (!isChained(parsed)) return fail('unparsable', last ? last.seq + 1 : 1, `line ${position} is not a chained audit record`);
      const found = check(parsed);
      records += 1;
      firstSeq ??= parsed.seq;
      last = parsed;
      return found;
    },
    report: () => ({ records, firstSeq, lastSeq: last?.seq ?? null, lastHash: last?.hash ?? null, restarts, withheld, problem }),
  };
}

// Sends the audit trail to the broker (issue 13 §1): the log's unsent records, in seq order, one at a
// time, to a JetStream stream (AUDIT_STREAM_NAME on `device-connect.*.*.audit`, created when permitted)
// with `Nats-Msg-Id` = auditMsgId (a re-send is dropped as a duplicate), acknowledged in the log once
// the stream acked them (they wait in the file meanwhile). Without JetStream: core NATS, said once, the
// stream tried again with back-off (senderChoice) and what it missed sent to it first (catchUp). A
// record over the broker's size limit holds nothing back (oversizeGuard). Owns the publishing; the
// chain and file are audit-log.ts's. Read by `audit verify --stream` too (readAuditStreamOnce).
import { headers, type MsgHdrs, type NatsConnection } from '@nats-io/nats-core';
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { connectNats } from './nats-connect.ts';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { createLogger } from '../logging/logger.ts';
import { failureNotice } from '../logging/failure-notice.ts';
import { rateLimited, type RateLimitedLog } from '../logging/rate-limited.ts';
import { PayloadTooLarge } from '../media/encoding/frame-errors.ts';
import { recordLine, withheldRecord, type ChainedRecord } from '../protocol/audit-chain.ts';
import { AUDIT_CORE_RESEND_MAX_RECORDS, type AuditLog } from './audit-log.ts';

const log = createLogger('audit');

/**
 * The JetStream client library, loaded when the audit publisher first dials a stream rather than at
 * start-up (its modules took ~28 ms of a driver's start before the first answer; README
 * "Where the time goes: start-up"). Every JetStream error comes after this load.
 */
let jetStreamModule: typeof import('@nats-io/jetstream') | undefined;
async function jetStreamLibrary(): Promise<typeof import('@nats-io/jetstream')> {
  jetStreamModule ??= await import('@nats-io/jetstream');
  return jetStreamModule;
}

/** A JetStream API error (a code from the server), as the client library types it. */
function isJetStreamApiError(error: unknown): error is { readonly code: number } {
  return jetStreamModule !== undefined && error instanceof jetStreamModule.JetStreamApiError;
}

/** The stream the driver creates when none captures its audit subject (one per account, every device). */
export const AUDIT_STREAM_NAME = 'DC_AUDIT';
/** Every device's audit subject (`device-connect.<tenant>.<device_id>.audit`). */
export const AUDIT_STREAM_SUBJECTS = ['device-connect.*.*.audit'] as const;
/**
 * A PubAck or a JetStream API answer later than this is a failed attempt, retried with the same Msg-Id:
 * a local broker answers in milliseconds; 2 s covers a loaded 2-core box, and keeps a request lost in a
 * cluster failover (forwarded to a dying route) from holding the trail back for long.
 */
export const AUDIT_PUBLISH_TIMEOUT_MS = 2_000;
/** After a failed attempt (broker down, no ack) the publisher tries again after this pause. */
export const AUDIT_RETRY_MS = 500;
/**
 * `$JS.API.INFO` requests that time out in a row before the connection is taken to have no JetStream:
 * a broker (or cluster) without it may not answer at all instead of saying "no responders". Only that
 * request counts, and only until it has answered once on the connection: a stream that does not
 * answer (being created, electing its leader on a loaded cluster), or an API that falls silent later
 * (a meta leader lost with its node), is JetStream being slow, and the records wait in the file for it
 * instead of going to core NATS, where the stream would never get them.
 */
export const AUDIT_JS_PROBE_ATTEMPTS = 2;
/**
 * On core NATS, the first try of the stream again comes this long after falling back, each later one
 * twice as long after the one before, up to AUDIT_JS_REPROBE_MS. A cluster whose JetStream has no
 * meta leader yet (all nodes starting together) answers no one for a few seconds: the driver is on
 * the stream again within about as long, instead of sending the trail to core for 30 s.
 */
export const AUDIT_JS_REPROBE_FIRST_MS = 1_000;
/**
 * The longest pause between tries of the stream while on core (on the same connection, which nats.js
 * keeps across reconnects): a broker restarted with JetStream, or a failover to a node that has it,
 * says "enabled" from then on (a reconnect also brings the next try forward to at once). A try is one
 * request, or one timeout, every 30 s at most.
 */
export const AUDIT_JS_REPROBE_MS = 30_000;
/** Records taken from the outbox per round (one fsync covers them). */
export const AUDIT_BATCH_RECORDS = 256;
/** JetStream API error code: the account may not use this API (permissions), per the server's codes. */
const JS_NOT_ENABLED_FOR_ACCOUNT = 10039;
/**
 * Copies of DC_AUDIT the driver asks for on a cluster: an R1 stream lives on one node and the trail
 * stops (and its stored records are out of reach) when that node dies; 3 keeps it writable with one
 * node down (a raft quorum of 2) and is JetStream's usual maximum for a replicated stream.
 */
export const AUDIT_STREAM_MAX_REPLICAS = 3;
/** JetStream API error codes for "not that many replicas here": no suitable peers, insufficient resources, not clustered. */
const JS_REPLICAS_REFUSED = new Set([10005, 10023, 10074]);

/**
 * A record over the broker's size limit is warned about at once, then at most once per this interval
 * (with the count suppressed): a caller flooding oversized records cannot flood the log, and a
 * broker configured too small stays visible in any log window.
 */
export const AUDIT_OVERSIZE_WARNING_INTERVAL_MS = 60_000;

export type AuditDelivery = 'jetstream' | 'core' | 'waiting';

export interface AuditPublisherOptions {
  readonly log: AuditLog;
  /** The mesh's current connection (undefined while none). */
  readonly connection: () => NatsConnection | undefined;
  /** This device's audit subject. */
  readonly subject: () => string;
  readonly deviceId: () => string;
  /** The stream to publish to (created when absent and permitted); null: core publish only. */
  readonly stream?: string | null;
  /** AUDIT_JS_REPROBE_FIRST_MS (tests change it). */
  readonly jsReprobeFirstMs?: number;
  /** AUDIT_JS_REPROBE_MS (tests shorten it). */
  readonly jsReprobeMs?: number;
  /** AUDIT_PUBLISH_TIMEOUT_MS, the wait for a PubAck or a JetStream API answer (tests of a silent API shorten it). */
  readonly jsTimeoutMs?: number;
}

export interface AuditPublisher {
  /** How records leave now: acknowledged by a stream, flushed on core NATS, or waiting for a connection. */
  readonly delivery: AuditDelivery;
  /** Resolves true once every record appended before the call is delivered; false after `timeoutMs`. */
  drained(timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

/** The Msg-Id of a record: stable for the record, distinct across chains that reuse a seq. */
export function auditMsgId(deviceId: string, record: ChainedRecord): string {
  return `${deviceId}-${record.seq}-${record.hash.slice(0, 16)}`;
}

type Sender = { readonly kind: 'jetstream' | 'core'; send(batch: ReadonlyArray<ChainedRecord>, ack: (seq: number) => void): Promise<void> };

/** The smallest size limit a message meets on its way: the connection's max_payload, or a stream's max_msg_size. */
interface SizeLimit {
  readonly bytes: number;
  readonly name: 'max_payload' | 'max_msg_size';
  /** What to change to let a message of `needed` bytes through. */
  fix(needed: number): string;
}

/** The broker's max_payload as this connection negotiated it (undefined before its INFO). */
function maxPayloadOf(nc: NatsConnection): SizeLimit | undefined {
  const bytes = nc.info?.max_payload;
  return bytes === undefined ? undefined : { bytes, name: 'max_payload', fix: (needed) => `raise max_payload on the broker (nats-server \`max_payload\`) to at least ${needed} bytes` };
}

/** The body a record is published with, given the limit: the record, its stand-in, or null (not even that fits). */
interface Outgoing {
  readonly line: string | null;
  readonly tooLarge: PayloadTooLarge | null;
}

/** The header block a record is published with: its de-duplication id (JetStream builds the same from `msgID`). */
function msgIdHeaders(msgId: string): MsgHdrs {
  const h = headers();
  h.set('Nats-Msg-Id', msgId);
  return h;
}

/** Bytes of that header block (nats-core counts headers against max_payload; its text is what it sends). */
function headerBytes(msgId: string): number {
  return Buffer.byteLength(msgIdHeaders(msgId).toString(), 'utf8');
}

/** What goes to the broker for `record` under `limit` (the record's own line when there is no limit yet). */
function outgoing(record: ChainedRecord, msgId: string, limit: SizeLimit | undefined): Outgoing {
  const line = recordLine(record);
  if (limit === undefined) return { line, tooLarge: null };
  const overhead = headerBytes(msgId);
  const bytes = Buffer.byteLength(line, 'utf8') + overhead;
  if (bytes <= limit.bytes) return { line, tooLarge: null };
  const tooLarge = new PayloadTooLarge({ message: `audit record ${record.seq} is ${bytes} bytes with its headers, over the ${limit.name} of ${limit.bytes} bytes`, rpcJsonBytes: bytes, maxPayloadBytes: limit.bytes });
  const standIn = recordLine(withheldRecord(record, { reason: `over_${limit.name}`, bytes, limit: limit.bytes }));
  return { line: Buffer.byteLength(standIn, 'utf8') + overhead <= limit.bytes ? standIn : null, tooLarge };
}

/** The body to publish for a record (null: nothing), saying so (rate-limited, with cause and fix) when it is over the limit. */
type Fit = (record: ChainedRecord, msgId: string, limit: SizeLimit | undefined) => string | null;

/**
 * A record over the broker's max_payload (or the stream's max_msg_size) holds nothing back: a
 * PayloadTooLarge, warned about (rate-limited); the broker gets its stand-in (seq, prev, hash,
 * `withheld`: audit-chain.ts), or nothing when even that is too big; the local file keeps it whole.
 */
function oversizeGuard(warn: RateLimitedLog): Fit {
  return (record, msgId, limit) => {
    const out = outgoing(record, msgId, limit);
    if (!out.tooLarge || !limit) return out.line;
    const sent = out.line === null ? 'nothing of it goes to the broker (its stream shows a gap at this seq)' : 'the broker gets its stand-in (seq, prev, hash, withheld)';
    warn(`audit record over the broker's ${limit.name}: ${sent}; the local audit file keeps it whole, and later records are not held back`, {
      seq: record.seq,
      bytes: out.tooLarge.rpcJsonBytes,
      limit: limit.bytes,
      error_tag: out.tooLarge._tag,
      cause: out.tooLarge.message,
      fix: limit.fix(out.tooLarge.rpcJsonBytes),
    });
    return out.line;
  };
}

/** The client's error for "no JetStream answered" (its class is not exported; its name is stable). */
function isJetStreamNotEnabled(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'JetStreamNotEnabled';
}

/** "This connection cannot use JetStream here" (not a transient failure): not enabled, not for this account, or not permitted (the client may wrap the permission error in its `cause`). */
function isPermanentRefusal(error: unknown): boolean {
  for (let e = error as { name?: unknown; cause?: unknown } | null | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth += 1) {
    if (isJetStreamNotEnabled(e) || e.name === 'PermissionViolationError' || e.name === 'StreamMissesSubject') return true;
    if (isJetStreamApiError(e) && e.code === JS_NOT_ENABLED_FOR_ACCOUNT) return true;
  }
  return false;
}

/** Whether a NATS subject filter (`*` one token, `>` the rest) matches the subject. */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const t = subject.split('.');
  for (let i = 0; i < f.length; i += 1) {
    if (f[i] === '>') return t.length > i;
    if (i >= t.length || (f[i] !== '*' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

/** A stream that exists but does not capture the audit subject (someone else's configuration). */
class StreamMissesSubject extends Error {
  override readonly name = 'StreamMissesSubject';
}

/** What the connection's server INFO says about the broker: its cluster name and every node's client URL. */
export interface ClusterView {
  readonly cluster?: string;
  readonly connect_urls?: ReadonlyArray<string>;
}

/**
 * Replicas for a DC_AUDIT the driver creates: 1 on a single server (no `cluster` in its INFO), else
 * min(AUDIT_STREAM_MAX_REPLICAS, nodes the server advertises in `connect_urls`, which lists its own
 * client URL and those of the nodes routed to it; an upper bound, createStream steps down if refused).
 * A cluster that hides its URLs (`no_advertise`) gets 1.
 */
export function auditStreamReplicas(info: ClusterView | undefined): number {
  if (!info?.cluster) return 1;
  const nodes = new Set(info.connect_urls ?? []).size;
  return Math.max(1, Math.min(AUDIT_STREAM_MAX_REPLICAS, nodes));
}

/**
 * Creates the stream with `replicas` copies, one fewer each time the cluster refuses that many (the
 * hint counts URLs, and a node may advertise several, or run without JetStream); fewer than asked is said once, with the fix.
 */
async function createStream(jsm: JetStreamManager, name: string, replicas: number): Promise<void> {
  const config = { name, subjects: [...AUDIT_STREAM_SUBJECTS] };
  for (let copies = replicas; ; copies -= 1) {
    try {
      await jsm.streams.add({ ...config, num_replicas: copies });
      if (copies < replicas) log.warn(`audit stream created with ${copies} replica(s), not ${replicas}: the cluster refused more`, { stream: name, fix: `enable JetStream on at least ${replicas} cluster nodes, or create ${name} yourself with the replicas you want` });
      log.info('audit stream created', { stream: name, subjects: AUDIT_STREAM_SUBJECTS.join(','), replicas: copies });
      return;
    } catch (error) {
      if (copies === 1 || !isJetStreamApiError(error) || !JS_REPLICAS_REFUSED.has(error.code)) throw error;
    }
  }
}

/**
 * The stream exists and captures `subject` (or is created now, replicated per `replicas`); its
 * max_msg_size (-1: none, as the driver creates it). Throws what the server said otherwise.
 */
async function ensureStream(jsm: JetStreamManager, name: string, subject: string, replicas: number): Promise<number> {
  try {
    const info = await jsm.streams.info(name);
    const subjects = info.config.subjects ?? [];
    if (!subjects.some((filter) => subjectMatches(filter, subject))) throw new StreamMissesSubject(`stream ${name} exists but captures ${subjects.join(', ') || 'no subjects'}, not ${subject}`);
    return info.config.max_msg_size ?? -1;
  } catch (error) {
    if (!isJetStreamApiError(error) || error.code !== 10059) throw error;
    await createStream(jsm, name, replicas);
    return -1;
  }
}

function coreSender(nc: NatsConnection, options: AuditPublisherOptions, fit: Fit): Sender {
  return {
    kind: 'core',
    async send(batch, ack) {
      // Handed to the client, which keeps what it could not write yet across its reconnects (its
      // reconnect buffer) and sends it once connected again; nothing on the broker acknowledges core
      // messages, so re-sending here would only duplicate them.
      for (const record of batch) {
        const msgId = auditMsgId(options.deviceId(), record);
        const line = fit(record, msgId, maxPayloadOf(nc));
        if (line === null) continue;
        nc.publish(options.subject(), line, { headers: msgIdHeaders(msgId) });
      }
      ack(batch.at(-1)!.seq);
    },
  };
}

/** Races work against the connection's next reconnect (reconnectWatch). */
export interface ReconnectWatch {
  /**
   * `work`'s outcome, or a rejection at the connection's next reconnect if that comes first: a
   * request sent into the dead socket is never answered, so it is sent again at once instead of
   * after its timeout.
   */
  race<T>(work: Promise<T>): Promise<T>;
  /** Races still waiting (tests: a settled race leaves nothing behind). */
  waiting(): number;
  /** Reconnects of the connection seen since the watch began. */
  readonly reconnects: number;
}

/**
 * One status iterator per connection (it ends when the connection closes) and the races waiting on
 * it. Each race registers a listener and removes it once settled: a `Promise.race` against one
 * long-lived "next reconnect" promise instead left a reaction on it per call, kept until the next
 * reconnect — a few hundred bytes per audit record for as long as the connection held (issue 11).
 */
const watches = new WeakMap<NatsConnection, ReconnectWatch>();

export function reconnectWatch(nc: NatsConnection): ReconnectWatch {
  const known = watches.get(nc);
  if (known) return known;
  const listeners = new Set<(error: Error) => void>();
  let reconnects = 0;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type !== 'reconnect') continue;
      reconnects += 1;
      const lost = new Error('reconnected: the ack of the request in flight is lost');
      for (const listener of [...listeners]) listener(lost);
    }
  })().catch(() => undefined);
  const watch: ReconnectWatch = {
    race: <T>(work: Promise<T>) =>
      new Promise<T>((resolve, reject) => {
        const onReconnect = (error: Error) => {
          listeners.delete(onReconnect);
          reject(error);
        };
        listeners.add(onReconnect);
        work.then(
          (value) => (listeners.delete(onReconnect), resolve(value)),
          (error: unknown) => (listeners.delete(onReconnect), reject(error)),
        );
      }),
    waiting: () => listeners.size,
    get reconnects() {
      return reconnects;
    },
  };
  watches.set(nc, watch);
  return watch;
}

/** The tighter of the connection's max_payload and the stream's max_msg_size (-1 or 0: none). */
function jetStreamLimit(nc: NatsConnection, stream: string, maxMsgSize: number): SizeLimit | undefined {
  const payload = maxPayloadOf(nc);
  if (maxMsgSize <= 0 || (payload && payload.bytes <= maxMsgSize)) return payload;
  return { bytes: maxMsgSize, name: 'max_msg_size', fix: (needed) => `raise max_msg_size of the stream ${stream} to at least ${needed} bytes` };
}

function jetStreamSender(nc: NatsConnection, js: JetStreamClient, options: AuditPublisherOptions, fit: Fit, stream: { name: string; maxMsgSize: number }): Sender {
  const reconnect = reconnectWatch(nc);
  return {
    kind: 'jetstream',
    async send(batch, ack) {
      // One at a time: a later record never lands before an earlier one whose ack was lost.
      for (const record of batch) {
        const msgID = auditMsgId(options.deviceId(), record);
        const line = fit(record, msgID, jetStreamLimit(nc, stream.name, stream.maxMsgSize));
        if (line !== null) await reconnect.race(js.publish(options.subject(), line, { msgID, timeout: options.jsTimeoutMs ?? AUDIT_PUBLISH_TIMEOUT_MS }));
        ack(record.seq);
      }
    },
  };
}

/** The stream's last record on the subject (null: none, or not ours to read: no permission, not a record); throws what is transient. */
async function lastStored(jsm: JetStreamManager, stream: string, subject: string): Promise<ChainedRecord | null> {
  try {
    const stored = await jsm.streams.getMessage(stream, { last_by_subj: subject });
    const record = stored?.json() as Partial<ChainedRecord> | undefined;
    return typeof record?.seq === 'number' && typeof record.hash === 'string' ? (record as ChainedRecord) : null;
  } catch (error) {
    if (error instanceof SyntaxError || isPermanentRefusal(error)) return null;
    throw error;
  }
}

/**
 * Where the stream's copy goes on, asked of the stream each time the publisher turns to it: after its
 * last record on the subject when that is this chain's (it captured records published on core NATS —
 * it existed while its API was slow —, or a crash lost the cursor write), else after the last one it
 * acknowledged. Records after that point that went to core NATS only are sent again, in order, before
 * any newer one (same Msg-Id: a copy it already has is dropped as a duplicate within its window).
 * Before 2026-12-06 they never reached the stream: its chain had a hole.
 */
async function catchUp(jsm: JetStreamManager, stream: string, options: AuditPublisherOptions): Promise<void> {
  const audit = options.log;
  if (audit.streamSeq === audit.lastSeq) return;
  const held = await lastStored(jsm, stream, options.subject());
  const ours = held !== null && held.seq > audit.streamSeq && audit.recordAt(held.seq)?.hash === held.hash;
  const after = ours ? held.seq : audit.streamSeq;
  if (after >= audit.ackedSeq) return audit.acknowledge(after, 'stream');
  const coreOnly = audit.ackedSeq - after;
  const from = audit.resendAfter(after);
  if (from > after) log.warn(`audit records sent on core NATS only are lost for the stream: no audit file, and only the newest ${AUDIT_CORE_RESEND_MAX_RECORDS} are kept in memory; its copy has a gap there`, { stream, missing_seqs: `${after + 1}-${from}`, records: from - after, fix: 'run the driver with an audit file (--audit-log FILE)' });
  if (coreOnly > from - after) log.info('audit records sent on core NATS only go to the stream now, in order, before newer ones', { stream, first_seq: from + 1, records: coreOnly - (from - after) });
}

/** A connection's sender; on core, when the stream is tried again (`pauseMs` after the try before, or at once after a reconnect). */
interface Chosen {
  readonly nc: NatsConnection;
  readonly sender: Sender;
  readonly retry?: Retry;
}
interface Retry {
  readonly at: number;
  readonly pauseMs: number;
  readonly reconnects: number;
}

/**
 * Which sender a connection gets: the JetStream stream (created when missing; what it holds skipped,
 * what it missed while on core NATS sent again first: catchUp), or core NATS when JetStream is refused for good or `$JS.API.INFO` did not answer
 * AUDIT_JS_PROBE_ATTEMPTS times in a row — said once, with the fix. On core the stream is tried
 * again with back-off (AUDIT_JS_REPROBE_FIRST_MS doubling to AUDIT_JS_REPROBE_MS) and at once after a
 * reconnect; its return is said once too.
 */
function senderChoice(stream: string | null, options: AuditPublisherOptions, fit: Fit) {
  const maxPauseMs = options.jsReprobeMs ?? AUDIT_JS_REPROBE_MS;
  const firstPauseMs = Math.min(options.jsReprobeFirstMs ?? AUDIT_JS_REPROBE_FIRST_MS, maxPauseMs);
  let chosen: Chosen | undefined;
  let fellBack = false;
  let apiSilences = { nc: undefined as NatsConnection | undefined, count: 0 };
  /** The connection whose JetStream API has answered (from then on its silence is transient). */
  let apiAnsweredOn: NatsConnection | undefined;
  const fallBack = (why: string, error?: unknown) => {
    const name = stream ?? AUDIT_STREAM_NAME;
    if (!fellBack) log.warn('audit records go to core NATS (no stream: no persistence, no de-duplication on the broker)', { why, ...(error ? { error: error as Error } : {}), fix: `enable JetStream on the broker (and for this account), and allow this user to publish on $JS.API.INFO, $JS.API.STREAM.INFO.${name}, $JS.API.STREAM.MSG.GET.${name} and, unless you create the stream yourself, $JS.API.STREAM.CREATE.${name}` });
    fellBack = true;
  };
  /** The stream's sender, or core's (JetStream refused, or its API did not answer AUDIT_JS_PROBE_ATTEMPTS times); throws what is transient. */
  const onStream = async (nc: NatsConnection, name: string): Promise<Sender> => {
    try {
      const { jetstream, jetstreamManager } = await jetStreamLibrary();
      const timeout = options.jsTimeoutMs ?? AUDIT_PUBLISH_TIMEOUT_MS;
      const jsm = await jetstreamManager(nc, { timeout });
      apiAnsweredOn = nc;
      const maxMsgSize = await ensureStream(jsm, name, options.subject(), auditStreamReplicas(nc.info));
      await catchUp(jsm, name, options);
      const sender = jetStreamSender(nc, jetstream(nc, { timeout }), options, fit, { name, maxMsgSize });
      if (fellBack) log.info('audit records go to the JetStream stream again', { stream: name });
      fellBack = false;
      return sender;
    } catch (error) {
      if (apiSilences.nc !== nc) apiSilences = { nc, count: 0 };
      // Silence once the API has answered here (before 2026-12-06 it counted too) is transient: thrown, the records wait.
      const silent = apiAnsweredOn !== nc && (error as { name?: unknown }).name === 'TimeoutError' && ++apiSilences.count >= AUDIT_JS_PROBE_ATTEMPTS;
      if (!isPermanentRefusal(error) && !silent) throw error;
      fallBack(silent ? `JetStream did not answer ${AUDIT_JS_PROBE_ATTEMPTS} times in a row` : 'JetStream is not available to this connection', error);
      return coreSender(nc, options, fit);
    }
  };
  /** The next try of the stream for a connection (just) put on core: the pause doubled while it stays there, the first again after a reconnect. */
  const retryAfter = (nc: NatsConnection, before: Chosen | undefined): Retry => {
    const reconnects = reconnectWatch(nc).reconnects;
    const stayed = before?.nc === nc && before.retry !== undefined && before.retry.reconnects === reconnects;
    const pauseMs = stayed ? Math.min(before.retry!.pauseMs * 2, maxPauseMs) : firstPauseMs;
    return { at: Date.now() + pauseMs, pauseMs, reconnects };
  };
  const retryDue = (nc: NatsConnection): boolean => chosen?.nc === nc && chosen.retry !== undefined && (Date.now() >= chosen.retry.at || reconnectWatch(nc).reconnects !== chosen.retry.reconnects);
  return {
    async senderFor(nc: NatsConnection): Promise<Sender> {
      if (chosen?.nc === nc && !retryDue(nc)) return chosen.sender;
      if (stream === null) {
        fallBack('no stream configured');
        chosen = { nc, sender: coreSender(nc, options, fit) };
        return chosen.sender;
      }
      const sender = await onStream(nc, stream);
      // Core, refused or unanswered: tried again later (before 2026-12-06 every 30 s only, whatever
      // had happened: a cluster slow at start-up kept the trail on core NATS for that long).
      chosen = { nc, sender, ...(sender.kind === 'core' ? { retry: retryAfter(nc, chosen) } : {}) };
      return sender;
    },
    /** Whether `nc` is on core and the stream is to be tried again now. */
    retryDue,
    /** How long until the stream is tried again on `nc`; undefined unless `nc` is on core with a retry. */
    retryIn(nc: NatsConnection): number | undefined {
      return chosen?.nc === nc && chosen.retry !== undefined ? Math.max(0, chosen.retry.at - Date.now()) : undefined;
    },
    /** Choose again at the next round (a stream that vanished, a JetStream answering no one). */
    forget() {
      chosen = undefined;
    },
    /** The sender in use on this connection, if one was chosen for it. */
    kindOn(nc: NatsConnection | undefined): Sender['kind'] | 'waiting' {
      return chosen && nc === chosen.nc ? chosen.sender.kind : 'waiting';
    },
  };
}

/** On core with nothing to send, the stream tried again when due (so `delivery` says where the next record goes); false while that fails. */
async function retryWhileIdle(choice: ReturnType<typeof senderChoice>, nc: NatsConnection | undefined): Promise<boolean> {
  if (nc === undefined || nc.isClosed() || !choice.retryDue(nc)) return true;
  try {
    await reconnectWatch(nc).race(choice.senderFor(nc));
    return true;
  } catch (error) {
    if (isJetStreamNotEnabled(error) || isJetStreamApiError(error)) choice.forget();
    log.debug('audit stream tried again: not answering yet', { error: error as Error });
    return false;
  }
}

export function startAuditPublisher(options: AuditPublisherOptions): AuditPublisher {
  const fit = oversizeGuard(rateLimited(log, 'warn', AUDIT_OVERSIZE_WARNING_INTERVAL_MS));
  const choice = senderChoice(options.stream === undefined ? AUDIT_STREAM_NAME : options.stream, options, fit);
  const notice = failureNotice(log);
  let stopped = false;
  let wake: (() => void) | undefined;
  const waiters = new Set<{ seq: number; resolve: (ok: boolean) => void }>();
  const unsubscribe = options.log.onAppend(() => wake?.());
  const pause = (ms?: number) =>
    new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => resolve(), ms).unref();
      wake = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
    });
  const settleWaiters = () => {
    for (const w of waiters) if (options.log.ackedSeq >= w.seq) (waiters.delete(w), w.resolve(true));
  };
  const round = async (): Promise<boolean> => {
    if (options.log.unsent(1).length === 0) return retryWhileIdle(choice, options.connection());
    const nc = options.connection();
    if (!nc || nc.isClosed()) return false;
    try {
      // A reconnect ends the attempt at once: what was in flight went into the dead socket.
      const reconnect = reconnectWatch(nc);
      const sender = await reconnect.race(choice.senderFor(nc));
      // Taken after the choice: turning to the stream puts the records it missed ahead (catchUp), or skips what it holds.
      const batch = options.log.unsent(AUDIT_BATCH_RECORDS);
      if (batch.length === 0) return true;
      options.log.sync();
      await reconnect.race(sender.send(batch, (seq) => options.log.acknowledge(seq, sender.kind === 'jetstream' ? 'stream' : 'core')));
      notice.recovered('audit records reach the broker again', { acked_seq: options.log.ackedSeq });
      return true;
    } catch (error) {
      // A stream that vanished or a JetStream answering no one (restarting): choose again next round.
      if (isJetStreamNotEnabled(error) || isJetStreamApiError(error)) choice.forget();
      notice.failed(String((error as Error).name ?? 'error'), 'audit records wait in the local file until the broker takes them', { unsent: options.log.lastSeq - options.log.ackedSeq, error: error as Error });
      return false;
    } finally {
      settleWaiters();
    }
  };
  // Until a record comes; on core, at most until the stream's next try or the connection's reconnect.
  const idle = (nc = options.connection(), retryIn = nc && choice.retryIn(nc)) =>
    nc && retryIn !== undefined ? reconnectWatch(nc).race(pause(retryIn)).catch(() => wake?.()) : pause();
  const loop = (async () => {
    while (!stopped) {
      const ok = await round();
      if (stopped) break;
      if (!ok) await pause(AUDIT_RETRY_MS);
      else if (options.log.unsent(1).length === 0) await idle();
    }
  })();

  return {
    get delivery() {
      return choice.kindOn(options.connection());
    },
    drained(timeoutMs) {
      const seq = options.log.lastSeq;
      if (options.log.ackedSeq >= seq) return Promise.resolve(true);
      return new Promise((resolve) => {
        const w = { seq, resolve: (ok: boolean) => (clearTimeout(timer), resolve(ok)) };
        const timer = setTimeout(() => (waiters.delete(w), resolve(false)), timeoutMs);
        waiters.add(w);
        wake?.();
      });
    },
    async stop() {
      stopped = true;
      unsubscribe();
      wake?.();
      // A send in flight to a dead broker ends at its timeout; stop does not wait for it (its record stays unsent in the file).
      await Promise.race([loop, new Promise((resolve) => setTimeout(resolve, AUDIT_RETRY_MS).unref())]);
      for (const w of waiters) w.resolve(false);
      waiters.clear();
    },
  };
}

/** A JetStream read of one subject took longer than this: the broker is too slow or the stream too large to check here. */
export const AUDIT_STREAM_READ_TIMEOUT_MS = 30_000;

export interface StreamRead {
  /** The message bodies on the subject, in stream order. */
  readonly lines: ReadonlyArray<string>;
  /** Whether the stream reported exactly this many messages on the subject. */
  readonly expected: number;
}

/**
 * Every message of `subject` in `stream`, oldest first (an ordered consumer, deleted when done).
 * Throws what the client says when the stream or JetStream is not there.
 */
export async function readAuditStream(nc: NatsConnection, subject: string, stream: string = AUDIT_STREAM_NAME): Promise<StreamRead> {
  const { jetstream, jetstreamManager } = await jetStreamLibrary();
  const jsm = await jetstreamManager(nc, { timeout: AUDIT_PUBLISH_TIMEOUT_MS });
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  const expected = info.state.subjects?.[subject] ?? 0;
  const lines: string[] = [];
  if (expected === 0) return { lines, expected };
  const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: subject });
  const messages = await consumer.consume();
  const timer = setTimeout(() => void messages.stop(), AUDIT_STREAM_READ_TIMEOUT_MS);
  try {
    for await (const m of messages) {
      lines.push(m.string());
      if (lines.length >= expected) break;
    }
  } finally {
    clearTimeout(timer);
    await messages.close().catch(() => undefined);
  }
  return { lines, expected };
}

/** `audit verify --stream`: one connection (no reconnect), the subject's records read, closed. */
export async function readAuditStreamOnce(options: NodeConnectionOptions, subject: string, stream: string = AUDIT_STREAM_NAME): Promise<StreamRead> {
  const nc = await connectNats({ ...options, reconnect: false });
  try {
    return await readAuditStream(nc, subject, stream);
  } finally {
    await nc.close();
  }
}

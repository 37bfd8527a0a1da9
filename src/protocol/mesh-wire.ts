// The three ways a call reaches the device over the mesh, as wire formats: `.cmd` JSON-RPC
// (device-connect-protocol.md §2.1–2.3), `.svc.<fn>` micro-service bodies (ecosystem.md §3.3) and
// `.broadcast` envelopes answered on `.event.async_reply.<correlation_id>` (§2.11; a signed call's
// claim covers the envelope's targets, where, fire_at and on_late; a signed one not run here for its
// addressing is handed on as `elsewhere`, for its signature to be remembered). A stop is never held
// back by its envelope or a request the wire would refuse (stop-only-calls.ts `stopDespite`): it runs,
// what it could not take named in `ignored_params`. Owns decoding each into one MeshCall and encoding
// each reply. Pure: no NATS, no dispatch, no size policy (actors/mesh-entry.ts).
import { InvalidRequest, toJsonRpcError, Unsupported, type RpcFailure } from '../errors.ts';
import { ignoredParamsOf, type IgnoredParam } from './ignored-param.ts';
import { isStop, mentionsStop, stopDespite } from '../safety/stop-only-calls.ts';
import { callerMeta, decodeRequest, dropped, encodeError, encodeResult, MAX_REQUEST_BYTES, NON_FINITE_READ_AS_NULL, parseJsonBody, readDespiteNonFinite, type CallerMeta, type Delivery, type RequestId } from './json-rpc.ts';
import { resultJson } from './result-json.ts';
import { subjects } from './subjects.ts';
import { isRecord } from './json-object.ts';
import type { BroadcastEnvelope } from './caller-signature.ts';

/** Longest broadcast body handled; broadcasts carry a function name and small params. */
export const MAX_BROADCAST_BYTES = 64 * 1024;
/** Correlation ids become a subject token: Python's are `br-<12 hex>`; anything else is not ours. */
const CORRELATION_ID = /^[A-Za-z0-9_-]{1,128}$/;

export type MeshPath = 'cmd' | 'svc' | 'broadcast';

export interface MeshCall {
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly caller: CallerMeta;
}

/** `ref` is what the reply needs to echo (a JSON-RPC id, an endpoint name, a correlation id). */
export type MeshDecoded<R> =
  | { readonly kind: 'call'; readonly ref: R; readonly call: MeshCall }
  /** Run through the gate and never answered (a JSON-RPC notification: §2.1). */
  | { readonly kind: 'unanswered'; readonly call: MeshCall }
  /** Answered with `error` without reaching the gate. */
  | { readonly kind: 'reject'; readonly ref: R; readonly error: RpcFailure; readonly method?: string }
  /**
   * Neither run nor answered (a broadcast for someone else, an unusable envelope or notification).
   * `elsewhere`: a signed broadcast not run here for its addressing — for the caller check to
   * remember its (key, correlation id), so a copy re-addressed here is a replay (defence in depth).
   */
  | { readonly kind: 'ignore'; readonly elsewhere?: MeshCall };

export interface WireReply {
  readonly body: string;
  /** Published on this subject instead of the request's reply inbox (broadcast async replies). */
  readonly subject?: string;
  /** Micro-service error headers (`Nats-Service-Error-Code`, `Nats-Service-Error`) on `.svc`. */
  readonly serviceError?: { readonly code: number; readonly description: string };
  /** `_tag` of the error the reply carries; undefined for a result. */
  readonly errorTag?: string;
}

/** Where a reply goes: the transport side of one request (adapters implement it). */
export interface ReplySink {
  /** The broker's negotiated max_payload in bytes; undefined before the server's INFO. */
  maxPayload(): number | undefined;
  /** Bytes the reply occupies on the wire (body plus any headers) when that is over `limit`; null when it fits. */
  bytesOver(reply: WireReply, limit: number): number | null;
  /** Sends the reply. May throw; the caller (actors/mesh-entry.ts) catches and counts. */
  send(reply: WireReply): void;
}

export interface MeshWire<R> {
  readonly path: MeshPath;
  decode(bytes: Uint8Array): MeshDecoded<R>;
  result(ref: R, method: string, result: unknown): WireReply;
  error(ref: R, error: RpcFailure, method?: string): WireReply;
}

/** Named params without `_dc_meta`, and the caller it asserted. */
function splitMeta(params: Record<string, unknown>, wireRequestId: string | null = null): { params: Record<string, unknown>; caller: CallerMeta } {
  const { _dc_meta: meta, ...named } = params;
  return { params: named, caller: callerMeta(meta, wireRequestId) };
}

/**
 * `.cmd` (and `.supervisor`): JSON-RPC 2.0 requests; notifications are run as the gate decides
 * (stops only), never answered. An invalid request is answered with its error, but for a stop: it
 * runs as far as it could be read (src/safety/stop-only-calls.ts stopDespite), answered with its id
 * (null when that is unreadable; none for a notification). A body over the size limit is read only
 * when it names a stop.
 */
export const cmdWire: MeshWire<RequestId | null> = {
  path: 'cmd',
  decode(bytes) {
    const decoded = decodeRequest(bytes, bytes.byteLength > MAX_REQUEST_BYTES && mentionsStop(bytes));
    if (decoded.kind === 'unusable') return { kind: 'ignore' };
    if (decoded.kind === 'notification') {
      const { method, params, caller, ignored } = decoded;
      return { kind: 'unanswered', call: (ignored && stopDespite(method, [ignored], params, caller)) || { method, params, caller } };
    }
    if (decoded.kind === 'invalid') {
      const read = decoded.readable;
      const stop = read && stopDespite(read.method, read.ignored, read.params, read.caller);
      if (!stop) return { kind: 'reject', ref: decoded.id, error: decoded.error };
      return read.notification ? { kind: 'unanswered', call: stop } : { kind: 'call', ref: read.id, call: stop };
    }
    return { kind: 'call', ref: decoded.id, call: { method: decoded.method, params: decoded.params, caller: decoded.caller } };
  },
  result: (id, _method, result) => ({ body: encodeResult(id, result) }),
  error: (id, error, method) => ({ body: encodeError(id, error, method), errorTag: error._tag }),
};

/**
 * `.svc.<method>`: the body is the params object (empty body = no params). A body that is not one
 * (over the size limit, not JSON, not an object) is refused, but for a stop: it runs with the body
 * read as no params (NaN/Infinity read as null), the body named in its `ignored_params`.
 */
export function svcWire(method: string): MeshWire<string> {
  const refusedUnlessStop = (error: RpcFailure, ignored: IgnoredParam, doc: Record<string, unknown>): MeshDecoded<string> => {
    const { params, caller } = splitMeta(doc);
    const stop = stopDespite(method, [ignored], params, caller);
    return stop ? { kind: 'call', ref: method, call: stop } : { kind: 'reject', ref: method, method, error };
  };
  return {
    path: 'svc',
    decode(bytes) {
      if (bytes.byteLength > MAX_REQUEST_BYTES) {
        const error = new InvalidRequest({ message: `the body is ${bytes.byteLength} bytes; the limit is ${MAX_REQUEST_BYTES}` });
        return refusedUnlessStop(error, dropped('body', `is ${bytes.byteLength} bytes, over the limit of ${MAX_REQUEST_BYTES}: read as no params`), {});
      }
      if (bytes.byteLength === 0) return { kind: 'call', ref: method, call: { method, params: {}, caller: callerMeta(undefined) } };
      const parsed = parseJsonBody(bytes, 'the body');
      if (!parsed.ok) {
        const withNulls = parsed.withNullsForNonFinite;
        const problem = withNulls === undefined ? 'is not valid UTF-8 JSON: read as no params' : NON_FINITE_READ_AS_NULL;
        return refusedUnlessStop(parsed.error, dropped('body', problem), isRecord(withNulls) ? withNulls : {});
      }
      if (!isRecord(parsed.doc)) {
        const error = new InvalidRequest({ message: 'the body must be a JSON object of named parameters' });
        return refusedUnlessStop(error, dropped('body', 'must be a JSON object of named parameters: read as no params'), {});
      }
      return { kind: 'call', ref: method, call: { method, ...splitMeta(parsed.doc) } };
    },
    result: (_ref, _method, result) => ({ body: resultJson(result) }),
    error(_ref, error, fn) {
      const wire = toJsonRpcError(error, fn ?? method);
      // Header values cannot hold line breaks (nats.js throws on them).
      const description = wire.message.replace(/[\r\n]+/g, ' ');
      return { body: JSON.stringify(wire), serviceError: { code: wire.code, description }, errorTag: error._tag };
    },
  };
}

export interface BroadcastRef {
  readonly correlationId: string;
}

/**
 * A `fire_at` this close to now is now: the sender's clock and the robot's differ by NTP's error.
 * Further ahead the call would have to wait, and a stop meanwhile could not cancel it: refused.
 */
const FIRE_AT_TOLERANCE_S = 1;

/** A `where` condition (or an unusable correlation id) is echoed in the audit of the stop it did not hold back up to this many characters (one audit line stays small). */
export const MAX_WHERE_ECHO_CHARS = 200;

/** `text` as echoed in an audit line: cut to MAX_WHERE_ECHO_CHARS, marked with … when cut. */
function echoed(text: string): string {
  return text.length > MAX_WHERE_ECHO_CHARS ? `${text.slice(0, MAX_WHERE_ECHO_CHARS)}…` : text;
}

/**
 * Whether the addressing names `deviceId`: yes, no, or "cannot tell here" with why. A list of
 * targets without this device is a no whatever else the envelope says; a `where` condition (CEL)
 * is not evaluated here, and targets that are not a list name nobody for certain.
 */
function addressing(targets: unknown, where: unknown, deviceId: string): 'ours' | 'not_ours' | { readonly unevaluated: string } {
  if (Array.isArray(targets) && targets.length > 0 && !targets.includes(deviceId)) return 'not_ours';
  const why: string[] = [];
  if (targets !== undefined && targets !== null && !Array.isArray(targets)) why.push('targets that are not a list');
  if (where !== undefined && where !== null && where !== '') {
    const text = typeof where === 'string' ? where : JSON.stringify(where);
    why.push(`unevaluated where ${echoed(text)}`);
  }
  return why.length === 0 ? 'ours' : { unevaluated: why.join(' and ') };
}

/** What `addressedEnvelope` reads: the routing fields, and why the addressing could not be evaluated (a stop that runs anyway). */
interface Envelope {
  /** The envelope fields a broadcast's signature covers, as sent. */
  readonly signed: BroadcastEnvelope;
  /** Undefined: the envelope has none usable (`unanswerable` says why) — a stop runs unanswered. */
  readonly correlationId: string | undefined;
  readonly unanswerable?: string;
  readonly fn: string;
  readonly params: unknown;
  readonly fireAt: unknown;
  readonly onLate: unknown;
  readonly unevaluated?: string;
}

/** Why `correlationId` cannot name the async reply subject, or undefined when it can. */
function unusableCorrelationId(correlationId: unknown): string | undefined {
  if (correlationId === undefined || correlationId === null) return 'no correlation_id';
  if (typeof correlationId !== 'string') return 'a correlation_id that is not a string';
  if (CORRELATION_ID.test(correlationId)) return undefined;
  return `correlation_id ${JSON.stringify(echoed(correlationId))}, which is not 1–128 of A-Z a-z 0-9 _ -`;
}

/**
 * The envelope's routing fields when it is for `deviceId` and answerable (`here`), else undefined —
 * or, when only its addressing keeps it from running here, the envelope as `elsewhere`. Addressing
 * this driver cannot evaluate fails closed (as the Python runtime without cel-python), and so does
 * an envelope with no usable correlation id — except for a stop, which fails open.
 */
function addressedEnvelope(doc: unknown, deviceId: string): { readonly here?: Envelope; readonly elsewhere?: Envelope } | undefined {
  if (!isRecord(doc)) return undefined;
  const { correlation_id: correlationId, function: fn, params, targets, where, fire_at: fireAt, on_late: onLate } = doc;
  if (typeof fn !== 'string') return undefined;
  const unanswerable = unusableCorrelationId(correlationId);
  if (unanswerable !== undefined && !isStop(fn)) return undefined;
  const signed = { targets, where, fire_at: fireAt, on_late: onLate };
  const envelope = { signed, correlationId: unanswerable === undefined ? (correlationId as string) : undefined, fn, params, fireAt, onLate, ...(unanswerable === undefined ? {} : { unanswerable }) };
  const to = addressing(targets, where, deviceId);
  if (to === 'ours') return { here: envelope };
  if (to === 'not_ours' || !isStop(fn)) return { elsewhere: envelope };
  return { here: { ...envelope, unevaluated: `${to.unevaluated} — stopped anyway` } };
}

/** The call of `envelope` (its params read when they fit), its signature claim (if any) covering the envelope's addressing and schedule. */
function callOf(envelope: Envelope, oversize: boolean): MeshCall {
  const { params: named, caller: asserted } = splitMeta(isRecord(envelope.params) && !oversize ? envelope.params : {}, envelope.correlationId ?? null);
  const caller = asserted.claim ? { ...asserted, claim: { ...asserted.claim, envelope: envelope.signed } } : asserted;
  return { method: envelope.fn, params: named, caller: { ...caller, ...deliveryOf(envelope) } };
}

/** A broadcast not run here for its addressing: ignored, handed on for its signature to be remembered when it is signed. */
function notHere(envelope: Envelope, oversize: boolean): MeshDecoded<BroadcastRef> {
  if (oversize || envelope.correlationId === undefined || !isRecord(envelope.params) || !isRecord(envelope.params._dc_meta)) return { kind: 'ignore' };
  const call = callOf(envelope, oversize);
  return call.caller.claim ? { kind: 'ignore', elsewhere: call } : { kind: 'ignore' };
}

/**
 * Why a broadcast is not run as sent: refused with `error`, or (no `error`) skipped silently. A stop
 * runs anyway (src/safety/stop-only-calls.ts stopDespite), `ignored` naming the part it ran without.
 */
interface EnvelopeProblem {
  readonly error?: RpcFailure;
  readonly ignored: IgnoredParam;
}

/** What keeps the broadcast from running now: a malformed schedule, one ahead (refused: a stop meanwhile could not cancel it), late with `on_late: skip`. */
function firing(fireAt: unknown, onLate: unknown, nowS: number, fn: string): EnvelopeProblem[] {
  if (fireAt === undefined || fireAt === null) return [];
  const problems: EnvelopeProblem[] = [];
  if (typeof fireAt !== 'number' || !Number.isFinite(fireAt)) {
    problems.push({ error: new InvalidRequest({ message: 'broadcast fire_at must be epoch seconds' }), ignored: dropped('fire_at', 'must be epoch seconds: run at once') });
  }
  if (onLate !== undefined && onLate !== null && onLate !== 'skip' && onLate !== 'fire') {
    problems.push({ error: new InvalidRequest({ message: 'broadcast on_late must be "skip" or "fire"' }), ignored: dropped('on_late', 'must be "skip" or "fire"') });
  }
  if (problems.length > 0 || typeof fireAt !== 'number') return problems;
  if (fireAt > nowS + FIRE_AT_TOLERANCE_S) {
    const ahead = Math.round(fireAt - nowS);
    const error = new Unsupported({ message: `a broadcast scheduled ${ahead} s ahead (fire_at) is not run by this driver: a stop meanwhile could not cancel it; send it when it is due`, function: fn });
    return [{ error, ignored: dropped('fire_at', `${ahead} s ahead: run at once instead of at fire_at (stopping early is safe)`) }];
  }
  if (fireAt < nowS - FIRE_AT_TOLERANCE_S && onLate === 'skip') {
    return [{ ignored: dropped('on_late', `"skip" does not apply to a stop: fire_at was ${Math.round(nowS - fireAt)} s ago, and a late stop still runs`) }];
  }
  return [];
}

/**
 * Every reason the envelope is not run as sent, in the order a non-stop is refused (or, first an
 * envelope over MAX_BROADCAST_BYTES, dropped) for the first.
 */
function broadcastProblems(bytes: number, parseError: RpcFailure | undefined, envelope: Envelope, nowS: number): EnvelopeProblem[] {
  const problems: EnvelopeProblem[] = [];
  if (bytes > MAX_BROADCAST_BYTES) problems.push({ ignored: dropped('body', `is ${bytes} bytes, over the limit of ${MAX_BROADCAST_BYTES}: read as no params`) });
  if (parseError) problems.push({ error: parseError, ignored: dropped('body', NON_FINITE_READ_AS_NULL) });
  problems.push(...firing(envelope.fireAt, envelope.onLate, nowS, envelope.fn));
  if (envelope.params !== undefined && !isRecord(envelope.params)) {
    problems.push({ error: new InvalidRequest({ message: 'broadcast params must be an object' }), ignored: dropped('params', 'must be a JSON object of named parameters: read as none') });
  }
  return problems;
}

/** How a broadcast came when nobody asked for it the usual way: unanswerable, or with addressing not evaluated. */
function deliveryOf(envelope: Envelope): { delivery?: Delivery } {
  const addressing = envelope.unevaluated === undefined ? {} : { addressing: envelope.unevaluated };
  if (envelope.unanswerable !== undefined) return { delivery: { kind: 'unanswered_broadcast', why: `${envelope.unanswerable} — stopped unanswered`, ...addressing } };
  return envelope.unevaluated === undefined ? {} : { delivery: { kind: 'unevaluated_broadcast', addressing: envelope.unevaluated } };
}

/**
 * A broadcast reply's `error` (§2.11 `{code: "invoke_failed", message}`, plus `_tag`): a stop whose
 * outcome failed also names what it ignored of its envelope, as `error.data.ignored_params` does on `.cmd`.
 */
function broadcastError(error: RpcFailure): Record<string, unknown> {
  const ignored = ignoredParamsOf(error);
  return { code: 'invoke_failed', message: error.message, _tag: error._tag, ...(ignored ? { ignored_params: ignored } : {}) };
}

/** `.broadcast`: envelopes for this device (or for all) are answered on its async reply subject. */
export function broadcastWire(tenant: string, deviceId: string, now: () => number): MeshWire<BroadcastRef> {
  const reply = (ref: BroadcastRef, outcome: Record<string, unknown>): WireReply => ({
    subject: subjects.asyncReply(tenant, deviceId, ref.correlationId),
    body: JSON.stringify({ correlation_id: ref.correlationId, device_id: deviceId, ...outcome, actually_fired_at: now() / 1000 }),
  });
  return {
    path: 'broadcast',
    decode(bytes) {
      // Over the limit, an envelope is read only when it names a stop (which then runs without its params).
      const oversize = bytes.byteLength > MAX_BROADCAST_BYTES;
      if (oversize && !mentionsStop(bytes)) return { kind: 'ignore' };
      const parsed = parseJsonBody(bytes, 'the broadcast');
      // Unparseable envelopes have no reply subject; one that is JSON but for NaN/Infinity is told why
      // (a `"correlation_id": NaN` stays NaN: not a string, rather than none).
      const addressed = addressedEnvelope(parsed.ok ? parsed.doc : readDespiteNonFinite(parsed, 'correlation_id'), deviceId);
      if (addressed?.elsewhere) return parsed.ok ? notHere(addressed.elsewhere, oversize) : { kind: 'ignore' };
      const envelope = addressed?.here;
      if (!envelope) return { kind: 'ignore' };
      const problems = broadcastProblems(bytes.byteLength, parsed.ok ? undefined : parsed.error, envelope, now() / 1000);
      const call = callOf(envelope, oversize);
      // Without a usable correlation id the function is a stop (addressedEnvelope): run, unanswered.
      const runs = problems.length === 0 ? call : stopDespite(envelope.fn, problems.map((p) => p.ignored), call.params, call.caller);
      if (envelope.correlationId === undefined) return runs ? { kind: 'unanswered', call: runs } : { kind: 'ignore' };
      const ref = { correlationId: envelope.correlationId };
      if (runs) return { kind: 'call', ref, call: runs };
      const first = problems[0]!;
      return first.error ? { kind: 'reject', ref, method: envelope.fn, error: first.error } : { kind: 'ignore' };
    },
    result: (ref, _method, result) => reply(ref, { success: true, result }),
    error: (ref, error) => ({ ...reply(ref, { success: false, error: broadcastError(error) }), errorTag: error._tag }),
  };
}

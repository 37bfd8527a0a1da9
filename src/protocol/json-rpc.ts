// JSON-RPC 2.0 envelopes as Device Connect uses them on `.cmd` (device-connect-protocol.md §2.1–2.4,
// §2.11). Owns decoding of raw request bytes (size, JSON, shape, `_dc_meta`; an invalid request is
// still read as far as it goes, for a stop to run despite it — the wire decides) and encoding of
// replies and event notifications with the Python key order (a result whose JSON is kept,
// result-json.ts, is not encoded again); also the one JSON body parser every
// mesh entry uses (it names bare NaN/Infinity tokens, which Python's json.dumps emits, instead of
// calling them invalid UTF-8). Pure: no NATS, no dispatch.
import { randomBytes } from 'node:crypto';
import { InvalidRequest, ParseError, toJsonRpcError, type RpcFailure } from '../errors.ts';
import { SIGNED_META, type BroadcastEnvelope } from './caller-signature.ts';
import { isRecord } from './json-object.ts';
import { keepJson, keptJson } from './result-json.ts';
import type { IgnoredParam } from './ignored-param.ts';

/**
 * Largest request body we parse. The broker's own default max_payload is 1 MiB; requests carry
 * named parameters and, at most, a base64 audio chunk, so anything larger is hostile or a bug.
 */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** Longest method name accepted (ours are < 32 chars); bounds what we echo back in errors. */
export const MAX_METHOD_LENGTH = 128;

export type RequestId = string | number;

/**
 * A signature a call carries in `_dc_meta` (src/protocol/caller-signature.ts), as read off the wire and
 * not yet checked: field values are whatever the caller sent. The mesh entry adds the subject.
 */
export interface CallerClaim {
  readonly key: unknown;
  readonly sig: unknown;
  readonly ts: unknown;
  readonly jwt: unknown;
  /** The JSON-RPC id on `.cmd`, the correlation id on `.broadcast`, `_dc_meta.request_id` on `.svc`. */
  readonly requestId: string | null;
  readonly subject: string | null;
  /** On `.broadcast`: the envelope fields the signature covers there too (src/protocol/caller-signature.ts). */
  readonly envelope?: BroadcastEnvelope;
}

/**
 * How a call came when nobody asked for its answer the usual way: a JSON-RPC notification (no `id`,
 * or `"id": null`; never answered), or a broadcast whose addressing (`where`, `targets` that are not
 * a list) this driver cannot evaluate, `addressing` saying so. Such a call runs only when it is a
 * stop (src/safety/stop-only-calls.ts), and the audit records how it came.
 */
export type Delivery =
  | { readonly kind: 'notification' }
  | { readonly kind: 'unevaluated_broadcast'; readonly addressing: string }
  /** A broadcast stop without a usable `correlation_id` (`why`): run, never answered (no subject to answer on). */
  | { readonly kind: 'unanswered_broadcast'; readonly why: string; readonly addressing?: string };

/** Caller metadata a device-to-device `invoke_remote` adds (§2.1, §3.7); caller-asserted unless `verified`. */
export interface CallerMeta {
  /** The asserted source device; once verified (src/safety/caller-identity.ts), the verified public key. */
  readonly sourceDevice: string | null;
  readonly traceId: string | null;
  /** `_dc_meta.llm_reasoning`: an agent's stated reason (the MCP bridge sends it), for the audit only. */
  readonly reasoning?: string;
  /** The call's signature, when it carries one (checked by the gate before anything else). */
  readonly claim?: CallerClaim;
  /** Set by the gate once the signature checked out: the key, and what `source_device` asserted. */
  readonly verified?: { readonly key: string; readonly assertedAs: string | null; readonly issuer: string | null };
  /** Set by the wire for a call nobody asked to hear answered the usual way. */
  readonly delivery?: Delivery;
  /** Set by the wire for a stop whose envelope it could not take (src/safety/stop-only-calls.ts stopDespite): each problem, as ignored. */
  readonly ignoredEnvelope?: ReadonlyArray<IgnoredParam>;
}

/** An agent's reason is kept for the audit up to this many characters (one audit line stays small). */
export const MAX_REASONING_CHARS = 2_000;

/**
 * An invalid request as far as it can still be read, for a stop to run despite its envelope (the
 * wire asks src/safety/stop-only-calls.ts `stopDespite`): the id to answer with (null when it is
 * unusable), whether it came as a notification (no id: never answered) and each problem, as ignored.
 */
export interface ReadDespite {
  readonly id: RequestId | null;
  readonly notification: boolean;
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly caller: CallerMeta;
  readonly ignored: ReadonlyArray<IgnoredParam>;
}

export type DecodedRequest =
  | { readonly kind: 'request'; readonly id: RequestId; readonly method: string; readonly params: Record<string, unknown>; readonly caller: CallerMeta }
  /**
   * No id (or `"id": null`): run as the gate decides (stops only), never answered (§2.1). Params that
   * are not an object read as none (`ignored` says so).
   */
  | { readonly kind: 'notification'; readonly method: string; readonly params: Record<string, unknown>; readonly caller: CallerMeta; readonly ignored?: IgnoredParam }
  /** No id and no usable method: nothing to run and nobody to tell. */
  | { readonly kind: 'unusable' }
  /**
   * Undecodable: reply with `error` when there is an id to echo (or `null` per JSON-RPC for parse
   * errors); `readable`: what a stop would run as despite it, when a method could be read.
   */
  | { readonly kind: 'invalid'; readonly id: RequestId | null; readonly error: ParseError | InvalidRequest; readonly readable?: ReadDespite };

/** The JSON-RPC error object of a reply (§2.3): its numeric code and message; undefined without one. */
export function rpcErrorOf(reply: unknown): { readonly code: number; readonly message: string } | undefined {
  if (!isRecord(reply) || !isRecord(reply['error'])) return undefined;
  const { code, message } = reply['error'];
  return typeof code === 'number' ? { code, message: typeof message === 'string' ? message : '' } : undefined;
}

function validId(value: unknown): value is RequestId {
  return (typeof value === 'string' && value.length <= 256) || (typeof value === 'number' && Number.isFinite(value));
}

/** Why a body with bare NaN/Infinity/-Infinity tokens is refused (Python emits them; JSON has no such values). */
export const NON_FINITE_JSON_PROBLEM = 'contains NaN/Infinity, which JSON does not allow; send null or a finite number';

const NON_FINITE_TOKENS = ['-Infinity', 'Infinity', 'NaN'] as const;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const TOKEN_STARTS: ReadonlySet<number> = new Set(NON_FINITE_TOKENS.map((t) => t.charCodeAt(0)));

/**
 * A JSON number that parses non-finite (JSON.parse reads it as Infinity): how a bare token is
 * respelled to find where it stood, since `null` cannot be told from a null that was sent.
 */
const NON_FINITE_SPELLING = '1e999';

/**
 * The text with every bare NaN/Infinity/-Infinity token outside strings replaced by `spelling`
 * (`null` unless told), or undefined when there is none. One linear scan; only run after JSON.parse failed.
 */
export function replaceNonFiniteTokens(text: string, spelling = 'null'): string | undefined {
  let out = '';
  let copiedUpTo = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) {
      inString = true;
      continue;
    }
    if (!TOKEN_STARTS.has(c)) continue;
    const token = NON_FINITE_TOKENS.find((t) => text.startsWith(t, i));
    if (!token) continue;
    out += `${text.slice(copiedUpTo, i)}${spelling}`;
    i += token.length - 1;
    copiedUpTo = i + 1;
  }
  return copiedUpTo === 0 ? undefined : out + text.slice(copiedUpTo);
}

/** One strict UTF-8 decoder for every body (decode() without `stream` keeps no state between calls). */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export type ParsedJson =
  | { readonly ok: true; readonly doc: unknown }
  /**
   * `withNullsForNonFinite`: the document as it parses with NaN/Infinity read as null, when that was
   * its only fault; `nonFiniteMembers` then names its top-level members that were NaN/Infinity (an
   * `"id": NaN` is an unusable id, not a missing one).
   */
  | { readonly ok: false; readonly error: ParseError; readonly withNullsForNonFinite?: unknown; readonly nonFiniteMembers?: ReadonlyArray<string> };

/**
 * Parses a UTF-8 JSON body (`what` names it in the message: "the request", "the body"…). A body
 * that is JSON but for bare NaN/Infinity tokens gets a ParseError saying so.
 */
export function parseJsonBody(bytes: Uint8Array, what: string): ParsedJson {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return { ok: false, error: new ParseError({ message: `Parse error: ${what} is not valid UTF-8 JSON` }) };
  }
  try {
    return { ok: true, doc: JSON.parse(text) };
  } catch {
    const replaced = replaceNonFiniteTokens(text);
    if (replaced !== undefined) {
      try {
        const doc: unknown = JSON.parse(replaced);
        const error = new ParseError({ message: `Parse error: ${what} ${NON_FINITE_JSON_PROBLEM}` });
        return { ok: false, error, withNullsForNonFinite: doc, nonFiniteMembers: nonFiniteMembers(text) };
      } catch {
        // Something else is wrong with it too: the generic message below.
      }
    }
    return { ok: false, error: new ParseError({ message: `Parse error: ${what} is not valid UTF-8 JSON` }) };
  }
}

/** The top-level members of a JSON object text whose value is a bare NaN/Infinity token (or a number too large to be finite). */
function nonFiniteMembers(text: string): ReadonlyArray<string> {
  const marked: unknown = JSON.parse(replaceNonFiniteTokens(text, NON_FINITE_SPELLING) ?? text);
  if (!isRecord(marked)) return [];
  return Object.keys(marked).filter((key) => typeof marked[key] === 'number' && !Number.isFinite(marked[key]));
}

/** The signature fields of `_dc_meta`, when it has any (a half-signed call is still a claim, and fails the check). */
function claimOf(raw: Record<string, unknown>, wireRequestId: string | null): CallerClaim | undefined {
  if (raw[SIGNED_META.key] === undefined && raw[SIGNED_META.sig] === undefined) return undefined;
  const own = raw[SIGNED_META.requestId];
  const requestId = wireRequestId ?? (typeof own === 'string' && own.length > 0 && own.length <= 256 ? own : null);
  return { key: raw[SIGNED_META.key], sig: raw[SIGNED_META.sig], ts: raw[SIGNED_META.ts], jwt: raw[SIGNED_META.jwt], requestId, subject: null };
}

/**
 * `_dc_meta` as the gate's caller (§2.1, §3.7); anything malformed reads as "no caller". `wireRequestId`:
 * the id the path itself carries (JSON-RPC id, correlation id), which a signature covers.
 */
export function callerMeta(raw: unknown, wireRequestId: string | null = null): CallerMeta {
  if (!isRecord(raw)) return { sourceDevice: null, traceId: null };
  const source = raw.source_device;
  const trace = raw.trace_id ?? raw.traceparent;
  const reasoning = raw.llm_reasoning;
  const claim = claimOf(raw, wireRequestId);
  return {
    sourceDevice: typeof source === 'string' && source.length > 0 && source.length <= 256 ? source : null,
    traceId: typeof trace === 'string' && trace.length <= 256 ? trace : null,
    ...(typeof reasoning === 'string' && reasoning.length > 0 ? { reasoning: reasoning.slice(0, MAX_REASONING_CHARS) } : {}),
    ...(claim ? { claim } : {}),
  };
}

const ID_RULE = 'must be a string (≤ 256 chars) or a finite number';
const PARAMS_RULE = 'must be an object of named parameters (positional arrays are not supported)';
/** How a stop read a body with NaN/Infinity tokens. */
export const NON_FINITE_READ_AS_NULL = 'contains NaN/Infinity, which JSON does not allow; they were read as null';

/** A part of the envelope a stop ran without (the `ignored_params` shape of src/rpc/stop-params.ts). */
export function dropped(param: string, problem: string): IgnoredParam {
  return { param, problem, handling: 'dropped' };
}

/**
 * `error` (answered with `id`), and `doc` as far as it reads for a stop — its params only when
 * `keepParams` and they are an object (its `_dc_meta` caller in any case).
 */
function invalid(doc: unknown, id: RequestId | null, error: ParseError | InvalidRequest, problems: ReadonlyArray<IgnoredParam>, keepParams: boolean): DecodedRequest {
  if (!isRecord(doc) || typeof doc.method !== 'string' || doc.method.length > MAX_METHOD_LENGTH) return { kind: 'invalid', id, error };
  const { _dc_meta: meta, ...named } = isRecord(doc.params) ? doc.params : {};
  const notification = doc.id === undefined || doc.id === null;
  const readId = validId(doc.id) ? doc.id : null;
  const caller = callerMeta(meta, readId === null ? null : String(readId));
  const readable: ReadDespite = {
    id: readId,
    notification,
    method: doc.method,
    params: keepParams ? named : {},
    caller: notification ? { ...caller, delivery: { kind: 'notification' } } : caller,
    ignored: problems,
  };
  return { kind: 'invalid', id, error, readable };
}

/**
 * `readOversize`: a body over MAX_REQUEST_BYTES is still parsed, for a stop in it to run (the wire
 * asks only when the body names a stop); anything else over it is refused unread.
 */
export function decodeRequest(bytes: Uint8Array, readOversize = false): DecodedRequest {
  if (bytes.byteLength > MAX_REQUEST_BYTES) {
    const error = new InvalidRequest({ message: `request is ${bytes.byteLength} bytes; the limit is ${MAX_REQUEST_BYTES}` });
    if (!readOversize) return { kind: 'invalid', id: null, error };
    const parsed = parseJsonBody(bytes, 'the request');
    const doc = parsed.ok ? parsed.doc : asRead(parsed);
    const problems = [dropped('body', `is ${bytes.byteLength} bytes, over the limit of ${MAX_REQUEST_BYTES}: its params were not read`)];
    const id = unusableId(doc, !parsed.ok && nonFiniteId(parsed));
    return invalid(doc, null, error, id ? [...problems, id] : problems, false);
  }
  const parsed = parseJsonBody(bytes, 'the request');
  if (!parsed.ok) return withNonFinite(parsed);
  const doc = parsed.doc;
  if (!isRecord(doc)) {
    return { kind: 'invalid', id: null, error: new InvalidRequest({ message: 'Invalid request: expected a JSON-RPC object' }) };
  }
  const hasId = 'id' in doc && doc.id !== undefined && doc.id !== null;
  const id = hasId && validId(doc.id) ? doc.id : null;
  if (hasId && id === null) {
    const error = new InvalidRequest({ message: `Invalid request: "id" ${ID_RULE}` });
    return invalid(doc, null, error, [unusableId(doc, false)!], true);
  }
  const method = doc.method;
  if (typeof method !== 'string' || method.length === 0 || method.length > MAX_METHOD_LENGTH) {
    if (id === null) return { kind: 'unusable' };
    return { kind: 'invalid', id, error: new InvalidRequest({ message: `Invalid request: "method" must be a non-empty string of at most ${MAX_METHOD_LENGTH} characters` }) };
  }
  const rawParams = doc.params;
  if (id === null) return notification(method, rawParams);
  if (rawParams !== undefined && rawParams !== null && !isRecord(rawParams)) {
    const error = new InvalidRequest({ message: `Invalid request: "params" ${PARAMS_RULE}` });
    return invalid(doc, id, error, [dropped('params', `${PARAMS_RULE}: read as none`)], false);
  }
  const named = (rawParams ?? {}) as Record<string, unknown>;
  // The parsed object is ours: without `_dc_meta` it is the params as they are (no copy per call).
  if (!Object.hasOwn(named, '_dc_meta')) return { kind: 'request', id, method, params: named, caller: callerMeta(undefined) };
  const { _dc_meta: meta, ...params } = named;
  return { kind: 'request', id, method, params, caller: callerMeta(meta, String(id)) };
}

/**
 * The request's `"id"` as ignored when it cannot be echoed (answered with `"id": null`), or undefined
 * when it can or there is none — the same entry whatever else is wrong with the request (NaN
 * elsewhere, a body over the limit). `nonFinite`: it was a bare NaN/Infinity.
 */
function unusableId(doc: unknown, nonFinite: boolean): IgnoredParam | undefined {
  if (nonFinite) return dropped('id', `${ID_RULE}, not NaN/Infinity: answered with "id": null`);
  if (!isRecord(doc) || doc.id === undefined || doc.id === null || validId(doc.id)) return undefined;
  return dropped('id', `${ID_RULE}: answered with "id": null`);
}

/** Whether the request's own `"id"` was a bare NaN/Infinity (not the null it reads as). */
function nonFiniteId(parsed: Extract<ParsedJson, { ok: false }>): boolean {
  return isRecord(parsed.withNullsForNonFinite) && parsed.nonFiniteMembers?.includes('id') === true;
}

/**
 * A document as a stop reads it despite bare NaN/Infinity tokens: they read as null, but a top-level
 * `member` that was one stays NaN — an unusable id (`.cmd`'s `"id"`, a broadcast's `correlation_id`),
 * not a missing one (which would make a request a notification, or say "no correlation_id").
 */
export function readDespiteNonFinite(parsed: Extract<ParsedJson, { ok: false }>, member: string): unknown {
  const doc = parsed.withNullsForNonFinite;
  return isRecord(doc) && parsed.nonFiniteMembers?.includes(member) === true ? { ...doc, [member]: Number.NaN } : doc;
}

/** The request as a stop reads it: an `"id": NaN` stays an unusable id like an object's (answered with `"id": null`). */
function asRead(parsed: Extract<ParsedJson, { ok: false }>): unknown {
  return readDespiteNonFinite(parsed, 'id');
}

/**
 * A request with bare NaN/Infinity tokens: refused with the parse error, its id echoed when it could
 * still be read (a NaN elsewhere does not hide it), else null; for a stop the body (and an id it
 * cannot echo, unusableId) named as ignored.
 */
function withNonFinite(parsed: Extract<ParsedJson, { ok: false }>): DecodedRequest {
  const doc = asRead(parsed);
  const readable = isRecord(doc) ? doc.id : null;
  const problems = [dropped('body', NON_FINITE_READ_AS_NULL)];
  const id = unusableId(doc, nonFiniteId(parsed));
  if (id) problems.push(id);
  return invalid(doc, validId(readable) ? readable : null, parsed.error, problems, true);
}

/**
 * A notification as a call: there is no reply to refuse bad params in, so params that are not an
 * object read as none (a stop still stops, `ignored` saying so; anything else is refused by the gate anyway).
 */
function notification(method: string, rawParams: unknown): DecodedRequest {
  const notObject = rawParams !== undefined && rawParams !== null && !isRecord(rawParams);
  const { _dc_meta: meta, ...params } = isRecord(rawParams) ? rawParams : {};
  const caller: CallerMeta = { ...callerMeta(meta), delivery: { kind: 'notification' } };
  return { kind: 'notification', method, params, caller, ...(notObject ? { ignored: dropped('params', `${PARAMS_RULE}: read as none`) } : {}) };
}

export function encodeResult(id: RequestId | null, result: unknown): string {
  const memo = keptJson(result);
  if (memo === undefined) return JSON.stringify({ jsonrpc: '2.0', id, result });
  const json = memo ?? (JSON.stringify(result) as string | undefined);
  // A result whose JSON is not a value (a toJSON returning undefined) is left to the plain path.
  if (json === undefined) return JSON.stringify({ jsonrpc: '2.0', id, result });
  if (memo === null) keepJson(result as object, json);
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${json}}`;
}

export function encodeError(id: RequestId | null, error: RpcFailure, method?: string): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error: toJsonRpcError(error, method) });
}

/** 8 hex chars, like the Python `@emit` wrapper's `event_id`. */
export function newEventId(): string {
  return randomBytes(4).toString('hex');
}

/** 16 hex chars, the `_trace_id` of events when no OpenTelemetry span is active. */
export function newTraceId(): string {
  return randomBytes(8).toString('hex');
}

/** `%Y-%m-%dT%H:%M:%SZ`: whole-second UTC, the timestamp format of events and status (§2.4, §2.5). */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Event notification with `event_id`, `ts` and `_trace_id` added when absent (§2.4). */
export function encodeEvent(name: string, payload: Record<string, unknown>, nowMs: number): string {
  const params = { ...payload };
  params.event_id ??= newEventId();
  params.ts ??= isoSeconds(nowMs);
  params._trace_id ??= newTraceId();
  return JSON.stringify({ jsonrpc: '2.0', method: name, params });
}

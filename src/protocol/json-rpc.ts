// JSON-RPC 2.0 envelopes as Device Connect uses them on `.cmd` (device-connect-protocol.md §2.1–2.4,
// §2.11). Owns decoding of raw request bytes (size, JSON, shape, `_dc_meta`) and encoding of
// replies and event notifications with the Python key order. Pure: no NATS, no dispatch.
import { randomBytes } from 'node:crypto';
import { InvalidRequest, ParseError, toJsonRpcError, type RpcFailure } from '../errors.ts';

/**
 * Largest request body we parse. The broker's own default max_payload is 1 MiB; requests carry
 * named parameters and, at most, a base64 audio chunk, so anything larger is hostile or a bug.
 */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** Longest method name accepted (ours are < 32 chars); bounds what we echo back in errors. */
export const MAX_METHOD_LENGTH = 128;

export type RequestId = string | number;

/** Caller metadata a device-to-device `invoke_remote` adds (§2.1, §3.7); caller-asserted, not authenticated. */
export interface CallerMeta {
  readonly sourceDevice: string | null;
  readonly traceId: string | null;
}

export type DecodedRequest =
  | { readonly kind: 'request'; readonly id: RequestId; readonly method: string; readonly params: Record<string, unknown>; readonly caller: CallerMeta }
  | { readonly kind: 'notification'; readonly method: string }
  /** Undecodable: reply with `error` when there is an id to echo (or `null` per JSON-RPC for parse errors). */
  | { readonly kind: 'invalid'; readonly id: RequestId | null; readonly error: ParseError | InvalidRequest };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validId(value: unknown): value is RequestId {
  return (typeof value === 'string' && value.length <= 256) || (typeof value === 'number' && Number.isFinite(value));
}

function callerMeta(raw: unknown): CallerMeta {
  if (!isRecord(raw)) return { sourceDevice: null, traceId: null };
  const source = raw.source_device;
  const trace = raw.trace_id ?? raw.traceparent;
  return {
    sourceDevice: typeof source === 'string' && source.length > 0 && source.length <= 256 ? source : null,
    traceId: typeof trace === 'string' && trace.length <= 256 ? trace : null,
  };
}

export function decodeRequest(bytes: Uint8Array): DecodedRequest {
  if (bytes.byteLength > MAX_REQUEST_BYTES) {
    return { kind: 'invalid', id: null, error: new InvalidRequest({ message: `request is ${bytes.byteLength} bytes; the limit is ${MAX_REQUEST_BYTES}` }) };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { kind: 'invalid', id: null, error: new ParseError({ message: 'Parse error: the request is not valid UTF-8 JSON' }) };
  }
  if (!isRecord(doc)) {
    return { kind: 'invalid', id: null, error: new InvalidRequest({ message: 'Invalid request: expected a JSON-RPC object' }) };
  }
  const hasId = 'id' in doc && doc.id !== undefined && doc.id !== null;
  const id = hasId && validId(doc.id) ? doc.id : null;
  if (hasId && id === null) {
    return { kind: 'invalid', id: null, error: new InvalidRequest({ message: 'Invalid request: "id" must be a string (≤ 256 chars) or a finite number' }) };
  }
  const method = doc.method;
  if (typeof method !== 'string' || method.length === 0 || method.length > MAX_METHOD_LENGTH) {
    if (id === null) return { kind: 'notification', method: '' };
    return { kind: 'invalid', id, error: new InvalidRequest({ message: `Invalid request: "method" must be a non-empty string of at most ${MAX_METHOD_LENGTH} characters` }) };
  }
  if (id === null) return { kind: 'notification', method };
  const rawParams = doc.params;
  if (rawParams !== undefined && rawParams !== null && !isRecord(rawParams)) {
    return { kind: 'invalid', id, error: new InvalidRequest({ message: 'Invalid request: "params" must be an object of named parameters (positional arrays are not supported)' }) };
  }
  const { _dc_meta: meta, ...params } = (rawParams ?? {}) as Record<string, unknown>;
  return { kind: 'request', id, method, params, caller: callerMeta(meta) };
}

export function encodeResult(id: RequestId | null, result: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id, result });
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

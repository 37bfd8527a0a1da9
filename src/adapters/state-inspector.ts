// Attaches the Stately inspector (`@statelyai/inspect`, ecosystem §2.2) when `--inspect <ws-url>`
// is given: every actor of the driver reports to a relay (`npm run inspect` starts one on
// loopback). Owns the sanitising — contexts, events and the input of promise and callback actors
// (a media call's params): secret-looking keys and binary values never leave the process, even
// though machines are designed never to hold them.
import { createWebSocketInspector } from '@statelyai/inspect';
import type { InspectionEvent, Observer } from 'xstate';
import { watchInspectorRelay } from './inspector-relay-watch.ts';

const SECRET_KEY = /jwt|seed|nkey|token|secret|password|creds|authorization|cookie/i;
/** Base64 media in RPC events (`data_b64` of frames, audio samples and pushes): never shown, only sized. */
const BASE64_KEY = /_b64$/i;
/** Bounds what one inspection message may carry (frames and audio never belong in context). */
const MAX_STRING_CHARS = 2_048;

function isActorRef(value: unknown): value is { id: string } {
  return typeof value === 'object' && value !== null && 'sessionId' in value && 'getSnapshot' in value && typeof (value as { send?: unknown }).send === 'function';
}

function sanitize(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[depth]';
  if (typeof value === 'string') return value.length > MAX_STRING_CHARS ? `${value.slice(0, MAX_STRING_CHARS)}…[truncated]` : value;
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) return `[binary ${value.byteLength} bytes]`;
  if (typeof value === 'function') return '[function]';
  if (Array.isArray(value)) return value.map((v) => sanitize(v, depth + 1));
  // A child actor's reference in the root's context: the inspector shows the child itself.
  if (isActorRef(value)) return `[actor ${value.id}]`;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEY.test(k) ? '[redacted]' : BASE64_KEY.test(k) && typeof v === 'string' ? `[base64 ${v.length} chars]` : sanitize(v, depth + 1);
    }
    return out;
  }
  return value;
}

/**
 * The message as sent, with its snapshot's `input` (promise and callback actors: a media call's
 * params) sanitised like a context; a copy, the actor's own snapshot is untouched.
 */
function withSanitizedInput<T>(message: T): T {
  const snapshot = (message as { snapshot?: unknown }).snapshot;
  if (typeof snapshot !== 'object' || snapshot === null || !('input' in snapshot)) return message;
  return { ...message, snapshot: { ...snapshot, input: sanitize((snapshot as { input: unknown }).input) } };
}

export interface StateInspector {
  readonly inspect: Observer<InspectionEvent>;
  stop(): void;
}

export interface StateInspectorOptions {
  /** The wait before dialing the relay again after a failure (default INSPECTOR_RETRY_MS); tests shorten it. */
  readonly retryMs?: number;
}

export function createStateInspector(url: string, options: StateInspectorOptions = {}): StateInspector {
  let stopped = false;
  const inspector = createWebSocketInspector({
    url,
    autoStart: false,
    sanitizeContext: (context) => sanitize(context) as typeof context,
    sanitizeEvent: (event) => sanitize(event) as typeof event,
    serialize: (message) => withSanitizedInput(message),
  });
  // Started only once its relay connection is watched (a missing relay is logged, issue 10).
  watchInspectorRelay((inspector as unknown as { adapter: object }).adapter, url, { ...(options.retryMs === undefined ? {} : { retryMs: options.retryMs }), stopped: () => stopped });
  inspector.start();
  return {
    inspect: inspector.inspect as Observer<InspectionEvent>,
    stop: () => {
      stopped = true;
      inspector.stop();
    },
  };
}

export { sanitize as sanitizeForInspection };

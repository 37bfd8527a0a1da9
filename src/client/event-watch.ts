// Watching device events (device-connect-protocol.md §1, §2.4, §2.11): one subscription on
// `device-connect.<tenant>.<id|*>.event.>` exposed as an async iterable of `{deviceId, name, params}`.
// `name` is every subject token after `event.`, so a broadcast reply shows up as
// `async_reply.<correlation_id>`; the device id comes from subject token 3 (never from the payload).
// Owns the subscription's lifetime (abort signal, `break`, `close()`); not the connection.
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { createLogger } from '../logging/logger.ts';
import { SUBJECT_PREFIX } from '../protocol/subjects.ts';
import type { JsonObject } from './device-record.ts';
import { isRecord } from '../protocol/json-object.ts';

const log = createLogger('client:events');

export interface MeshEvent {
  readonly deviceId: string;
  /** Subject tokens after `event.` joined with `.`: `number_generated`, `async_reply.br-d68ef7b538d6`. */
  readonly name: string;
  /** JSON-RPC `params` of a notification (§2.4); the whole body for plain-JSON events (async replies). */
  readonly params: JsonObject;
  readonly subject: string;
}

/** Subject → event, or undefined for a subject that is not `device-connect.<t>.<id>.event.<name…>` or a body that is not a JSON object. */
export function parseEventMessage(subject: string, body: string): MeshEvent | undefined {
  const tokens = subject.split('.');
  if (tokens.length < 5 || tokens[0] !== SUBJECT_PREFIX || tokens[3] !== 'event') return undefined;
  const deviceId = tokens[2];
  if (deviceId === undefined) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isRecord(payload)) return undefined;
  let params: JsonObject = payload;
  if (typeof payload['method'] === 'string') params = isRecord(payload['params']) ? payload['params'] : {};
  return { deviceId, name: tokens.slice(4).join('.'), params, subject };
}

/**
 * A live event subscription. The subscription exists as soon as the watch is created; await
 * `ready` when the caller must be sure the broker knows it (before triggering an event).
 * Single use: iterate once.
 */
export class EventWatch implements AsyncIterable<MeshEvent> {
  readonly subject: string;
  /** Resolves once the broker has processed the SUB (a flush round trip). */
  readonly ready: Promise<void>;
  private readonly sub: Subscription;
  private readonly onClose: (watch: EventWatch) => void;
  private readonly signal: AbortSignal | undefined;
  private readonly abortListener = (): void => this.close();

  constructor(nc: NatsConnection, subject: string, signal: AbortSignal | undefined, onClose: (watch: EventWatch) => void) {
    this.subject = subject;
    this.onClose = onClose;
    this.signal = signal;
    this.sub = nc.subscribe(subject);
    this.ready = nc.flush();
    // A caller that never awaits `ready` must not get an unhandled rejection if the connection closes.
    this.ready.catch(() => undefined);
    if (signal?.aborted) this.close();
    else signal?.addEventListener('abort', this.abortListener, { once: true });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<MeshEvent> {
    try {
      for await (const msg of this.sub) {
        const event = this.toEvent(msg);
        if (event) yield event;
      }
    } finally {
      this.close();
    }
  }

  private toEvent(msg: Msg): MeshEvent | undefined {
    const event = parseEventMessage(msg.subject, msg.string());
    if (!event) log.debug('ignoring malformed event', { subject: msg.subject });
    return event;
  }

  /** Ends the iteration (pending `next()` resolves done). Idempotent. */
  close(): void {
    this.signal?.removeEventListener('abort', this.abortListener);
    if (!this.sub.isClosed()) this.sub.unsubscribe();
    this.onClose(this);
  }

  get closed(): boolean {
    return this.sub.isClosed();
  }
}

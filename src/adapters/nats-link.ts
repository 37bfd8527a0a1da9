// The device's NATS connection (device-connect-protocol.md §1–§2): connects with the configured
// options, serves `.cmd` (plain subscription, no queue group, callback form), `.broadcast` and, when
// asked, `.supervisor`, other devices' e-stop events and (d2d mode) `discovery.probe`; publishes
// heartbeats, presence, events and replies (`publish` never throws); and turns nats.js status events
// into `nats.*` machine events at this boundary. A link ends with `stopIntake`, then `drain`. Owns
// the NatsConnection; does not decide what to answer (actors/mesh-entry.ts does).
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { errors, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { createLogger } from '../logging/logger.ts';
import { rateLimited } from '../logging/rate-limited.ts';
import { FAILURE_REPEAT_INTERVAL_MS, type FailureNotice } from '../logging/failure-notice.ts';
import { brokerAdvice, connectOnce } from './nats-first-connect.ts';
import { causeOf } from './network-cause.ts';
import { RECONNECT_TIME_WAIT_MS } from './nats-options.ts';
import type { ReplySink, WireReply } from '../protocol/mesh-wire.ts';

const log = createLogger('nats');

/** How long a request/reply to the registry may take (Python `DEVICE_CONNECT_REGISTER_TIMEOUT`). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
/**
 * At most one warning per interval about dropped publishes: an oversize presence repeats every
 * 0.5–5 s for ever on a small-max_payload broker, and one line per 10 s still says it is happening.
 */
export const DROPPED_PUBLISH_WARNING_INTERVAL_MS = 10_000;
/** Prefix of the NATS micro-service control subjects the services library subscribes to. */
const SERVICE_CONTROL_PREFIX = '$SRV.';
/** The header bytes of a reply sent without headers. */
const NO_HEADERS = () => 0;

/** UTF-8 bytes of a message body as nats.js counts them against max_payload. */
export function bodyBytes(body: string): number {
  return Buffer.byteLength(body, 'utf8');
}

/** UTF-8 takes at most 3 bytes per UTF-16 code unit (a surrogate pair, 2 units, takes 4). */
const MAX_UTF8_BYTES_PER_UTF16_UNIT = 3;

/**
 * `body`'s bytes plus `extraBytes` (headers) when over `limit`, else null. A body that would fit
 * even at 3 bytes per character is not counted: a 2 kB status against a 1 MB max_payload.
 */
export function bytesOver(body: string, extraBytes: () => number, limit: number): number | null {
  const extra = extraBytes();
  if (body.length * MAX_UTF8_BYTES_PER_UTF16_UNIT + extra <= limit) return null;
  const bytes = bodyBytes(body) + extra;
  return bytes > limit ? bytes : null;
}

export type LinkEvent = { type: 'nats.disconnect' } | { type: 'nats.reconnect' } | { type: 'nats.closed'; error?: string };

/** A request handler: the message and where its reply goes. */
export type RequestHandler = (msg: Msg, sink: ReplySink) => void;

export interface LinkHandlers {
  readonly onCommand: RequestHandler;
  readonly onBroadcast: RequestHandler;
  readonly onProbe?: () => void;
  readonly onSupervisor?: RequestHandler;
  /** Another device's `emergencyStop` event (D2D e-stop): its subject and body text. */
  readonly onEmergencyStop?: (subject: string, body: string) => void;
  readonly onStatus: (event: LinkEvent) => void;
}

export interface LinkSubjects {
  readonly cmd: string;
  readonly broadcast: string;
  readonly probe?: string;
  readonly supervisor?: string;
  /** `device-connect.<tenant>.*.event.emergencyStop` (src/safety/d2d-estop.ts). */
  readonly emergencyStop?: string;
}

export class NatsLink {
  readonly nc: NatsConnection;
  /** The subscriptions that bring calls and events in (not the client's own request inbox). */
  readonly #subscriptions: Subscription[] = [];
  #closing = false;
  /** The owner's status listener; detached (a no-op) once the owner drains the link. */
  #onStatus: (event: LinkEvent) => void = () => undefined;
  #droppedPublishes = 0;
  readonly #warnDropped = rateLimited(log, 'warn', DROPPED_PUBLISH_WARNING_INTERVAL_MS);
  readonly #warnBrokerError = rateLimited(log, 'warn', FAILURE_REPEAT_INTERVAL_MS);
  /** Tenant-scoped credentials without `$SRV.>`: one notice per link instead of one warning per control subject. */
  #serviceControlRefused = 0;

  private constructor(nc: NatsConnection) {
    this.nc = nc;
  }

  /**
   * Connects (one pass over the servers; a failure is reported through `notice`, once then
   * rate-limited, and rethrown for the mesh machine's back-off) and starts serving.
   */
  static async open(options: NodeConnectionOptions, subjects: LinkSubjects, handlers: LinkHandlers, notice?: FailureNotice): Promise<NatsLink> {
    const nc = await connectOnce(options, notice);
    const link = new NatsLink(nc);
    link.#serve(subjects, handlers);
    log.info('connected to broker', { server: nc.getServer() });
    return link;
  }

  #serve(subjects: LinkSubjects, handlers: LinkHandlers): void {
    const guard = (name: string, fn: RequestHandler) => (error: Error | null, msg: Msg) => {
      if (error) {
        log.warn('subscription error', { subject: name, error: error.message });
        return;
      }
      try {
        fn(msg, this.replySink(msg));
      } catch (e) {
        // A handler bug must never take the process down (bad input never crashes).
        log.error('handler threw', { subject: name, error: e as Error });
      }
    };
    this.#subscriptions.push(this.nc.subscribe(subjects.cmd, { callback: guard(subjects.cmd, handlers.onCommand) }));
    this.#subscriptions.push(this.nc.subscribe(subjects.broadcast, { callback: guard(subjects.broadcast, handlers.onBroadcast) }));
    if (subjects.supervisor && handlers.onSupervisor) {
      this.#subscriptions.push(this.nc.subscribe(subjects.supervisor, { callback: guard(subjects.supervisor, handlers.onSupervisor) }));
    }
    if (subjects.emergencyStop && handlers.onEmergencyStop) {
      const onEstop = handlers.onEmergencyStop;
      this.#subscriptions.push(this.nc.subscribe(subjects.emergencyStop, { callback: guard(subjects.emergencyStop, (msg) => onEstop(msg.subject, msg.string())) }));
    }
    if (subjects.probe && handlers.onProbe) {
      const onProbe = handlers.onProbe;
      this.#subscriptions.push(this.nc.subscribe(subjects.probe, { callback: guard(subjects.probe, () => onProbe()) }));
    }
    this.#onStatus = handlers.onStatus;
    const onStatus = (event: LinkEvent) => this.#onStatus(event);
    void this.#watchStatus(onStatus);
    void this.nc.closed().then((error) => {
      onStatus(error ? { type: 'nats.closed', error: error.message } : { type: 'nats.closed' });
    });
  }

  async #watchStatus(onStatus: (event: LinkEvent) => void): Promise<void> {
    for await (const status of this.nc.status()) {
      switch (status.type) {
        case 'disconnect':
          log.warn(this.nc.getServers().length > 1 ? `broker connection lost; reconnecting (the other servers at once, this one again after ~${RECONNECT_TIME_WAIT_MS / 1000} s)` : `broker connection lost; reconnecting every ~${RECONNECT_TIME_WAIT_MS / 1000} s`, { server: status.server });
          onStatus({ type: 'nats.disconnect' });
          break;
        case 'reconnect':
          log.info('reconnected to broker', { server: status.server });
          onStatus({ type: 'nats.reconnect' });
          break;
        case 'error':
          this.#brokerError(status.error);
          break;
        default:
          break;
      }
    }
  }

  /**
   * An asynchronous broker error: a refused `$SRV.*` subscription is folded into one notice (the
   * services library subscribes to nine of them); anything else is classified and rate-limited.
   */
  #brokerError(error: Error): void {
    if (error instanceof errors.PermissionViolationError && error.operation === 'subscription' && error.subject.startsWith(SERVICE_CONTROL_PREFIX)) {
      this.#serviceControlRefused += 1;
      if (this.#serviceControlRefused === 1) {
        log.warn(
          'these credentials may not subscribe to $SRV.>: NATS micro-service discovery ($SRV.PING/INFO/STATS, `nats micro ls`) is off for this device; .cmd and .svc.<function> still work. To enable it, allow subscribe on "$SRV.>" for this user',
          { subject: error.subject },
        );
      } else {
        log.debug('$SRV subscription refused by the broker', { subject: error.subject, refused: this.#serviceControlRefused });
      }
      return;
    }
    const { cause, code } = causeOf(error);
    const advice = cause === 'authorization' ? ` — ${brokerAdvice(cause)}` : '';
    this.#warnBrokerError(`broker reported an error${advice}`, { cause, code, error });
  }

  /** The broker's negotiated max_payload (bytes); undefined until its INFO arrived. */
  maxPayload(): number | undefined {
    return this.nc.info?.max_payload;
  }

  /** Messages publish() dropped (over max_payload, or the client refused them). */
  droppedPublishes(): number {
    return this.#droppedPublishes;
  }

  /**
   * Publishes plain JSON text; never throws: what cannot go out (over the broker's negotiated
   * max_payload, or refused by the client) is dropped, counted and warned about (rate-limited).
   */
  publish(subject: string, body: string): boolean {
    if (this.nc.isClosed()) return false;
    const limit = this.maxPayload();
    const bytes = bodyBytes(body);
    if (limit !== undefined && bytes > limit) {
      this.#droppedPublishes += 1;
      this.#warnDropped('message dropped: over the broker max_payload', { subject, bytes, max_payload: limit });
      return false;
    }
    try {
      this.nc.publish(subject, body);
      return true;
    } catch (error) {
      this.#droppedPublishes += 1;
      this.#warnDropped('publish failed; message dropped', { subject, error: error as Error });
      return false;
    }
  }

  /** Where the reply to `msg` goes: its reply inbox, or the reply's own subject (broadcasts). Sending may throw. */
  replySink(msg: Msg): ReplySink {
    return {
      maxPayload: () => this.maxPayload(),
      bytesOver: (reply: WireReply, limit: number) => bytesOver(reply.body, NO_HEADERS, limit),
      send: (reply: WireReply) => {
        if (this.nc.isClosed()) return;
        // To the request's own inbox: `respond`, which skips the client's subject check (a regular
        // expression per reply) on an inbox the broker gave; a reply on its own subject is published.
        if (reply.subject === undefined) msg.respond(reply.body);
        else this.nc.publish(reply.subject, reply.body);
      },
    };
  }

  async request(subject: string, body: string, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
    const reply = await this.nc.request(subject, body, { timeout: timeoutMs });
    if (signal?.aborted) throw new Error('aborted');
    return reply.json();
  }

  /**
   * No more calls: each subscription is drained (unsubscribed; what the broker sent before is still
   * handed to its handler). The connection stays open for the replies, so the owner can answer the
   * calls in hand before `drain`; resolves once the broker has confirmed. Never throws.
   */
  async stopIntake(): Promise<void> {
    if (this.nc.isClosed()) return;
    await Promise.allSettled(this.#subscriptions.filter((sub) => !sub.isClosed() && !sub.isDraining()).map((sub) => sub.drain()));
  }

  /**
   * Detaches the status listener first (the mesh that drains, or stopped while dialing, hears nothing
   * more from this connection), then drains: flushes and closes.
   */
  async drain(): Promise<void> {
    this.#onStatus = () => undefined;
    if (this.#closing || this.nc.isClosed()) return;
    this.#closing = true;
    try {
      await this.nc.drain();
    } catch {
      await this.nc.close();
    }
  }
}

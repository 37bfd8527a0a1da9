// The device's NATS connection (device-connect-protocol.md §1–§2): connects with the configured
// options, serves `.cmd` (plain subscription, no queue group, callback form), `.broadcast` and,
// in d2d mode, `discovery.probe`; publishes heartbeats, presence, events and replies; and turns
// nats.js status events into `nats.*` machine events at this boundary. Owns the NatsConnection;
// does not decide what to answer (the device runtime and the RPC gate do).
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { createLogger } from '../logging/logger.ts';

const log = createLogger('nats');

/** How long a request/reply to the registry may take (Python `DEVICE_CONNECT_REGISTER_TIMEOUT`). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

export type LinkEvent = { type: 'nats.disconnect' } | { type: 'nats.reconnect' } | { type: 'nats.closed'; error?: string };

export interface LinkHandlers {
  readonly onCommand: (msg: Msg) => void;
  readonly onBroadcast: (msg: Msg) => void;
  readonly onProbe?: () => void;
  readonly onSupervisor?: (msg: Msg) => void;
  readonly onStatus: (event: LinkEvent) => void;
}

export interface LinkSubjects {
  readonly cmd: string;
  readonly broadcast: string;
  readonly probe?: string;
  readonly supervisor?: string;
}

export class NatsLink {
  readonly nc: NatsConnection;
  readonly #subscriptions: Subscription[] = [];
  #closing = false;

  private constructor(nc: NatsConnection) {
    this.nc = nc;
  }

  /** Connects (waiting for the first connection as long as it takes) and starts serving. */
  static async open(options: NodeConnectionOptions, subjects: LinkSubjects, handlers: LinkHandlers): Promise<NatsLink> {
    const nc = await connect(options);
    const link = new NatsLink(nc);
    link.#serve(subjects, handlers);
    log.info('connected to broker', { server: nc.getServer() });
    return link;
  }

  #serve(subjects: LinkSubjects, handlers: LinkHandlers): void {
    const guard = (name: string, fn: (msg: Msg) => void) => (error: Error | null, msg: Msg) => {
      if (error) {
        log.warn('subscription error', { subject: name, error: error.message });
        return;
      }
      try {
        fn(msg);
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
    if (subjects.probe && handlers.onProbe) {
      const onProbe = handlers.onProbe;
      this.#subscriptions.push(this.nc.subscribe(subjects.probe, { callback: guard(subjects.probe, () => onProbe()) }));
    }
    void this.#watchStatus(handlers.onStatus);
    void this.nc.closed().then((error) => {
      handlers.onStatus(error ? { type: 'nats.closed', error: error.message } : { type: 'nats.closed' });
    });
  }

  async #watchStatus(onStatus: (event: LinkEvent) => void): Promise<void> {
    for await (const status of this.nc.status()) {
      switch (status.type) {
        case 'disconnect':
          log.warn('broker connection lost; reconnecting', { server: status.server });
          onStatus({ type: 'nats.disconnect' });
          break;
        case 'reconnect':
          log.info('reconnected to broker', { server: status.server });
          onStatus({ type: 'nats.reconnect' });
          break;
        case 'error':
          log.warn('broker reported an error', { error: status.error });
          break;
        default:
          break;
      }
    }
  }

  publish(subject: string, body: string): void {
    if (this.nc.isClosed()) return;
    try {
      this.nc.publish(subject, body);
    } catch (error) {
      log.warn('publish failed', { subject, error: error as Error });
    }
  }

  async request(subject: string, body: string, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
    const reply = await this.nc.request(subject, body, { timeout: timeoutMs });
    if (signal?.aborted) throw new Error('aborted');
    return reply.json();
  }

  async drain(): Promise<void> {
    if (this.#closing || this.nc.isClosed()) return;
    this.#closing = true;
    try {
      await this.nc.drain();
    } catch {
      await this.nc.close();
    }
  }
}

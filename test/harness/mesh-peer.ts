// Test-side peers on a real broker: a fake Device Connect registry (answers registerDevice with a
// UUID, records every request), a message recorder for any subject pattern, and a small
// `nextMessage` queue so tests read like wire transcripts. Owns nothing of the driver.
import { randomUUID } from 'node:crypto';
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';
import type { Msg, NatsConnection } from '@nats-io/nats-core';

export interface Recorded {
  readonly subject: string;
  readonly reply: string | undefined;
  readonly body: unknown;
  readonly text: string;
  readonly at: number;
}

export class MessageQueue {
  readonly messages: Recorded[] = [];
  #waiters: Array<{ match: (m: Recorded) => boolean; resolve: (m: Recorded) => void }> = [];
  #cursor = 0;

  push(m: Recorded): void {
    this.messages.push(m);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.match(m)) return true;
      w.resolve(m);
      return false;
    });
  }

  /** Resolves with the first message (already received or future) matching, after the cursor. */
  next(match: (m: Recorded) => boolean = () => true, timeoutMs = 5_000): Promise<Recorded> {
    for (let i = this.#cursor; i < this.messages.length; i++) {
      const m = this.messages[i]!;
      if (match(m)) {
        this.#cursor = i + 1;
        return Promise.resolve(m);
      }
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          this.#cursor = this.messages.length;
          resolve(m);
        },
      });
    });
  }

  /** Skip everything received so far. */
  drain(): void {
    this.#cursor = this.messages.length;
  }
}

function record(msg: Msg): Recorded {
  const text = msg.string();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep text
  }
  return { subject: msg.subject, reply: msg.reply || undefined, body, text, at: Date.now() };
}

export async function openClient(url: string, extra: Partial<NodeConnectionOptions> = {}): Promise<NatsConnection> {
  return await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 200, ...extra });
}

/** Subscribes to a pattern and queues every message. */
export function recorder(nc: NatsConnection, pattern: string): MessageQueue {
  const queue = new MessageQueue();
  nc.subscribe(pattern, { callback: (_e, msg) => queue.push(record(msg)) });
  return queue;
}

export interface FakeRegistry {
  readonly requests: MessageQueue;
  readonly registrationIds: string[];
  /** Replies with something that is not a registration id for the next n requests. */
  failNext(n: number): void;
}

/** Answers `registerDevice` on `device-connect.*.registry` like the real registry (§2.5). */
export function fakeRegistry(nc: NatsConnection): FakeRegistry {
  const requests = new MessageQueue();
  const registrationIds: string[] = [];
  let failures = 0;
  nc.subscribe('device-connect.*.registry', {
    queue: 'registry',
    callback: (_e, msg) => {
      const rec = record(msg);
      requests.push(rec);
      const id = (rec.body as { id?: unknown }).id ?? null;
      if (failures > 0) {
        failures -= 1;
        msg.respond(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32603, message: 'registry busy' } }));
        return;
      }
      const registrationId = randomUUID();
      registrationIds.push(registrationId);
      msg.respond(JSON.stringify({ jsonrpc: '2.0', id, result: { status: 'registered', device_registration_id: registrationId } }));
    },
  });
  return { requests, registrationIds, failNext: (n) => (failures = n) };
}

/** JSON-RPC request to a device's `.cmd`; returns the parsed reply body. */
export async function rpc(nc: NatsConnection, subject: string, body: unknown, timeoutMs = 5_000): Promise<Record<string, unknown>> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  const reply = await nc.request(subject, payload, { timeout: timeoutMs });
  return reply.json();
}

// The MCP bridge's memory of device events (the Python bridge's `EventSubscriptionManager`): one mesh
// event watch per device the agent touched (invoke, wait, resource), the latest event and a ring of
// recent ones per device (the dispatch→wait race), and a callback per event for resource updates.
// `wait_for_event` gets each event at most once, unlike the Python bridge (which hands it back again):
// the OLDEST unreturned match, so two refusals, two approvals or a burst of audio events come back in
// order (newest-first would skip one, then hand it back later, out of order); else the next to arrive,
// to the earliest-started matching wait only. Watches stay until `close()` (one agent per stdio
// bridge). Does not own the NATS connection nor the MCP wiring. README "Agents (MCP)".
import type { JsonObject } from '../client/device-record.ts';
import type { MeshClient } from '../client/mesh-client.ts';
import type { EventWatch } from '../client/event-watch.ts';
import { createLogger } from '../logging/logger.ts';

const log = createLogger('mcp:events');

/** agent-tools' `_RECENT_EVENTS_LIMIT`: covers a few progress events plus a terminal one before the wait begins. */
export const RECENT_EVENTS_LIMIT = 32;

/** `{device_id, event_name, params}`: what `wait_for_event` and the resource return (the Python shape). */
export interface BridgeEvent {
  readonly device_id: string;
  readonly event_name: string;
  readonly params: JsonObject;
}

export interface EventMatch {
  /** Empty: any event. */
  readonly eventName: string;
  /** Every key must be in the event's params with an equal (JSON) value. */
  readonly matchParams: JsonObject;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function matches(event: BridgeEvent, match: EventMatch): boolean {
  if (match.eventName && event.event_name !== match.eventName) return false;
  return Object.entries(match.matchParams).every(([key, value]) => key in event.params && sameJson(event.params[key], value));
}

interface Waiter {
  readonly match: EventMatch;
  /** Leaves the device's waiters at once (so no later event goes to a wait already over), then resolves. */
  readonly settle: (event: BridgeEvent | undefined) => void;
}

export class EventBuffer {
  private readonly client: MeshClient;
  private readonly onEvent: (deviceId: string) => void;
  private readonly watches = new Map<string, EventWatch>();
  private readonly recent = new Map<string, BridgeEvent[]>();
  /** Per device, in the order the waits began (a Set iterates in insertion order). */
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** Events some wait already got; they stay in the ring for `latest()`. */
  private readonly returned = new WeakSet<BridgeEvent>();

  /** `onEvent` is told the device id of every event that arrives (for resource notifications). */
  constructor(client: MeshClient, onEvent: (deviceId: string) => void) {
    this.client = client;
    this.onEvent = onEvent;
  }

  /** Starts watching the device's events (idempotent); resolves once the broker has the subscription. */
  async watch(deviceId: string): Promise<void> {
    let watch = this.watches.get(deviceId);
    if (!watch) {
      watch = this.client.events(deviceId);
      this.watches.set(deviceId, watch);
      void this.pump(deviceId, watch);
    }
    await watch.ready;
  }

  private async pump(deviceId: string, watch: EventWatch): Promise<void> {
    try {
      for await (const event of watch) this.record({ device_id: event.deviceId, event_name: event.name, params: event.params });
    } catch (error) {
      log.warn('event watch ended', { deviceId, error: error as Error });
    } finally {
      if (this.watches.get(deviceId) === watch) this.watches.delete(deviceId);
    }
  }

  private record(event: BridgeEvent): void {
    const ring = this.recent.get(event.device_id) ?? [];
    ring.push(event);
    if (ring.length > RECENT_EVENTS_LIMIT) ring.splice(0, ring.length - RECENT_EVENTS_LIMIT);
    this.recent.set(event.device_id, ring);
    const waiter = [...(this.waiters.get(event.device_id) ?? [])].find((w) => matches(event, w.match));
    if (waiter) {
      this.returned.add(event);
      waiter.settle(event);
    }
    this.onEvent(event.device_id);
  }

  /** The newest event of the device since the bridge began watching it, returned by a wait or not. */
  latest(deviceId: string): BridgeEvent | undefined {
    return this.recent.get(deviceId)?.at(-1);
  }

  /**
   * The oldest recent match no wait has had yet, else the next to arrive within `timeoutMs`; undefined
   * on timeout, close or abort. A wait its caller gave up (MCP cancel: the answer is never sent) keeps
   * nothing: what it took stays for the next wait.
   */
  async waitFor(deviceId: string, match: EventMatch, timeoutMs: number, signal?: AbortSignal): Promise<BridgeEvent | undefined> {
    const event = await this.find(deviceId, match, timeoutMs, signal);
    if (event && signal?.aborted) {
      this.returned.delete(event);
      return undefined;
    }
    return event;
  }

  private async find(deviceId: string, match: EventMatch, timeoutMs: number, signal?: AbortSignal): Promise<BridgeEvent | undefined> {
    const past = this.take(deviceId, match);
    if (past) return past;
    await this.watch(deviceId);
    return this.take(deviceId, match) ?? this.next(deviceId, match, timeoutMs, signal);
  }

  /** The oldest unreturned match in the ring, now marked returned. */
  private take(deviceId: string, match: EventMatch): BridgeEvent | undefined {
    const event = this.recent.get(deviceId)?.find((e) => !this.returned.has(e) && matches(e, match));
    if (event) this.returned.add(event);
    return event;
  }

  /** A pending wait: `record` settles it with a matching event; the timer, the signal or `close()` with undefined. */
  private next(deviceId: string, match: EventMatch, timeoutMs: number, signal?: AbortSignal): Promise<BridgeEvent | undefined> {
    const set = this.waiters.get(deviceId) ?? new Set<Waiter>();
    this.waiters.set(deviceId, set);
    return new Promise((resolve) => {
      const settle = (event: BridgeEvent | undefined): void => {
        set.delete(waiter);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(event);
      };
      const onAbort = (): void => settle(undefined);
      const waiter: Waiter = { match, settle };
      const timer = setTimeout(onAbort, timeoutMs);
      set.add(waiter);
      if (signal?.aborted) settle(undefined);
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Ends every watch and releases pending waits (they resolve as timeouts). */
  close(): void {
    for (const watch of this.watches.values()) watch.close();
    this.watches.clear();
    for (const set of this.waiters.values()) for (const waiter of [...set]) waiter.settle(undefined);
    this.waiters.clear();
  }
}

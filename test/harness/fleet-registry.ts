// A Device Connect registry for the fleet tests, replicated over several broker connections (one per
// cluster node) that share one table, as a real registry runs replicated: `registerDevice` on
// `device-connect.<tenant>.registry` (queue `registry`, §2.5) stores the device's record keyed by
// device_id and answers a fresh registration id; `discovery/listDevices` and `discovery/getDevice`
// on `device-connect.<tenant>.discovery` (queue `orch`, §2.9) answer from the table. Queue groups
// prefer a member on the caller's own node, so a node that dies takes only its own member away.
// Counts every registerDevice per device (the duplicate-registration check). Not the client or
// driver under test; no TTL expiry (the tests read the table while every device heartbeats).
import { randomUUID } from 'node:crypto';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';

export interface FleetRegistry {
  /** registerDevice requests received so far from `deviceId`. */
  registrations(deviceId: string): number;
  /** Device ids in the table. */
  deviceIds(): string[];
  stop(): void;
}

type Json = Record<string, unknown>;

function parse(msg: Msg): Json {
  try {
    const body: unknown = msg.json();
    return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Json) : {};
  } catch {
    return {};
  }
}

function answer(msg: Msg, id: unknown, result: unknown): void {
  msg.respond(JSON.stringify({ jsonrpc: '2.0', id: id ?? null, result }));
}

export function startFleetRegistry(connections: readonly NatsConnection[], tenant = 'default'): FleetRegistry {
  const table = new Map<string, Json>();
  const counts = new Map<string, number>();
  const subscriptions: Subscription[] = [];

  const onRegister = (msg: Msg): void => {
    const body = parse(msg);
    const params = (body['params'] ?? {}) as Json;
    const deviceId = params['device_id'];
    if (body['method'] !== 'registerDevice' || typeof deviceId !== 'string') {
      msg.respond(JSON.stringify({ jsonrpc: '2.0', id: body['id'] ?? null, error: { code: -32601, message: 'unknown registry method' } }));
      return;
    }
    counts.set(deviceId, (counts.get(deviceId) ?? 0) + 1);
    table.set(deviceId, params);
    answer(msg, body['id'], { status: 'registered', device_registration_id: randomUUID() });
  };

  const onDiscovery = (msg: Msg): void => {
    const body = parse(msg);
    const params = (body['params'] ?? {}) as Json;
    if (body['method'] === 'discovery/getDevice') {
      answer(msg, body['id'], { device: table.get(String(params['device_id'])) ?? null });
      return;
    }
    // One page holds the whole fleet: no next_offset (a legacy registry's answer, §2.9).
    answer(msg, body['id'], { devices: [...table.values()] });
  };

  for (const nc of connections) {
    subscriptions.push(nc.subscribe(`device-connect.${tenant}.registry`, { queue: 'registry', callback: (error, msg) => { if (!error) onRegister(msg); } }));
    subscriptions.push(nc.subscribe(`device-connect.${tenant}.discovery`, { queue: 'orch', callback: (error, msg) => { if (!error) onDiscovery(msg); } }));
  }
  return {
    registrations: (deviceId) => counts.get(deviceId) ?? 0,
    deviceIds: () => [...table.keys()],
    stop: () => subscriptions.forEach((s) => s.unsubscribe()),
  };
}

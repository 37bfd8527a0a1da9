// Fake Device Connect peers for the client tests, written with raw nats.js so they speak exactly the
// captured wire shapes (golden-wire.ts): a registry answering `discovery/*` on
// `device-connect.*.discovery` (queue `orch`, as the real one), devices answering `.cmd`, and a D2D
// device answering `discovery.probe` with its presence. Each fake records what it received so tests
// can assert the client's side of the transcript. Not the client under test; no assertions here.
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { golden } from './golden-wire.ts';

export interface Received {
  readonly subject: string;
  readonly reply: string | undefined;
  /** Body as sent by the client. */
  readonly data: string;
  readonly json: Record<string, unknown>;
}

function receive(msg: Msg): Received {
  const data = msg.string();
  let json: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(data);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
  } catch {
    // keep {}: the test looks at `data`
  }
  return { subject: msg.subject, reply: msg.reply || undefined, data, json };
}

/** A captured reply body with its JSON-RPC `id` swapped for the live request's id, every other byte kept. */
export function withId(capturedBody: string, id: unknown): string {
  const firstId = /"id": (?:"[^"]*"|\d+)/;
  if (!firstId.test(capturedBody)) throw new Error('captured body has no "id" to swap');
  return capturedBody.replace(firstId, `"id": ${JSON.stringify(id)}`);
}

/** Python `json.dumps` spacing (`, ` and `: `), for replies the captures do not contain verbatim. */
export function pyJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pyJson).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pyJson(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}

export interface Fake {
  readonly received: Received[];
  stop(): void;
}

/** Answers requests on one subject; `answer` returns the reply body, or undefined to stay silent (like a Python device given array params). */
export function fakeResponder(nc: NatsConnection, subject: string, answer: (request: Received) => string | undefined, queue?: string): Fake {
  const received: Received[] = [];
  const sub: Subscription = nc.subscribe(subject, {
    ...(queue ? { queue } : {}),
    callback: (err, msg) => {
      if (err) return;
      const request = receive(msg);
      received.push(request);
      const body = answer(request);
      if (body !== undefined) msg.respond(body);
    },
  });
  return { received, stop: () => sub.unsubscribe() };
}

/** Records plain publishes on a subject (probe, broadcast). */
export function listen(nc: NatsConnection, subject: string, onMessage?: (m: Received) => void): Fake {
  const received: Received[] = [];
  const sub = nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) return;
      const m = receive(msg);
      received.push(m);
      onMessage?.(m);
    },
  });
  return { received, stop: () => sub.unsubscribe() };
}

/** A JSON-RPC request as the fakes read it: its id, method and params (`{}` when it has none). */
interface RpcCall {
  readonly id: unknown;
  readonly method: unknown;
  readonly params: Record<string, unknown>;
}

function rpcCall(request: Received): RpcCall {
  return { id: request.json['id'], method: request.json['method'], params: (request.json['params'] ?? {}) as Record<string, unknown> };
}

/** A registry listening where the real one does (`device-connect.*.discovery`, queue `orch`); `answer` gets each request's call. */
function fakeRegistry(nc: NatsConnection, answer: (call: RpcCall) => string): Fake {
  return fakeResponder(nc, 'device-connect.*.discovery', (req) => answer(rpcCall(req)), 'orch');
}

/** The registry as captured: listDevices → the captured two-device page, getDevice → the captured rng-001 record or `{"device": null}`. */
export function capturedRegistry(nc: NatsConnection): Fake {
  return fakeRegistry(nc, ({ id, method, params }) => {
    switch (method) {
      case 'discovery/listDevices':
        return withId(golden.listDevicesReply.data, id);
      case 'discovery/getDevice':
        return params['device_id'] === 'rng-001'
          ? withId(golden.getDeviceReply.data, id)
          : pyJson({ jsonrpc: '2.0', id, result: { device: null } });
      default:
        return pyJson({ jsonrpc: '2.0', id, error: { code: -32601, message: 'method not found' } });
    }
  });
}

/** Registry records of the captured rng-001, cloned under other ids (for paging). */
export function cloneRecords(count: number): Record<string, unknown>[] {
  const template = (JSON.parse(golden.getDeviceReply.data) as { result: { device: Record<string, unknown> } }).result.device;
  return Array.from({ length: count }, (_, i) => ({ ...template, device_id: `rng-${String(i).padStart(3, '0')}` }));
}

/** A registry that pages like the real one (§2.9): `{"devices","next_offset","total_matched"}`, limit capped at 200. */
export function pagingRegistry(nc: NatsConnection, records: readonly Record<string, unknown>[]): Fake {
  return fakeRegistry(nc, ({ id, params }) => {
    const offset = typeof params['offset'] === 'number' ? params['offset'] : 0;
    const limit = Math.min(typeof params['limit'] === 'number' ? params['limit'] : records.length, 200);
    const page = records.slice(offset, offset + limit);
    const next = offset + limit < records.length ? offset + limit : null;
    return pyJson({ jsonrpc: '2.0', id, result: { devices: page, next_offset: next, total_matched: records.length } });
  });
}

/** rng-001 as captured: generate → the captured result, anything else → the captured -32601; `bogus` → the captured -32000. */
export function capturedRng001(nc: NatsConnection): Fake {
  return fakeResponder(nc, 'device-connect.default.rng-001.cmd', (req) => {
    const { id, method, params } = rpcCall(req);
    if (method === 'generate') {
      return 'bogus' in params ? withId(golden.handlerErrorReply.data, id) : withId(golden.generateReply.data, id);
    }
    return pyJson({ jsonrpc: '2.0', id, error: { code: -32601, message: `Unknown method: ${String(method)}` } });
  });
}

/** A D2D device (tenant `lab`): answers every probe with its captured presence at once, and can depart. */
export function capturedD2dDevice(nc: NatsConnection): Fake & { announce(): void; depart(): void } {
  const presence = () => nc.publish(golden.whoD2dPresence.subject, golden.whoD2dPresence.data);
  const probes = listen(nc, golden.discoveryProbe.subject, () => presence());
  return {
    received: probes.received,
    stop: probes.stop,
    announce: presence,
    depart: () => nc.publish(golden.whoD2dDeparting.subject, golden.whoD2dDeparting.data),
  };
}

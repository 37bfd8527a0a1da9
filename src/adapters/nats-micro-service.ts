// The RPC functions as a NATS micro service (`$SRV.PING/INFO/STATS`, ecosystem §3.3): one endpoint
// per function on `device-connect.<tenant>.<device_id>.svc.<function>`, in one queue group, the params
// object as body, the result JSON or a service error (code + description, body = the JSON-RPC error)
// as answer. Each request goes to `serve` (actors/mesh-entry.ts: the decode, caller, gate and size
// check of `.cmd`) with a reply sink through the service message. Owns the endpoints, their error
// counts (the library counts only handlers that throw: replies with errors are counted in each
// endpoint's `data`; `.cmd` traffic is not) and the make-before-break swap of one instance for the
// next (`replaceMicroService`). `$SRV.*` replies cannot throw (guardedConnection).
import * as Data from 'effect/Data';
import { headers, type Msg, type NatsConnection, type SubscriptionOptions } from '@nats-io/nats-core';
import { ServiceErrorCodeHeader, ServiceErrorHeader, Svcm, type ServiceMsg } from '@nats-io/services';
import { createLogger } from '../logging/logger.ts';
import { rateLimited } from '../logging/rate-limited.ts';
import { SUBJECT_PREFIX } from '../protocol/subjects.ts';
import type { ReplySink, WireReply } from '../protocol/mesh-wire.ts';
import type { AnyRpcFunction } from '../rpc/function-def.ts';
import { bodyBytes, bytesOver } from './nats-link.ts';

const log = createLogger('nats');

/** Prefix of the services library's control subjects (`$SRV.PING|INFO|STATS…`, not exported by it). */
const SERVICE_API_PREFIX = '$SRV.';

/** At most one warning per interval about `$SRV.*` replies that could not be sent (e.g. INFO over max_payload). */
export const CONTROL_REPLY_WARNING_INTERVAL_MS = 10_000;

/** Service name shown by `nats micro ls`; one instance per robot, told apart by metadata. */
export const MICRO_SERVICE_NAME = 'reachy-mini-driver';

/**
 * The queue group of every endpoint. A re-advertise starts the new instance before the old one
 * drains (src/actors/device-runtime.ts), so for a moment both listen on each `.svc.<fn>`: in one
 * queue group the broker hands each request to exactly one of them (without one, both would run
 * it — a goto sent twice). Queue groups are per subject, so one name serves every device.
 */
export const MICRO_SERVICE_QUEUE = 'reachy-mini-driver';

/** A started service that stopped itself before its endpoints were up (the broker refused one of its subscriptions). */
export class MicroServiceStopped extends Data.TaggedError('MicroServiceStopped')<{ readonly message: string }> {}

export interface MicroServiceOptions {
  readonly deviceId: string;
  readonly tenant: string;
  readonly version: string;
  readonly functions: ReadonlyArray<AnyRpcFunction>;
  /** Answers one endpoint request through `sink`; must not throw (the mesh entry catches everything). */
  readonly serve: (method: string, data: Uint8Array, sink: ReplySink, subject: string) => void;
}

export interface MicroService {
  stop(): Promise<void>;
}

export function microServiceGroup(tenant: string, deviceId: string): string {
  return `${SUBJECT_PREFIX}.${tenant}.${deviceId}.svc`;
}

interface EndpointCounters {
  errors: number;
  lastErrorTag: string | null;
}

export async function startMicroService(nc: NatsConnection, options: MicroServiceOptions): Promise<MicroService> {
  const counters = new Map<string, EndpointCounters>(options.functions.map((fn) => [`${microServiceGroup(options.tenant, options.deviceId)}.${fn.name}`, { errors: 0, lastErrorTag: null }]));
  const countError = (subject: string, tag: string) => {
    const c = counters.get(subject);
    if (!c) return;
    c.errors += 1;
    c.lastErrorTag = tag;
  };
  const service = await new Svcm(guardedConnection(nc)).add({
    name: MICRO_SERVICE_NAME,
    version: options.version,
    description: 'Reachy Mini Device Connect driver: the .cmd functions as micro-service endpoints',
    metadata: { device_id: options.deviceId, tenant: options.tenant, device_type: 'reachy_mini' },
    queue: MICRO_SERVICE_QUEUE,
    statsHandler: async (endpoint) => {
      const c = counters.get(endpoint.subject);
      return c ? { errors: c.errors, last_error_tag: c.lastErrorTag } : null;
    },
  });
  const group = service.addGroup(microServiceGroup(options.tenant, options.deviceId));
  for (const fn of options.functions) {
    group.addEndpoint(fn.name, {
      metadata: { description: fn.description.slice(0, 200), parameters: JSON.stringify(fn.params.jsonSchema), direction: fn.labels.direction, safety: fn.labels.safety },
      handler: (err, msg) => {
        if (err) return;
        options.serve(fn.name, msg.data, endpointSink(nc, msg, (tag) => countError(msg.subject, tag)), msg.subject);
      },
    });
  }
  // Every subscription reached the broker (and any refusal of one came back) before this resolves.
  await nc.flush();
  if (service.isStopped) {
    const cause = await service.stopped;
    throw new MicroServiceStopped({ message: `the micro service stopped as it started${cause ? `: ${cause.message}` : ''}` });
  }
  return {
    async stop() {
      await service.stop();
    },
  };
}

/**
 * Make before break: starts the next instance and, once it is up on the broker (`startMicroService`
 * resolves only then), drains `current`; meanwhile both listen in MICRO_SERVICE_QUEUE, so each
 * request is served by exactly one of them. A next instance that cannot start is logged and
 * `current` keeps answering (with the schemas it advertised); one no longer `wanted` once it is up
 * (its connection was replaced meanwhile) is stopped instead. Answers the instance serving now.
 */
export async function replaceMicroService(current: MicroService | undefined, start: () => Promise<MicroService>, wanted: () => boolean = () => true): Promise<MicroService | undefined> {
  let next: MicroService;
  try {
    next = await start();
  } catch (error) {
    log.warn(current ? 'micro service not replaced: the previous one keeps answering, with the ranges it advertised' : 'micro service surface unavailable', { error: error as Error });
    return current;
  }
  if (!wanted()) {
    await next.stop().catch(() => undefined);
    return current;
  }
  await current?.stop().catch(() => undefined);
  return next;
}

/** Bytes of the service-error headers respondError adds (they count against max_payload too). */
function serviceErrorHeaderBytes(code: number, description: string): number {
  const h = headers();
  h.set(ServiceErrorCodeHeader, `${code}`);
  h.set(ServiceErrorHeader, description);
  return bodyBytes(String(h));
}

/** The reply side of one endpoint request; error replies are counted for STATS when sent. */
function endpointSink(nc: NatsConnection, msg: ServiceMsg, countError: (tag: string) => void): ReplySink {
  return {
    maxPayload: () => nc.info?.max_payload,
    bytesOver: (reply: WireReply, limit: number) => bytesOver(reply.body, () => (reply.serviceError ? serviceErrorHeaderBytes(reply.serviceError.code, reply.serviceError.description) : 0), limit),
    send: (reply: WireReply) => {
      if (reply.errorTag !== undefined) countError(reply.errorTag);
      if (reply.serviceError) msg.respondError(reply.serviceError.code, reply.serviceError.description, reply.body);
      else msg.respond(reply.body);
    },
  };
}

/** Service-error headers for a control reply that could not be sent (413 as in HTTP "Payload Too Large"). */
function controlErrorHeaders(maxPayload: number | undefined) {
  const h = headers();
  h.set(ServiceErrorCodeHeader, '413');
  h.set(ServiceErrorHeader, `reply not sent: over the broker max_payload (${maxPayload ?? 'unknown'} bytes) or the connection refused it`);
  return h;
}

/**
 * `nc` as the services library sees it: messages on its `$SRV.*` control subjects answer through a
 * respond() that never throws. The library's STATS handler responds inside a promise nobody
 * catches, so a STATS or INFO reply over the broker's max_payload (INFO lists every parameter
 * schema: tens of KB) was an unhandled rejection that ended the process with code 1. Endpoint
 * subjects are untouched: their replies are size-checked by the mesh entry before sending.
 */
function guardedConnection(nc: NatsConnection): NatsConnection {
  const warn = rateLimited(log, 'warn', CONTROL_REPLY_WARNING_INTERVAL_MS);
  const guard = (msg: Msg): Msg => {
    const respond = msg.respond.bind(msg);
    msg.respond = (...args: Parameters<Msg['respond']>) => {
      try {
        return respond(...args);
      } catch (error) {
        warn('micro-service control reply not sent; answered with a service error', { subject: msg.subject, max_payload: nc.info?.max_payload, error: error as Error });
        try {
          // The caller learns why instead of timing out (a small reply: headers only).
          return respond(undefined, { headers: controlErrorHeaders(nc.info?.max_payload) });
        } catch {
          return false;
        }
      }
    };
    return msg;
  };
  return new Proxy(nc, {
    get(target, property) {
      if (property === 'subscribe') {
        return (subject: string, opts?: SubscriptionOptions) => {
          const callback = opts?.callback;
          if (!callback || !subject.startsWith(SERVICE_API_PREFIX)) return target.subscribe(subject, opts);
          return target.subscribe(subject, { ...opts, callback: (error, msg) => callback(error, msg ? guard(msg) : msg) });
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

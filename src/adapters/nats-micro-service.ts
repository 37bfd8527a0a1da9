// The same RPC functions exposed as a NATS micro service (`$SRV.PING/INFO/STATS`, ecosystem §3.3):
// one endpoint per function on `device-connect.<tenant>.<device_id>.svc.<function>`, taking the
// params object as the body and answering the result JSON or a service error (code + description,
// body = JSON-RPC error object). Every call still goes through the RPC gate. STATS gives per-
// endpoint `num_requests`; the library counts `num_errors` only for handlers that throw
// synchronously, so our answers go in each endpoint's `data` ({errors, last_error_tag}), kept here.
// `.cmd` traffic is not counted (it is not an endpoint).
import type { NatsConnection } from '@nats-io/nats-core';
import { Svcm } from '@nats-io/services';
import { InvalidRequest, toJsonRpcError } from '../errors.ts';
import { SUBJECT_PREFIX } from '../protocol/subjects.ts';
import type { AnyRpcFunction } from '../rpc/function-def.ts';
import type { RpcGate } from '../actors/rpc-gate.ts';

/** Service name shown by `nats micro ls`; one instance per robot, told apart by metadata. */
export const MICRO_SERVICE_NAME = 'reachy-mini-driver';

export interface MicroServiceOptions {
  readonly deviceId: string;
  readonly tenant: string;
  readonly version: string;
  readonly functions: ReadonlyArray<AnyRpcFunction>;
  readonly gate: RpcGate;
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
  const service = await new Svcm(nc).add({
    name: MICRO_SERVICE_NAME,
    version: options.version,
    description: 'Reachy Mini Device Connect driver: the .cmd functions as micro-service endpoints',
    metadata: { device_id: options.deviceId, tenant: options.tenant, device_type: 'reachy_mini' },
    // Each device owns its subjects; no queue group, like `.cmd`.
    queue: '',
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
        let params: unknown = {};
        if (msg.data.byteLength > 0) {
          try {
            params = msg.json();
          } catch {
            params = undefined;
          }
        }
        if (typeof params !== 'object' || params === null || Array.isArray(params)) {
          const error = toJsonRpcError(new InvalidRequest({ message: 'the body must be a JSON object of named parameters' }), fn.name);
          countError(msg.subject, 'InvalidRequest');
          msg.respondError(error.code, error.message, JSON.stringify(error));
          return;
        }
        const { _dc_meta: _meta, ...named } = params as Record<string, unknown>;
        void options.gate.call(fn.name, named, { sourceDevice: null, traceId: null }).then((outcome) => {
          if (outcome.ok) msg.respond(JSON.stringify(outcome.result ?? null));
          else {
            const error = toJsonRpcError(outcome.error, fn.name);
            countError(msg.subject, outcome.error._tag);
            msg.respondError(error.code, error.message, JSON.stringify(error));
          }
        });
      },
    });
  }
  return {
    async stop() {
      await service.stop();
    },
  };
}

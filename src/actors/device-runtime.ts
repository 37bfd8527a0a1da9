// Composes the device on the mesh: the mesh machine (with its I/O provided here), the NATS link,
// the RPC gate in front of the driver machine, event publishing, broadcasts, `requestRegistration`,
// and the NATS micro-service view of the same functions (device-connect-protocol.md §1–§5).
// Owns the wiring between them, not the decisions (machines) nor the wire codec (protocol/).
import type { Msg } from '@nats-io/nats-core';
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { createActor, fromPromise, type Actor } from 'xstate';
import { InvalidRequest } from '../errors.ts';
import { createLogger } from '../logging/logger.ts';
import { meshMachine, meshStateName, type MeshMachine, type RegistrationOutput } from '../machines/mesh.machine.ts';
import { NatsLink, type LinkEvent } from '../adapters/nats-link.ts';
import { startMicroService, type MicroService } from '../adapters/nats-micro-service.ts';
import {
  capabilities,
  departingPayload,
  heartbeatPayload,
  presencePayload,
  registrationIdOf,
  registrationParams,
  type DeviceStatusInput,
} from '../protocol/capabilities.ts';
import { decodeRequest, encodeError, encodeEvent, encodeResult, type CallerMeta } from '../protocol/json-rpc.ts';
import { subjects } from '../protocol/subjects.ts';
import type { AnyRpcFunction, EventDefinition } from '../rpc/function-def.ts';
import type { RpcGate } from './rpc-gate.ts';

const log = createLogger('mesh');

/** The built-in method the registry uses to pull a registration (§2.7). */
export const REQUEST_REGISTRATION_METHOD = 'requestRegistration';
/** Longest broadcast body handled; broadcasts carry a function name and small params. */
export const MAX_BROADCAST_BYTES = 64 * 1024;

export interface DeviceRuntimeOptions {
  readonly deviceId: string;
  readonly tenant: string;
  readonly discoveryMode: 'infra' | 'd2d';
  readonly deviceTtlS: number;
  readonly registerTimeoutMs: number;
  readonly registerJitterMs: number;
  readonly connectionOptions: NodeConnectionOptions;
  readonly functions: ReadonlyArray<AnyRpcFunction>;
  readonly events: ReadonlyArray<EventDefinition>;
  readonly gate: RpcGate;
  /** Privileged functions served on `.supervisor` (broker ACLs restrict who may publish there). */
  readonly supervisorGate?: RpcGate;
  /** Live availability for registration, presence and heartbeats. */
  readonly status: () => DeviceStatusInput;
  readonly version: string;
  readonly onMeshState?: (state: string, at: number) => void;
  readonly now?: () => number;
  /** Stately inspector observer (sanitised), when `--inspect` is on. */
  readonly inspect?: import('xstate').Observer<import('xstate').InspectionEvent>;
}

export interface DeviceRuntime {
  readonly mesh: Actor<MeshMachine>;
  /** Publishes a JSON-RPC notification on `.event.<name>` with event_id/ts added. */
  emitEvent(name: string, payload: Record<string, unknown>): void;
  /** Publishes plain JSON on a subject of this device (audit trail). */
  publish(subject: string, body: unknown): void;
  stop(): Promise<void>;
  registrationCount(): number;
}

export function startDeviceRuntime(options: DeviceRuntimeOptions): DeviceRuntime {
  const now = options.now ?? Date.now;
  const caps = capabilities(options.functions, options.events);
  const registration = () => ({ deviceId: options.deviceId, deviceTtlS: options.deviceTtlS, capabilities: caps, status: options.status(), firmwareVersion: options.version });
  const cmdSubject = subjects.cmd(options.tenant, options.deviceId);
  let link: NatsLink | undefined;
  let micro: MicroService | undefined;

  const reply = (msg: Msg, body: string): void => {
    if (msg.reply) link?.publish(msg.reply, body);
  };

  const answer = async (gate: RpcGate, builtins: boolean, msg: Msg, id: string | number, method: string, params: Record<string, unknown>, caller: CallerMeta): Promise<void> => {
    if (builtins && method === REQUEST_REGISTRATION_METHOD) {
      reply(msg, encodeResult(id, registrationParams(registration(), now())));
      return;
    }
    const outcome = await gate.call(method, params, caller);
    reply(msg, outcome.ok ? encodeResult(id, outcome.result) : encodeError(id, outcome.error, method));
  };

  const serve = (gate: RpcGate, builtins: boolean) => (msg: Msg): void => {
    const decoded = decodeRequest(msg.data);
    if (decoded.kind === 'notification') return; // JSON-RPC: no id, no reply (§2.1).
    if (decoded.kind === 'invalid') {
      reply(msg, encodeError(decoded.id, decoded.error));
      return;
    }
    void answer(gate, builtins, msg, decoded.id, decoded.method, decoded.params, decoded.caller).catch((error: unknown) => {
      log.error('command failed unexpectedly', { method: decoded.method, error: error as Error });
    });
  };
  const onCommand = serve(options.gate, true);
  const onSupervisor = options.supervisorGate ? serve(options.supervisorGate, false) : undefined;

  const onBroadcast = (msg: Msg): void => {
    if (msg.data.byteLength > MAX_BROADCAST_BYTES) return;
    let doc: unknown;
    try {
      doc = msg.json();
    } catch {
      return;
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return;
    const { correlation_id: correlationId, function: fn, params, targets } = doc as Record<string, unknown>;
    if (typeof correlationId !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(correlationId) || typeof fn !== 'string') return;
    if (Array.isArray(targets) && targets.length > 0 && !targets.includes(options.deviceId)) return;
    const replySubject = subjects.asyncReply(options.tenant, options.deviceId, correlationId);
    const base = { correlation_id: correlationId, device_id: options.deviceId };
    if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
      const error = new InvalidRequest({ message: 'broadcast params must be an object' });
      link?.publish(replySubject, JSON.stringify({ ...base, success: false, error: { code: 'invoke_failed', message: error.message, _tag: error._tag }, actually_fired_at: now() / 1000 }));
      return;
    }
    const { _dc_meta: _meta, ...named } = (params ?? {}) as Record<string, unknown>;
    void options.gate.call(fn, named, { sourceDevice: null, traceId: null }).then((outcome) => {
      const body = outcome.ok
        ? { ...base, success: true, result: outcome.result, actually_fired_at: now() / 1000 }
        : { ...base, success: false, error: { code: 'invoke_failed', message: outcome.error.message, _tag: outcome.error._tag }, actually_fired_at: now() / 1000 };
      link?.publish(replySubject, JSON.stringify(body));
    });
  };

  const meshLogic = meshMachine.provide({
    actors: {
      connect: fromPromise(async ({ signal }) => {
        const handlers = {
          onCommand,
          onBroadcast,
          ...(onSupervisor ? { onSupervisor } : {}),
          onStatus: (event: LinkEvent) => mesh.send(event),
          ...(options.discoveryMode === 'd2d' ? { onProbe: () => mesh.send({ type: 'nats.probe' }) } : {}),
        };
        const opened = await NatsLink.open(
          options.connectionOptions,
          {
            cmd: cmdSubject,
            broadcast: subjects.broadcast(options.tenant),
            ...(onSupervisor ? { supervisor: subjects.supervisor(options.tenant, options.deviceId) } : {}),
            ...(options.discoveryMode === 'd2d' ? { probe: subjects.probe(options.tenant) } : {}),
          },
          handlers,
        );
        if (signal.aborted) {
          // The mesh was stopped while dialing: do not leave a live connection behind.
          await opened.drain();
          throw new Error('stopped while connecting');
        }
        link = opened;
        micro = await startMicroService(link.nc, {
          deviceId: options.deviceId,
          tenant: options.tenant,
          version: options.version,
          functions: options.functions,
          gate: options.gate,
        }).catch((error: unknown) => {
          log.warn('micro service surface unavailable', { error: error as Error });
          return undefined;
        });
      }),
      registerDevice: fromPromise<RegistrationOutput, { attempt: number }>(async ({ input }) => {
        if (!link) throw new Error('not connected');
        const body = JSON.stringify({ jsonrpc: '2.0', id: `${options.deviceId}-${now()}`, method: 'registerDevice', params: registrationParams(registration(), now()) });
        let replyDoc: unknown;
        try {
          replyDoc = await link.request(subjects.registry(options.tenant), body, options.registerTimeoutMs);
        } catch (error) {
          // Say it loudly once; a registry-less mesh would otherwise fill the log for ever.
          if (input.attempt === 0) {
            log.warn('registration attempt failed; retrying with back-off (for a mesh without a registry use --discovery-mode d2d)', { error: error as Error });
          } else {
            log.debug('registration attempt failed', { attempt: input.attempt + 1, error: error as Error });
          }
          throw error;
        }
        const registrationId = registrationIdOf(replyDoc);
        if (!registrationId) {
          log.warn('registry reply had no registration id', { attempt: input.attempt + 1, reply: replyDoc });
          throw new Error('registry reply carried no UUID device_registration_id');
        }
        return { registrationId };
      }),
      drain: fromPromise(async () => {
        await micro?.stop().catch(() => undefined);
        await link?.drain();
      }),
    },
    actions: {
      publishHeartbeat: () => link?.publish(subjects.heartbeat(options.tenant, options.deviceId), JSON.stringify(heartbeatPayload(options.deviceId, options.status(), now()))),
      publishPresence: () => link?.publish(subjects.presence(options.tenant, options.deviceId), JSON.stringify(presencePayload(registration(), now()))),
      publishDeparting: () => {
        if (options.discoveryMode === 'd2d') link?.publish(subjects.presence(options.tenant, options.deviceId), JSON.stringify(departingPayload(options.deviceId, options.tenant, now())));
      },
      notifyRegistered: ({ context }) => log.info('registered with the registry', { device_id: options.deviceId, tenant: options.tenant, registration_id: context.registrationId }),
    },
  });

  const mesh: Actor<MeshMachine> = createActor(meshLogic, {
    systemId: 'mesh',
    ...(options.inspect ? { inspect: options.inspect } : {}),
    input: {
      deviceId: options.deviceId,
      tenant: options.tenant,
      discoveryMode: options.discoveryMode,
      deviceTtlS: options.deviceTtlS,
      registerJitterMs: options.registerJitterMs,
    },
  });
  let lastState = '';
  mesh.subscribe((snapshot) => {
    const name = meshStateName(snapshot.value);
    if (name === lastState) return;
    lastState = name;
    log.debug('mesh state', { state: name });
    options.onMeshState?.(name, now());
  });
  mesh.start();

  return {
    mesh,
    emitEvent(name, payload) {
      link?.publish(subjects.event(options.tenant, options.deviceId, name), encodeEvent(name, payload, now()));
    },
    publish(subject, body) {
      link?.publish(subject, JSON.stringify(body));
    },
    async stop() {
      if (mesh.getSnapshot().status === 'done') return;
      await new Promise<void>((resolve) => {
        const sub = mesh.subscribe({ complete: () => resolve() });
        if (mesh.getSnapshot().status === 'done') {
          sub.unsubscribe();
          resolve();
          return;
        }
        mesh.send({ type: 'mesh.stop' });
      });
    },
    registrationCount: () => mesh.getSnapshot().context.registrations,
  };
}


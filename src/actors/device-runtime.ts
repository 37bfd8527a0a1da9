// Composes the device on the mesh: the mesh machine (with its I/O provided here), the NATS link,
// the one mesh entry (actors/mesh-entry.ts) that answers `.cmd`, `.supervisor`, `.svc.<fn>` and
// broadcasts through the RPC gates, event publishing, `requestRegistration`, and the NATS
// micro-service view of the same functions (device-connect-protocol.md §1–§5).
// Owns the wiring between them, not the decisions (machines) nor the wire codec (protocol/).
import type { Msg } from '@nats-io/nats-core';
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { createActor, fromPromise, type Actor } from 'xstate';
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
import { encodeEvent } from '../protocol/json-rpc.ts';
import { broadcastWire, cmdWire, svcWire, type MeshWire, type ReplySink } from '../protocol/mesh-wire.ts';
import { subjects } from '../protocol/subjects.ts';
import type { AnyRpcFunction, EventDefinition } from '../rpc/function-def.ts';
import { createMeshEntry, withBuiltins, type MeshEntryCounters } from './mesh-entry.ts';
import type { RpcGate } from './rpc-gate.ts';

const log = createLogger('mesh');

/** The built-in method the registry uses to pull a registration (§2.7). */
export const REQUEST_REGISTRATION_METHOD = 'requestRegistration';

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
  /** Publishes plain JSON on a subject of this device (audit trail). Never throws; oversize is dropped. */
  publish(subject: string, body: unknown): void;
  /** Replies answered with PayloadTooLarge or dropped, and publishes dropped, since start. */
  meshCounters(): MeshCounters;
  stop(): Promise<void>;
  registrationCount(): number;
}

export interface MeshCounters extends MeshEntryCounters {
  /** Events, audit records, presence… dropped by the link (over max_payload or refused). */
  readonly droppedPublishes: number;
}

export function startDeviceRuntime(options: DeviceRuntimeOptions): DeviceRuntime {
  const now = options.now ?? Date.now;
  const caps = capabilities(options.functions, options.events);
  const registration = () => ({ deviceId: options.deviceId, deviceTtlS: options.deviceTtlS, capabilities: caps, status: options.status(), firmwareVersion: options.version });
  const cmdSubject = subjects.cmd(options.tenant, options.deviceId);
  let link: NatsLink | undefined;
  let micro: MicroService | undefined;

  let droppedBefore = 0; // publishes dropped by earlier links of this runtime (reconnects reopen it)
  const entry = createMeshEntry();
  const serve = <R>(gate: RpcGate, wire: MeshWire<R>) => (msg: Msg, sink: ReplySink): void => {
    void entry.handle(gate, wire, msg.data, sink);
  };
  const onCommand = serve(withBuiltins(options.gate, { [REQUEST_REGISTRATION_METHOD]: () => registrationParams(registration(), now()) }), cmdWire);
  const onSupervisor = options.supervisorGate ? serve(options.supervisorGate, cmdWire) : undefined;
  const onBroadcast = serve(options.gate, broadcastWire(options.tenant, options.deviceId, now));
  const svcWires = new Map(options.functions.map((fn) => [fn.name, svcWire(fn.name)] as const));
  const onEndpoint = (method: string, data: Uint8Array, sink: ReplySink): void => {
    const wire = svcWires.get(method);
    if (wire) void entry.handle(options.gate, wire, data, sink);
  };
  const safeJson = (body: unknown): string | undefined => {
    try {
      return JSON.stringify(body);
    } catch (error) {
      log.warn('message not publishable as JSON; dropped', { error: error as Error });
      return undefined;
    }
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
        droppedBefore += link?.droppedPublishes() ?? 0;
        link = opened;
        micro = await startMicroService(link.nc, {
          deviceId: options.deviceId,
          tenant: options.tenant,
          version: options.version,
          functions: options.functions,
          serve: onEndpoint,
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
      let body: string;
      try {
        body = encodeEvent(name, payload, now());
      } catch (error) {
        log.warn('event not publishable as JSON; dropped', { event: name, error: error as Error });
        return;
      }
      link?.publish(subjects.event(options.tenant, options.deviceId, name), body);
    },
    publish(subject, body) {
      const text = safeJson(body);
      if (text !== undefined) link?.publish(subject, text);
    },
    meshCounters: () => ({ ...entry.counters(), droppedPublishes: droppedBefore + (link?.droppedPublishes() ?? 0) }),
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


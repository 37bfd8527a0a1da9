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

/** What the runtime's pieces share: the options, the current time and the registration document. */
interface RuntimeScope {
  readonly options: DeviceRuntimeOptions;
  readonly now: () => number;
  readonly registration: () => Parameters<typeof registrationParams>[0];
}

/** The live NATS side: the current link (replaced when the mesh reconnects) and its micro service. */
class MeshIo {
  link: NatsLink | undefined;
  micro: MicroService | undefined;
  #droppedBefore = 0;

  adopt(link: NatsLink): void {
    this.#droppedBefore += this.link?.droppedPublishes() ?? 0;
    this.link = link;
  }

  droppedPublishes(): number {
    return this.#droppedBefore + (this.link?.droppedPublishes() ?? 0);
  }

  /** Never throws: a body that cannot be built or encoded is dropped with a warning, an oversize one by the link. */
  publishJson(subject: string, body: () => unknown): void {
    let text: string;
    try {
      text = JSON.stringify(body());
    } catch (error) {
      log.warn('message not publishable as JSON; dropped', { subject, error: error as Error });
      return;
    }
    this.link?.publish(subject, text);
  }
}

/** The subscription handlers: every path through the one mesh entry (`requestRegistration` built in on `.cmd`). */
function entryHandlers({ options, now, registration }: RuntimeScope) {
  const entry = createMeshEntry();
  const serve = <R>(gate: RpcGate, wire: MeshWire<R>) => (msg: Msg, sink: ReplySink): void => {
    void entry.handle(gate, wire, msg.data, sink);
  };
  const svcWires = new Map(options.functions.map((fn) => [fn.name, svcWire(fn.name)] as const));
  return {
    entry,
    onCommand: serve(withBuiltins(options.gate, { [REQUEST_REGISTRATION_METHOD]: () => registrationParams(registration(), now()) }), cmdWire),
    onSupervisor: options.supervisorGate ? serve(options.supervisorGate, cmdWire) : undefined,
    onBroadcast: serve(options.gate, broadcastWire(options.tenant, options.deviceId, now)),
    onEndpoint: (method: string, data: Uint8Array, sink: ReplySink): void => {
      const wire = svcWires.get(method);
      if (wire) void entry.handle(options.gate, wire, data, sink);
    },
  };
}

type EntryHandlers = ReturnType<typeof entryHandlers>;

/** The mesh machine's `connect` actor: opens the link with every handler, then the micro service. */
function connectActor({ options }: RuntimeScope, io: MeshIo, handlers: EntryHandlers, mesh: () => Actor<MeshMachine>) {
  const { onCommand, onBroadcast, onSupervisor, onEndpoint } = handlers;
  const d2d = options.discoveryMode === 'd2d';
  return fromPromise<void, { deviceId: string }>(async ({ signal }) => {
    const opened = await NatsLink.open(
      options.connectionOptions,
      {
        cmd: subjects.cmd(options.tenant, options.deviceId),
        broadcast: subjects.broadcast(options.tenant),
        ...(onSupervisor ? { supervisor: subjects.supervisor(options.tenant, options.deviceId) } : {}),
        ...(d2d ? { probe: subjects.probe(options.tenant) } : {}),
      },
      {
        onCommand,
        onBroadcast,
        ...(onSupervisor ? { onSupervisor } : {}),
        onStatus: (event: LinkEvent) => mesh().send(event),
        ...(d2d ? { onProbe: () => mesh().send({ type: 'nats.probe' }) } : {}),
      },
    );
    if (signal.aborted) {
      // The mesh was stopped while dialing: do not leave a live connection behind.
      await opened.drain();
      throw new Error('stopped while connecting');
    }
    io.adopt(opened);
    io.micro = await startMicroService(opened.nc, { deviceId: options.deviceId, tenant: options.tenant, version: options.version, functions: options.functions, serve: onEndpoint }).catch(
      (error: unknown) => {
        log.warn('micro service surface unavailable', { error: error as Error });
        return undefined;
      },
    );
  });
}

/** The mesh machine's `registerDevice` actor: one registerDevice request to the registry (§2.5). */
function registerActor({ options, now, registration }: RuntimeScope, io: MeshIo) {
  return fromPromise<RegistrationOutput, { attempt: number }>(async ({ input }) => {
    const link = io.link;
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
  });
}

/** The mesh machine with its I/O: connect, register, drain, and the periodic publishes. */
function meshLogicFor(scope: RuntimeScope, io: MeshIo, handlers: EntryHandlers, mesh: () => Actor<MeshMachine>) {
  const { options, now, registration } = scope;
  const presenceSubject = subjects.presence(options.tenant, options.deviceId);
  return meshMachine.provide({
    actors: {
      connect: connectActor(scope, io, handlers, mesh),
      registerDevice: registerActor(scope, io),
      drain: fromPromise(async () => {
        await io.micro?.stop().catch(() => undefined);
        await io.link?.drain();
      }),
    },
    actions: {
      publishHeartbeat: () => io.publishJson(subjects.heartbeat(options.tenant, options.deviceId), () => heartbeatPayload(options.deviceId, options.status(), now())),
      publishPresence: () => io.publishJson(presenceSubject, () => presencePayload(registration(), now())),
      publishDeparting: () => {
        if (options.discoveryMode === 'd2d') io.publishJson(presenceSubject, () => departingPayload(options.deviceId, options.tenant, now()));
      },
      notifyRegistered: ({ context }) => log.info('registered with the registry', { device_id: options.deviceId, tenant: options.tenant, registration_id: context.registrationId }),
    },
  });
}

export function startDeviceRuntime(options: DeviceRuntimeOptions): DeviceRuntime {
  const now = options.now ?? Date.now;
  const caps = capabilities(options.functions, options.events);
  const registration = () => ({ deviceId: options.deviceId, deviceTtlS: options.deviceTtlS, capabilities: caps, status: options.status(), firmwareVersion: options.version });
  const scope: RuntimeScope = { options, now, registration };
  const io = new MeshIo();
  const handlers = entryHandlers(scope);
  const mesh: Actor<MeshMachine> = createActor(meshLogicFor(scope, io, handlers, () => mesh), {
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
      io.link?.publish(subjects.event(options.tenant, options.deviceId, name), body);
    },
    publish: (subject, body) => io.publishJson(subject, () => body),
    meshCounters: () => ({ ...handlers.entry.counters(), droppedPublishes: io.droppedPublishes() }),
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

// Composes the device on the mesh: the mesh machine's I/O (provided here; the root driver machine
// spawns the machine as its `mesh` child and respawns it on `mesh.restart`), the NATS link, the one
// mesh entry (actors/mesh-entry.ts) that answers `.cmd`, `.supervisor`, `.svc.<fn>` and broadcasts
// through the RPC gates, event publishing, `requestRegistration`, and the NATS micro-service view of
// the same functions (device-connect-protocol.md §1–§5). The options are read from a holder at each
// use, so a respawned mesh runs with the ones in force. Draining takes no new calls, answers those
// already inside the gate (bounded) and then closes the connection. Owns the wiring, not the
// decisions (machines) nor the wire codec (protocol/).
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { fromPromise, waitFor, type ActorRefFrom } from 'xstate';
import { createLogger } from '../logging/logger.ts';
import { failureNotice } from '../logging/failure-notice.ts';
import { reportRegistryFailure, reportRegistryReply } from './registry-notice.ts';
import { meshMachine, type MeshInput, type MeshMachine, type RegistrationOutput } from '../machines/mesh.machine.ts';
import { NatsLink, type LinkEvent } from '../adapters/nats-link.ts';
import { brokerNotice } from '../adapters/nats-first-connect.ts';
import { replaceMicroService, startMicroService, type MicroService } from '../adapters/nats-micro-service.ts';
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
import { deviceIdOfSubject, subjects } from '../protocol/subjects.ts';
import { EMERGENCY_STOP_EVENT } from '../safety/d2d-estop.ts';
import type { AnyRpcFunction, EventDefinition } from '../rpc/function-def.ts';
import { createMeshEntry, withBuiltins, type MeshEntry, type MeshEntryCounters } from './mesh-entry.ts';
import type { RpcGate } from './rpc-gate.ts';

const log = createLogger('mesh');

/** The built-in method the registry uses to pull a registration (§2.7). */
export const REQUEST_REGISTRATION_METHOD = 'requestRegistration';

/**
 * How long a draining mesh waits for the calls already inside the gate to be answered before it
 * closes the connection (a settings apply or shutdown waits that long at most). A stop is answered
 * within 250 ms (STOP_CONFIRM_TIMEOUT_MS), a read or a command's acceptance in milliseconds; 1 s
 * covers them on a loaded machine. A call that takes longer (a capture, a call held for approval)
 * is cut off: its caller times out, as before.
 */
export const MESH_DRAIN_CALLS_WAIT_MS = 1_000;

export interface DeviceRuntimeOptions {
  readonly deviceId: string;
  readonly tenant: string;
  readonly discoveryMode: 'infra' | 'd2d';
  readonly deviceTtlS: number;
  readonly registerTimeoutMs: number;
  readonly registerJitterMs: number;
  readonly connectionOptions: NodeConnectionOptions;
  readonly functions: ReadonlyArray<AnyRpcFunction>;
  /**
   * The functions as advertised at this moment (the safety envelope in force sets the motion
   * parameters' minimum/maximum), read at each registration, presence and micro-service start;
   * `functions` when absent. `mesh.readvertise` publishes a change.
   */
  readonly advertised?: () => ReadonlyArray<AnyRpcFunction>;
  readonly events: ReadonlyArray<EventDefinition>;
  readonly gate: RpcGate;
  /** Privileged functions served on `.supervisor` (broker ACLs restrict who may publish there). */
  readonly supervisorGate?: RpcGate;
  /** Live availability for registration, presence and heartbeats. */
  readonly status: () => DeviceStatusInput;
  /** Another device's `emergencyStop` event: its emitter (subject token) and body (src/actors/d2d-estop-listener.ts decides). */
  readonly onEmergencyStop?: (emitter: string, body: string) => void;
  readonly version: string;
  readonly now?: () => number;
}

export interface DeviceRuntime {
  /** The root's current mesh child. */
  readonly mesh: ActorRefFrom<MeshMachine>;
  /** Publishes a JSON-RPC notification on `.event.<name>` with event_id/ts added. */
  emitEvent(name: string, payload: Record<string, unknown>): void;
  /** Publishes plain JSON on a subject of this device. Never throws; oversize is dropped. */
  publish(subject: string, body: unknown): void;
  /** The current broker connection (replaced when the mesh reconnects; undefined while none): the audit publisher's. */
  connection(): NatsConnection | undefined;
  /** Replies answered with PayloadTooLarge or dropped, and publishes dropped, since start. */
  meshCounters(): MeshCounters;
  /** Drains the mesh child (`mesh.stop` → closing → done); resolves once it is done. */
  stop(): Promise<void>;
  registrationCount(): number;
  /**
   * Resolves once the mesh child's first dial has ended: its subscriptions answer calls, or the
   * broker could not be reached (the mesh keeps retrying by itself), or the child stopped.
   */
  dialed(): Promise<void>;
}

/** The mesh side before the root exists: the logic the root spawns, then the runtime over its child. */
export interface PreparedDevice {
  /** The mesh machine with its I/O provided (reading the options in force at each use). */
  readonly logic: MeshMachine;
  /** The spawn input of the options in force (identity and timing). */
  input(): MeshInput;
  /** The runtime over the root's mesh child, which `mesh()` reads at each use. */
  attach(mesh: () => ActorRefFrom<MeshMachine>): DeviceRuntime;
}

export interface MeshCounters extends MeshEntryCounters {
  /** Events, audit records, presence… dropped by the link (over max_payload or refused). */
  readonly droppedPublishes: number;
}

/** What one mesh run's pieces share: its options, the current time, the registration document, the entry. */
interface MeshRun {
  readonly options: DeviceRuntimeOptions;
  readonly now: () => number;
  readonly registration: () => Parameters<typeof registrationParams>[0];
  readonly handlers: EntryHandlers;
}

/** The pieces of one run, built from `options` (rebuilt when the holder's options change). */
function runOf(options: DeviceRuntimeOptions): MeshRun {
  const now = options.now ?? Date.now;
  const registration = () => ({ deviceId: options.deviceId, deviceTtlS: options.deviceTtlS, capabilities: capabilities(advertisedOf(options), options.events), status: options.status(), firmwareVersion: options.version });
  return { options, now, registration, handlers: entryHandlers({ options, now, registration }) };
}

/** The functions as advertised now. */
function advertisedOf(options: DeviceRuntimeOptions): ReadonlyArray<AnyRpcFunction> {
  return options.advertised?.() ?? options.functions;
}

/** The live NATS side: the current link (replaced when the mesh reconnects) and its micro service. */
class MeshIo {
  link: NatsLink | undefined;
  /** The mesh entry answering on `link` (the run's, set with it): what a drain waits for. */
  entry: MeshEntry | undefined;
  micro: MicroService | undefined;
  /** Registration failures: once at warn with what to do, then rate-limited. */
  readonly registryNotice = failureNotice(log);
  /** Failed first connections to the broker (kept across the mesh machine's attempts). */
  readonly brokerNotice = brokerNotice();
  #droppedBefore = 0;

  adopt(link: NatsLink, entry: MeshEntry): void {
    this.#droppedBefore += this.link?.droppedPublishes() ?? 0;
    this.link = link;
    this.entry = entry;
    this.#closing = false;
  }

  droppedPublishes(): number {
    return this.#droppedBefore + (this.link?.droppedPublishes() ?? 0);
  }

  #refreshing: Promise<void> = Promise.resolve();
  /** Set by closeService (a drain): a refresh still under way then keeps no new service on the draining link. */
  #closing = false;

  /** Stops the micro service for a drain, after a refresh under way (whose new service is then stopped too). */
  async closeService(): Promise<void> {
    this.#closing = true;
    await this.#refreshing;
    await this.micro?.stop().catch(() => undefined);
  }

  /**
   * Replaces the micro service on the current link (one refresh at a time; the link itself is kept),
   * make before break (`replaceMicroService`): `.svc.<fn>` never goes unanswered, no request is
   * served twice, and a new instance that cannot start leaves the old one answering.
   */
  refreshMicro(start: (nc: NatsLink['nc']) => Promise<MicroService>): void {
    this.#refreshing = this.#refreshing.then(async () => {
      const link = this.link;
      if (!link || link.nc.isClosed()) return;
      // A mesh moved to another link meanwhile has that link's own service: this one is not kept.
      if (this.#closing) return;
      const serving = await replaceMicroService(this.micro, () => start(link.nc), () => this.link === link && !this.#closing);
      if (this.link === link) this.micro = serving;
    });
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
function entryHandlers({ options, now, registration }: Omit<MeshRun, 'handlers'>) {
  const entry = createMeshEntry();
  const serve = <R>(gate: RpcGate, wire: MeshWire<R>) => (msg: Msg, sink: ReplySink): void => {
    void entry.handle(gate, wire, msg.data, sink, msg.subject);
  };
  const svcWires = new Map(options.functions.map((fn) => [fn.name, svcWire(fn.name)] as const));
  return {
    entry,
    onCommand: serve(withBuiltins(options.gate, { [REQUEST_REGISTRATION_METHOD]: () => registrationParams(registration(), now()) }), cmdWire),
    onSupervisor: options.supervisorGate ? serve(options.supervisorGate, cmdWire) : undefined,
    onBroadcast: serve(options.gate, broadcastWire(options.tenant, options.deviceId, now)),
    onEndpoint: (method: string, data: Uint8Array, sink: ReplySink, subject?: string): void => {
      const wire = svcWires.get(method);
      if (wire) void entry.handle(options.gate, wire, data, sink, subject);
    },
  };
}

type EntryHandlers = ReturnType<typeof entryHandlers>;

/** The mesh machine's `connect` actor: opens the link with every handler, then the micro service. */
function connectActor(run: () => MeshRun, io: MeshIo) {
  return fromPromise<void, { deviceId: string }>(async ({ signal, system }) => {
    const { options, handlers } = run();
    const { onCommand, onBroadcast, onSupervisor, onEndpoint } = handlers;
    const d2d = options.discoveryMode === 'd2d';
    // The mesh child that invoked this connect (its systemId is `mesh`, the root spawned it).
    const mesh = system.get('mesh') as ActorRefFrom<MeshMachine>;
    const opened = await NatsLink.open(
      options.connectionOptions,
      {
        cmd: subjects.cmd(options.tenant, options.deviceId),
        broadcast: subjects.broadcast(options.tenant),
        ...(onSupervisor ? { supervisor: subjects.supervisor(options.tenant, options.deviceId) } : {}),
        ...(d2d ? { probe: subjects.probe(options.tenant) } : {}),
        ...(options.onEmergencyStop ? { emergencyStop: subjects.event(options.tenant, '*', EMERGENCY_STOP_EVENT) } : {}),
      },
      {
        onCommand,
        onBroadcast,
        ...(onSupervisor ? { onSupervisor } : {}),
        onStatus: (event: LinkEvent) => mesh.send(event),
        ...(d2d ? { onProbe: () => mesh.send({ type: 'nats.probe' }) } : {}),
        ...(options.onEmergencyStop ? { onEmergencyStop: emergencyStopHandler(options.onEmergencyStop) } : {}),
      },
      io.brokerNotice,
    );
    if (signal.aborted) {
      // The mesh was stopped while dialing: do not leave a live connection behind.
      await opened.drain();
      throw new Error('stopped while connecting');
    }
    io.adopt(opened, handlers.entry);
    io.micro = await replaceMicroService(undefined, () => startMicro(opened.nc, options, onEndpoint));
  });
}

/** The emitter of an `emergencyStop` event is the device token of its subject; others are dropped. */
function emergencyStopHandler(handle: (emitter: string, body: string) => void) {
  return (subject: string, body: string): void => {
    const emitter = deviceIdOfSubject(subject);
    if (emitter) handle(emitter, body);
  };
}

/** The micro-service view of the functions as advertised now (rejects when the broker refuses it). */
function startMicro(nc: NatsLink['nc'], options: DeviceRuntimeOptions, serve: EntryHandlers['onEndpoint']): Promise<MicroService> {
  return startMicroService(nc, { deviceId: options.deviceId, tenant: options.tenant, version: options.version, functions: advertisedOf(options), serve });
}

/** The mesh machine's `registerDevice` actor: one registerDevice request to the registry (§2.5). */
function registerActor(run: () => MeshRun, io: MeshIo) {
  return fromPromise<RegistrationOutput, { attempt: number }>(async () => {
    const { options, now, registration } = run();
    const link = io.link;
    if (!link) throw new Error('not connected');
    const body = JSON.stringify({ jsonrpc: '2.0', id: `${options.deviceId}-${now()}`, method: 'registerDevice', params: registrationParams(registration(), now()) });
    let replyDoc: unknown;
    try {
      replyDoc = await link.request(subjects.registry(options.tenant), body, options.registerTimeoutMs);
    } catch (error) {
      // Said loudly once (and again when the cause changes), then rate-limited: a registry-less
      // mesh would otherwise fill the log for ever.
      reportRegistryFailure(io.registryNotice, subjects.registry(options.tenant), error);
      throw error;
    }
    const registrationId = registrationIdOf(replyDoc);
    if (!registrationId) {
      // An error answer (-32603 while the registry's store is down) repeats on every attempt: same notice.
      reportRegistryReply(io.registryNotice, subjects.registry(options.tenant), replyDoc);
      throw new Error('registry reply carried no UUID device_registration_id');
    }
    io.registryNotice.recovered('the registry answers; registered', { subject: subjects.registry(options.tenant) });
    return { registrationId };
  });
}

/** The mesh machine with its I/O: connect, register, drain, and the periodic publishes (each reads the run in force). */
function meshLogicFor(run: () => MeshRun, io: MeshIo): MeshMachine {
  const presenceSubject = () => subjects.presence(run().options.tenant, run().options.deviceId);
  return meshMachine.provide({
    actors: {
      connect: connectActor(run, io),
      registerDevice: registerActor(run, io),
      drain: fromPromise(async () => {
        // No new calls (.cmd, .supervisor, broadcasts, .svc endpoints); what the broker sent before still comes in.
        await Promise.all([io.closeService(), io.link?.stopIntake()]);
        // The calls inside the gate are answered (a stop carried out is said to be) before the connection closes.
        const cutOff = await (io.entry?.settled(MESH_DRAIN_CALLS_WAIT_MS) ?? 0);
        if (cutOff > 0) log.warn('mesh connection closing with calls still unanswered; their callers time out', { unanswered: cutOff, waited_ms: MESH_DRAIN_CALLS_WAIT_MS });
        await io.link?.drain();
      }),
    },
    actions: {
      publishHeartbeat: () => {
        const { options, now } = run();
        io.publishJson(subjects.heartbeat(options.tenant, options.deviceId), () => heartbeatPayload(options.deviceId, options.status(), now()));
      },
      publishPresence: () => io.publishJson(presenceSubject(), () => presencePayload(run().registration(), run().now())),
      publishDeparting: () => {
        const { options, now } = run();
        if (options.discoveryMode === 'd2d') io.publishJson(presenceSubject(), () => departingPayload(options.deviceId, options.tenant, now()));
      },
      refreshService: () => io.refreshMicro((nc) => startMicro(nc, run().options, run().handlers.onEndpoint)),
      notifyRegistered: ({ context }) => log.info('registered with the registry', { device_id: run().options.deviceId, tenant: run().options.tenant, registration_id: context.registrationId }),
    },
  });
}

/** Drains `mesh` (mesh.stop → closing → done); resolves at once when it is already done or stopped. */
function drainMesh(mesh: ActorRefFrom<MeshMachine>): Promise<void> {
  return new Promise<void>((resolve) => {
    if (mesh.getSnapshot().status !== 'active') return resolve();
    const sub = mesh.subscribe({ complete: () => resolve(), error: () => resolve() });
    if (mesh.getSnapshot().status !== 'active') {
      sub.unsubscribe();
      resolve();
      return;
    }
    mesh.send({ type: 'mesh.stop' });
  });
}

/** Resolves once `mesh` is past its dial (`connecting.dialing`) or no longer running (xstate's waitFor rejects then: same end). */
function dialEnded(mesh: ActorRefFrom<MeshMachine>): Promise<void> {
  return waitFor(mesh, (s) => s.status !== 'active' || !s.matches({ connecting: 'dialing' })).then(
    () => undefined,
    () => undefined,
  );
}

/**
 * The mesh side over an options holder the driver updates before it respawns the mesh: the logic
 * for the root (`logic`, `input()`), then `attach` once the root exists.
 */
export function prepareDeviceRuntime(options: () => DeviceRuntimeOptions): PreparedDevice {
  const io = new MeshIo();
  let current: MeshRun | undefined;
  const run = (): MeshRun => {
    const now = options();
    if (current?.options !== now) current = runOf(now);
    return current;
  };
  return {
    logic: meshLogicFor(run, io),
    input: () => {
      const o = options();
      return { deviceId: o.deviceId, tenant: o.tenant, discoveryMode: o.discoveryMode, deviceTtlS: o.deviceTtlS, registerJitterMs: o.registerJitterMs };
    },
    attach: (mesh) => ({
      get mesh() {
        return mesh();
      },
      emitEvent(name, payload) {
        const { options: o, now } = run();
        let body: string;
        try {
          body = encodeEvent(name, payload, now());
        } catch (error) {
          log.warn('event not publishable as JSON; dropped', { event: name, error: error as Error });
          return;
        }
        io.link?.publish(subjects.event(o.tenant, o.deviceId, name), body);
      },
      publish: (subject, body) => io.publishJson(subject, () => body),
      connection: () => io.link?.nc,
      meshCounters: () => ({ ...run().handlers.entry.counters(), droppedPublishes: io.droppedPublishes() }),
      stop: () => drainMesh(mesh()),
      registrationCount: () => mesh().getSnapshot().context.registrations,
      dialed: () => dialEnded(mesh()),
    }),
  };
}

// Model-based test of the mesh machine (src/machines/mesh.machine.ts): paths generated from the
// machine itself with `TestModel` (xstate/graph), replayed on the real machine with controllable
// connect/register/drain actors and fake timers; at every step the real actor must be in the
// model's state and the side effects (heartbeat, presence, departing) must have happened.
// A final test asserts every transition of the adjacency map was walked, for both discovery modes.
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { createActor, fromPromise, type EventObject } from 'xstate';
import { TestModel } from 'xstate/graph';
import {
  meshMachine,
  PRESENCE_BURST_INTERVAL_MS,
  PRESENCE_STEADY_INTERVAL_MS,
  registrationBackoffMs,
  type MeshEvent,
  type MeshInput,
  type RegistrationOutput,
} from '../../src/machines/mesh.machine.ts';
import { declaredEventTypes, Deferred, edgePaths, recordingReplay, transitionCoverageTest, watchTransitions } from './model-harness.ts';

const REGISTRATION_ID = '097c319a-6681-4267-af36-8fee8e3b6dbb';
const JITTER_MS = 1_000;
/** The jitter draw the machine gets in these tests (registration jitter and back-off). */
const MODEL_RANDOM = 0.5;
const random = () => MODEL_RANDOM;
const TTL_S = 15;

function eventFor(type: string): EventObject {
  if (type === 'xstate.done.actor.registerDevice') return { type, output: { registrationId: REGISTRATION_ID } } as EventObject;
  if (type.startsWith('xstate.error.actor.')) return { type, error: new Error('model failure') } as EventObject;
  return { type };
}

function serialize(snapshot: { value: unknown; status: string }): string {
  return `${JSON.stringify(snapshot.value)}|${snapshot.status}`;
}

/** The system under test: the real machine with actors the executors settle. */
function createSut(input: MeshInput) {
  const pending: { connect?: Deferred<void>; registerDevice?: Deferred<RegistrationOutput>; drain?: Deferred<void> } = {};
  const effects = { heartbeats: 0, presences: 0, departing: 0, registered: 0, refreshes: 0 };
  const logic = meshMachine.provide({
    actors: {
      connect: fromPromise(() => (pending.connect = new Deferred<void>()).promise),
      registerDevice: fromPromise(() => (pending.registerDevice = new Deferred<RegistrationOutput>()).promise),
      drain: fromPromise(() => (pending.drain = new Deferred<void>()).promise),
    },
    actions: {
      publishHeartbeat: () => void effects.heartbeats++,
      publishPresence: () => void effects.presences++,
      publishDeparting: () => void effects.departing++,
      notifyRegistered: () => void effects.registered++,
      refreshService: () => void effects.refreshes++,
    },
  });
  const actor = createActor(logic, { input });
  watchTransitions(actor);
  actor.start();
  return { actor, pending, effects };
}

type Sut = ReturnType<typeof createSut>;

async function flush(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

function executors(sut: () => Sut) {
  const settle = async (name: 'connect' | 'registerDevice' | 'drain', ok: boolean) => {
    const d = sut().pending[name];
    expect(d, `${name} actor should be running`).toBeDefined();
    if (ok) (d as Deferred<unknown>).resolve(name === 'registerDevice' ? { registrationId: REGISTRATION_ID } : undefined);
    else d!.reject(new Error('model failure'));
    await flush();
  };
  const send = (type: string) => async () => {
    sut().actor.send({ type } as never);
    await flush();
  };
  return {
    'xstate.done.actor.connect': () => settle('connect', true),
    'xstate.error.actor.connect': () => settle('connect', false),
    'xstate.done.actor.registerDevice': async () => {
      const before = sut().effects.heartbeats;
      await settle('registerDevice', true);
      expect(sut().effects.heartbeats).toBe(before + 1); // registered entry sends one at once
    },
    'xstate.error.actor.registerDevice': () => settle('registerDevice', false),
    'xstate.done.actor.drain': () => settle('drain', true),
    'xstate.error.actor.drain': () => settle('drain', false),
    'nats.disconnect': send('nats.disconnect'),
    'nats.reconnect': send('nats.reconnect'),
    'nats.closed': send('nats.closed'),
    'mesh.stop': async () => {
      const before = sut().effects.departing;
      await send('mesh.stop')();
      expect(sut().effects.departing).toBe(before + 1);
    },
    // New capabilities: the micro service is refreshed in every connected state; registered d2d announces at once.
    'mesh.readvertise': async () => {
      const before = { ...sut().effects };
      const wasRegistered = sut().actor.getSnapshot().matches('registered');
      await send('mesh.readvertise')();
      expect(sut().effects.refreshes).toBe(before.refreshes + 1);
      if (wasRegistered && sut().actor.getSnapshot().context.discoveryMode === 'd2d') expect(sut().effects.presences).toBe(before.presences + 1);
    },
    'nats.probe': async () => {
      const before = sut().effects.presences;
      await send('nats.probe')();
      expect(sut().effects.presences).toBe(before + 1);
    },
  } as Record<string, () => Promise<void>>;
}

function afterExecutor(sut: () => Sut, type: string): () => Promise<void> {
  return async () => {
    const { context } = sut().actor.getSnapshot();
    let ms: number;
    if (type.includes('registerJitter')) ms = Math.floor(MODEL_RANDOM * JITTER_MS);
    else if (type.includes('registerBackoff')) ms = registrationBackoffMs(context.attempt, random);
    else if (type.includes('heartbeatInterval')) ms = (TTL_S * 1000) / 3;
    else if (type.includes('presenceInterval')) ms = Date.now() < context.burstUntil ? PRESENCE_BURST_INTERVAL_MS : PRESENCE_STEADY_INTERVAL_MS;
    else throw new Error(`no executor for ${type}`);
    const before = { ...sut().effects };
    await vi.advanceTimersByTimeAsync(ms);
    if (type.includes('heartbeatInterval')) expect(sut().effects.heartbeats).toBeGreaterThan(before.heartbeats);
    if (type.includes('presenceInterval')) expect(sut().effects.presences).toBeGreaterThan(before.presences);
  };
}

const MODES: ReadonlyArray<MeshInput['discoveryMode']> = ['infra', 'd2d'];
/** Coverage is of both modes' replays together: the isD2D branches are only reachable in one of them each. */
const BOTH_MODES = {};

describe.each(MODES)('mesh machine, %s mode', (discoveryMode) => {
  const input: MeshInput = { deviceId: 'model-dev', tenant: 'default', discoveryMode, deviceTtlS: TTL_S, registerJitterMs: JITTER_MS, random };
  const types = declaredEventTypes(meshMachine);
  // The model walks the machine with inert actors: outcomes come only from the generated events.
  const never = <T, I>() => fromPromise<T, I>(() => new Promise<T>(() => undefined));
  const modelLogic = meshMachine.provide({
    actors: { connect: never<void, { deviceId: string }>(), registerDevice: never<RegistrationOutput, { attempt: number }>(), drain: never<void, void>() },
  });
  const model = new TestModel(modelLogic, {
    input,
    events: types.map(eventFor) as MeshEvent[],
    filterEvents: (snapshot, event) => snapshot.status === 'active' && snapshot.can(event as never),
    serializeState: (snapshot) => serialize(snapshot),
    stateMatcher: (snapshot, key) => key === '*' || snapshot.matches(key as never),
  });
  // One path per edge of the adjacency map: the shortest way to its source state, then the edge.
  const { paths } = edgePaths(model, serialize, { input });
  let sut: Sut | undefined;
  const current = () => sut!;
  const eventExecutors: Record<string, () => Promise<void>> = { ...executors(current) };
  for (const type of types) if (type.startsWith('xstate.after.')) eventExecutors[type] = afterExecutor(current, type);

  beforeEach(() => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    // A mid-range jitter: a random 0 ms would fire in the zero-time flush after connect.
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    sut = createSut(input);
  });
  afterEach(() => {
    sut?.actor.stop();
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  test.each(paths.map((p) => [p.description, p] as const))('%s', async (_description, path) => {
    await recordingReplay(BOTH_MODES, () => path.test({
      events: eventExecutors,
      states: {
        '*': (expected) => {
          const actual = current().actor.getSnapshot();
          expect(actual.value).toEqual(expected.value);
          expect(actual.status, String((expected as { error?: unknown }).error)).toBe(expected.status);
        },
      },
    }));
  });

});

transitionCoverageTest(meshMachine, BOTH_MODES, { minimum: 20 });

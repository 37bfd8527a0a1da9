// Model-based test of the root driver machine's media gate (src/machines/driver.machine.ts,
// `rpc.media`). The gate reads the daemon link (the connection child) and the root's media mirror
// (session state, audio input/output switches). The model is that WORLD as the brief describes it:
// an independent machine of link state × session state × switches, moved by the link reports, the
// session reports and the switch RPCs (which move it only when the oracle lets them run). One
// generated path per adjacency edge is replayed on the real root (real children, fake probe/link):
// after every step the link and the mirror are the world's. In every reachable world state, every
// media RPC: `can()` agrees with an independent oracle of the gate rules, `explainRefusal` names
// the most fundamental reason with its typed error, and on a fresh root walked there an accepted
// call is forwarded to the media runtime exactly once (a refused one never is). Every transition is
// walked; the `--no-media` root refuses every media call with MediaUnavailable.
import { afterEach, describe, expect, test, vi } from 'vitest';
import { assign, createActor, createMachine, fromCallback, fromPromise, type ActorLogic, type AnyStateMachine, type SnapshotFrom } from 'xstate';
import { connectionMachine } from '../../src/machines/connection.machine.ts';
import { driverMachine, driverStatus, explainRefusal, type DriverEmitted, type DriverEvent, type DriverInput } from '../../src/machines/driver.machine.ts';
import type { MediaFunctionName, MediaRequirement, MediaRpcEvent } from '../../src/rpc/media-functions.ts';
import { MEDIA_FUNCTIONS } from '../../src/rpc/media-functions.ts';
import { canModel, coverageOf, edgePaths, executorTable, MODEL_START_MS, pathTests, useFakeClock } from './model-harness.ts';

const INPUT: DriverInput = { deviceId: 'reachy-test', leasePolicy: 'enforced', leaseTtlS: 5, privilegedRpc: 'allowed' };

/** One real call per requirement class, built through the functions' own `toEvent` (so the requirements are the advertised ones). */
function call(fn: MediaFunctionName, params: Record<string, unknown>): MediaRpcEvent {
  const def = MEDIA_FUNCTIONS.find((f) => f.name === fn)!;
  return def.toEvent(params as never, { requestId: `req-${fn}`, function: fn, caller: { sourceDevice: null, traceId: null } }) as MediaRpcEvent;
}

const RPCS: MediaRpcEvent[] = [
  call('get_media_status', {}),
  call('capture_video_frame', { encoding: 'jpeg', allow_oversize_raw: false }),
  call('capture_audio_sample', { duration_ms: 100, encoding: 'float32' }),
  call('push_audio_sample', { data_b64: 'AAAA', sample_rate: 16000, channels: 1, dtype: 'float32' }),
  call('play_audio_file', { sound_file: 'beep.wav' }),
  call('release_media_hardware', {}),
  call('start_audio_input', {}),
  call('stop_audio_input', {}),
  call('start_audio_output', {}),
  call('stop_audio_output', {}),
];
const SWITCHES = RPCS.filter((e) => /^(start|stop)_audio_(input|output)$/.test(e.function));

interface Mirror {
  connection: string;
  media: string;
  audioInput: boolean;
  audioOutput: boolean;
}

/** The gate rules, written independently of the machine: the expected typed refusal, or null. */
function oracle(m: Mirror, r: MediaRequirement): string | null {
  if (m.media === 'disabled') return 'MediaUnavailable';
  if (r.daemon && m.connection !== 'connected') return 'DaemonUnavailable';
  if ((r.notReleased || r.stream) && m.media === 'released') return 'MediaReleased';
  if (r.stream && m.media !== 'streaming') return 'MediaUnavailable';
  if (r.audioInput && !m.audioInput) return 'NotAllowedInState';
  if (r.audioOutput && !m.audioOutput) return 'NotAllowedInState';
  return null;
}

// ---------------------------------------------------------------------------------------------
// The world: link × session × switches, and what moves it.

type WorldEvent = { type: 'W.link_start' } | { type: 'W.link_lost' } | { type: 'W.link_stop' } | { type: 'W.session'; state: 'streaming' | 'reconnecting' | 'released' } | { type: 'W.switch'; fn: string };

const WORLD_EVENTS: WorldEvent[] = [
  { type: 'W.link_start' },
  { type: 'W.link_lost' },
  { type: 'W.link_stop' },
  { type: 'W.session', state: 'streaming' },
  { type: 'W.session', state: 'reconnecting' },
  { type: 'W.session', state: 'released' },
  ...SWITCHES.map((e) => ({ type: 'W.switch' as const, fn: e.function })),
];

type WorldContext = Mirror;

const switchEvent = (fn: string) => SWITCHES.find((e) => e.function === fn)!;

/** Written from the brief: reports always move the world; a switch only when the gate lets it run. */
const worldMachine = createMachine({
  types: {} as { context: WorldContext; events: WorldEvent },
  id: 'media-world',
  context: { connection: 'disconnected', media: 'idle', audioInput: true, audioOutput: true },
  on: {
    'W.link_start': { guard: ({ context }) => context.connection === 'disconnected', actions: assignWorld((c) => ({ ...c, connection: 'connected' })) },
    'W.link_lost': { guard: ({ context }) => context.connection === 'connected', actions: assignWorld((c) => ({ ...c, connection: 'backoff' })) },
    'W.link_stop': { guard: ({ context }) => context.connection !== 'disconnected', actions: assignWorld((c) => ({ ...c, connection: 'disconnected' })) },
    'W.session': { actions: assignWorld((c, e) => ({ ...c, media: (e as { state: string }).state })) },
    'W.switch': {
      guard: ({ context, event }) => oracle(context, switchEvent(event.fn).requires) === null,
      actions: assignWorld((c, e) => {
        const fn = (e as { fn: string }).fn;
        const on = fn.startsWith('start');
        return fn.endsWith('input') ? { ...c, audioInput: on } : { ...c, audioOutput: on };
      }),
    },
  },
});

function assignWorld(f: (c: WorldContext, e: WorldEvent) => WorldContext) {
  return assign<WorldContext, WorldEvent, undefined, WorldEvent, never>(({ context, event }) => f(context, event));
}

function reportFor(e: WorldEvent): DriverEvent {
  switch (e.type) {
    case 'W.link_start':
      return { type: 'link.start' };
    case 'W.link_lost':
      return { type: 'daemon.lost', reason: 'the /ws/sdk socket closed' };
    case 'W.link_stop':
      return { type: 'link.stop' };
    case 'W.session':
      return { type: 'media.changed', state: e.state, at: MODEL_START_MS, lastError: e.state === 'reconnecting' ? 'producer left' : null };
    case 'W.switch':
      return switchEvent(e.fn);
  }
}

// ---------------------------------------------------------------------------------------------
// The real root with its real children and fake daemon I/O.

function createSut(input: DriverInput) {
  const logic = driverMachine.provide({
    actors: {
      connection: connectionMachine.provide({ actors: { probeDaemon: fromPromise<unknown>(async () => ({ state: 'running' })), daemonLink: fromCallback(() => () => undefined) } }),
    },
  });
  const actor = createActor(logic, { input });
  const emitted: DriverEmitted[] = [];
  actor.on('*', (e) => void emitted.push(e as DriverEmitted));
  actor.start();
  return { actor, emitted };
}
type Sut = ReturnType<typeof createSut>;

function mirrorOf(sut: Sut): Mirror {
  const c = sut.actor.getSnapshot().context;
  return { connection: String(c.children.connection.getSnapshot().value), media: c.media.state, audioInput: c.media.audioInput, audioOutput: c.media.audioOutput };
}

async function applyWorld(sut: Sut, e: WorldEvent): Promise<void> {
  sut.actor.send(reportFor(e));
  await vi.advanceTimersByTimeAsync(0);
}

const serialize = (s: { context: unknown }) => JSON.stringify(s.context);

describe('driver machine: the media gate, world model', () => {
  const logic = worldMachine as unknown as ActorLogic<SnapshotFrom<AnyStateMachine>, WorldEvent, undefined>;
  const model = canModel(logic, WORLD_EVENTS, serialize);
  const { adjacency, paths, prefixes } = edgePaths(model, serialize);
  const current = useFakeClock(() => createSut(INPUT));
  const executors = executorTable(WORLD_EVENTS, async (event) => {
    const sut = current();
    const mark = sut.emitted.length;
    await applyWorld(sut, event as WorldEvent);
    const forwarded = sut.emitted.slice(mark).filter((e) => e.type === 'driver.forward');
    // A switch that moved the world was forwarded to the media runtime exactly once; a report never is.
    expect(forwarded).toEqual(event.type === 'W.switch' ? [{ type: 'driver.forward', command: { to: 'media', event: reportFor(event as WorldEvent) } }] : []);
  });

  test('the world reaches every link × session × switch combination', () => {
    // connection 3 (disconnected, connected, backoff) × media 4 (idle, streaming, reconnecting, released) × 2 × 2
    expect(Object.keys(adjacency).length).toBe(3 * 4 * 2 * 2);
  });

  pathTests(model, paths, executors, () => ({ value: current().actor.getSnapshot().value === 'running' ? {} : 'not running', status: current().actor.getSnapshot().status }), (_actual, expected) => {
    expect(mirrorOf(current())).toEqual(expected.context);
  });

  test.each([...prefixes.keys()].map((k) => [k] as const))('in %s every media call is gated as the oracle says and forwarded once when accepted', async (key) => {
    const world = JSON.parse(key) as Mirror;
    for (const event of RPCS) {
      const sut = createSut(INPUT);
      for (const e of prefixes.get(key)!) await applyWorld(sut, e as WorldEvent);
      expect(mirrorOf(sut)).toEqual(world);
      const snapshot = sut.actor.getSnapshot();
      const refusal = oracle(world, event.requires);
      expect(snapshot.can(event), event.function).toBe(refusal === null);
      expect(explainRefusal(snapshot, event)?._tag ?? null, event.function).toBe(refusal);
      const mark = sut.emitted.length;
      sut.actor.send(event);
      await vi.advanceTimersByTimeAsync(0);
      const forwarded = sut.emitted.slice(mark).filter((e) => e.type === 'driver.forward' || e.type === 'rpc.outcome');
      expect(forwarded, event.function).toEqual(refusal === null ? [{ type: 'driver.forward', command: { to: 'media', event } }] : []);
      sut.actor.stop();
    }
  });

  test('every transition of the world is walked', () => {
    const { all, unwalked } = coverageOf(adjacency, paths, serialize);
    expect(all.length).toBeGreaterThan(200);
    expect(unwalked).toEqual([]);
  });
});

describe('driver machine: the media gate', () => {
  let sut: ReturnType<typeof createSut> | undefined;
  afterEach(() => sut?.actor.stop());


  test('media.result answers the caller with the runtime outcome, success or typed failure', () => {
    sut = createSut(INPUT);
    const outcomes: DriverEmitted[] = [];
    sut.actor.on('rpc.outcome', (e) => outcomes.push(e));
    sut.actor.send({ type: 'media.result', requestId: 'r1', ok: true, result: { status: 'success' } });
    expect(outcomes).toEqual([{ type: 'rpc.outcome', requestId: 'r1', ok: true, result: { status: 'success' } }]);
  });

  test('with --no-media every media call is refused with MediaUnavailable and session reports are ignored', () => {
    sut = createSut({ ...INPUT, mediaEnabled: false });
    sut.actor.send({ type: 'link.start' });
    sut.actor.send({ type: 'media.changed', state: 'streaming', at: 2, lastError: null });
    for (const event of RPCS) {
      const snapshot = sut.actor.getSnapshot();
      expect(snapshot.can(event)).toBe(false);
      expect(explainRefusal(snapshot, event)).toMatchObject({ _tag: 'MediaUnavailable', sessionState: 'disabled' });
    }
    expect(sut.actor.getSnapshot().context.media.state).toBe('disabled');
  });

  test('driver_state mirrors the session for reference readers (media_ready, input/output states)', () => {
    sut = createSut(INPUT);
    sut.actor.send({ type: 'media.changed', state: 'streaming', at: 3, lastError: null });
    expect(driverStatus(sut.actor.getSnapshot().context)['driver_state']).toMatchObject({ media_ready: true, video_input_state: 'available', audio_input_state: 'started', audio_output_state: 'started' });
    sut.actor.send({ type: 'media.changed', state: 'released', at: 4, lastError: null });
    expect(driverStatus(sut.actor.getSnapshot().context)['driver_state']).toMatchObject({ media_ready: false, video_input_state: 'released', audio_input_state: 'released' });
  });
});

// Model-based test of the root driver machine's media gate (src/machines/driver.machine.ts,
// `rpc.media`), which reads the daemon link (the connection child), the media child's session
// state and the root's audio input/output switches. The model is that WORLD as the brief describes
// it: an independent machine of link × session × switches, moved by the link reports, the
// session's moves and the switch RPCs (only when the oracle lets them run). One generated path per
// adjacency edge is replayed on the real root (real children — the media child driven through its
// session actor, root-children.ts — fake probe/link); after every step the link, the session and
// the switches are the world's. Every transition is walked. Other RPCs: driver.model.test.ts.
import { afterEach, describe, expect, test, vi } from 'vitest';
import { assign, createActor, createMachine, type ActorLogic, type AnyStateMachine, type SnapshotFrom } from 'xstate';
import { driverMachine, driverStatus, explainRefusal, viewOf, type DriverEmitted, type DriverEvent, type DriverInput } from '../../src/machines/driver.machine.ts';
import { mediaStateName } from '../../src/machines/media-session.machine.ts';
import type { MediaFunctionName, MediaRequirement, MediaRpcEvent } from '../../src/rpc/media-functions.ts';
import { MEDIA_FUNCTIONS } from '../../src/rpc/media-functions.ts';
import { canModel, coverageOf, edgePaths, executorTable, pathTests, useFakeClock } from './model-harness.ts';
import { controlledMedia, driveSession, quietMesh, steadyConnection, TEST_MESH_INPUT, type MediaControl } from './root-children.ts';

const INPUT: DriverInput = { deviceId: 'reachy-test', leasePolicy: 'enforced', leaseTtlS: 5, privilegedRpc: 'allowed', mesh: TEST_MESH_INPUT };

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

/** The root event of a world event that reaches the root (link reports, switch RPCs); session moves go to the media child. */
function reportFor(e: Exclude<WorldEvent, { type: 'W.session' }>): DriverEvent {
  switch (e.type) {
    case 'W.link_start':
      return { type: 'link.start' };
    case 'W.link_lost':
      return { type: 'daemon.lost', reason: 'the /ws/sdk socket closed' };
    case 'W.link_stop':
      return { type: 'link.stop' };
    case 'W.switch':
      return switchEvent(e.fn);
  }
}

// ---------------------------------------------------------------------------------------------
// The real root with its real children and fake daemon I/O.

function createSut(input: DriverInput) {
  const { logic: media, control } = controlledMedia();
  const logic = driverMachine.provide({ actors: { connection: steadyConnection, mesh: quietMesh, media } });
  const actor = createActor(logic, { input });
  const emitted: DriverEmitted[] = [];
  actor.on('*', (e) => void emitted.push(e as DriverEmitted));
  actor.start();
  // As the media runtime does (media-runtime.ts `attachSession`): the child's answers go to the root.
  actor.getSnapshot().context.children.media?.on('media.result', (e) => actor.send(e));
  return { actor, emitted, media: control };
}
type Sut = ReturnType<typeof createSut>;

/** The media child (present: media is enabled in these roots). */
function mediaChild(sut: Sut) {
  const child = sut.actor.getSnapshot().context.children.media;
  if (child === null) throw new Error('no media child');
  return child;
}

/** The world as the root's gate reads it (`viewOf`: the children's snapshots and the switches). */
function mirrorOf(sut: Sut): Mirror {
  const view = viewOf(sut.actor.getSnapshot().context);
  return { connection: view.connection.state, media: view.media.state, audioInput: view.media.audioInput, audioOutput: view.media.audioOutput };
}

/** Answers every call the media child received since `mark` (ok), and lets the answers reach the root. */
async function answerCalls(control: MediaControl, mark: number): Promise<void> {
  for (const call of control.calls.slice(mark)) call.answer({ type: 'media.answered', requestId: call.requestId, ok: true, result: { status: 'success' } });
  await vi.advanceTimersByTimeAsync(0);
}

async function applyWorld(sut: Sut, e: WorldEvent): Promise<void> {
  if (e.type === 'W.session') driveSession(mediaChild(sut), sut.media, e.state);
  else sut.actor.send(reportFor(e));
  await vi.advanceTimersByTimeAsync(0);
}

/** What the root sent the media child and answered the callers since the marks. */
function traffic(sut: Sut, marks: { calls: number; emitted: number }) {
  return {
    calls: sut.media.calls.slice(marks.calls).map((c) => ({ fn: c.fn, requestId: c.requestId })),
    outcomes: sut.emitted.slice(marks.emitted).flatMap((e) => (e.type === 'rpc.outcome' ? [{ requestId: e.requestId, ok: e.ok }] : [])),
  };
}

const marksOf = (sut: Sut) => ({ calls: sut.media.calls.length, emitted: sut.emitted.length });

const serialize = (s: { context: unknown }) => JSON.stringify(s.context);

describe('driver machine: the media gate, world model', () => {
  const logic = worldMachine as unknown as ActorLogic<SnapshotFrom<AnyStateMachine>, WorldEvent, undefined>;
  const model = canModel(logic, WORLD_EVENTS, serialize);
  const { adjacency, paths, prefixes } = edgePaths(model, serialize);
  const current = useFakeClock(() => createSut(INPUT));
  const executors = executorTable(WORLD_EVENTS, async (event) => {
    const sut = current();
    const marks = marksOf(sut);
    await applyWorld(sut, event as WorldEvent);
    // A switch that moved the world reached the media child exactly once (answered once when its
    // call answers); a link report or a session move sends the child no call.
    const world = event as WorldEvent;
    const sw = world.type === 'W.switch' ? switchEvent(world.fn) : null;
    expect(traffic(sut, marks)).toEqual({ calls: sw ? [{ fn: sw.function, requestId: sw.requestId }] : [], outcomes: [] });
    await answerCalls(sut.media, marks.calls);
    expect(traffic(sut, marks).outcomes).toEqual(sw ? [{ requestId: sw.requestId, ok: true }] : []);
  });

  test('the world reaches every link × session × switch combination', () => {
    // connection 3 (disconnected, connected, backoff) × media 4 (idle, streaming, reconnecting, released) × 2 × 2
    expect(Object.keys(adjacency).length).toBe(3 * 4 * 2 * 2);
  });

  pathTests(model, paths, executors, () => ({ value: current().actor.getSnapshot().value === 'running' ? {} : 'not running', status: current().actor.getSnapshot().status }), (_actual, expected) => {
    expect(mirrorOf(current())).toEqual(expected.context);
  });

  // In every reachable world state, every media RPC: `can()` agrees with an independent oracle of
  // the gate rules, `explainRefusal` names the most fundamental reason with its typed error, and on
  // a fresh root walked there an accepted call reaches the media child exactly once as
  // `media.call.<fn>` and its answer becomes exactly one `rpc.outcome` (a refused one reaches
  // nothing and is never answered).
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
      const marks = marksOf(sut);
      sut.actor.send(event);
      await vi.advanceTimersByTimeAsync(0);
      // Accepted: exactly one media.call.<fn> to the child, unanswered until the call answers; refused: nothing.
      const call = refusal === null ? [{ fn: event.function, requestId: event.requestId }] : [];
      expect(traffic(sut, marks), event.function).toEqual({ calls: call, outcomes: [] });
      await answerCalls(sut.media, marks.calls);
      expect(traffic(sut, marks).outcomes, event.function).toEqual(refusal === null ? [{ requestId: event.requestId, ok: true }] : []);
      sut.actor.stop();
    }
  });

  test('every transition of the world is walked', () => {
    const { all, unwalked } = coverageOf(adjacency, paths, serialize);
    expect(all.length).toBeGreaterThan(200);
    expect(unwalked).toEqual([]);
  });
});

// Outside the world model: the `--no-media` root has no media child and refuses every media call
// with MediaUnavailable; `mesh.restart` / `media.restart` respawn those children.
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

  test('with --no-media the root has no media child and refuses every media call with MediaUnavailable', () => {
    sut = createSut({ ...INPUT, mediaEnabled: false });
    sut.actor.send({ type: 'link.start' });
    expect(sut.actor.getSnapshot().context.children.media).toBeNull();
    expect(Object.keys(sut.actor.getSnapshot().children)).not.toContain('media');
    // A respawn request has nothing to respawn.
    sut.actor.send({ type: 'media.restart' });
    expect(sut.actor.getSnapshot().context.children.media).toBeNull();
    for (const event of RPCS) {
      const snapshot = sut.actor.getSnapshot();
      expect(snapshot.can(event)).toBe(false);
      expect(explainRefusal(snapshot, event)).toMatchObject({ _tag: 'MediaUnavailable', sessionState: 'disabled' });
      sut.actor.send(event);
    }
    expect(sut.media.calls).toEqual([]);
    expect(viewOf(sut.actor.getSnapshot().context).media.state).toBe('disabled');
  });

  test('driver_state reads the session child for reference readers (media_ready, input/output states)', () => {
    sut = createSut(INPUT);
    driveSession(mediaChild(sut), sut.media, 'streaming');
    expect(driverStatus(sut.actor.getSnapshot().context)['driver_state']).toMatchObject({ media_ready: true, media_session_state: 'streaming', video_input_state: 'available', audio_input_state: 'started', audio_output_state: 'started' });
    driveSession(mediaChild(sut), sut.media, 'released');
    expect(driverStatus(sut.actor.getSnapshot().context)['driver_state']).toMatchObject({ media_ready: false, media_session_state: 'released', video_input_state: 'released', audio_input_state: 'released' });
  });

  test('media.restart respawns the media child: the old one is stopped, a fresh idle one takes its place in the system', () => {
    sut = createSut(INPUT);
    sut.actor.send({ type: 'link.start' });
    const old = mediaChild(sut);
    driveSession(old, sut.media, 'streaming');
    sut.actor.send({ type: 'media.restart' });
    const fresh = mediaChild(sut);
    expect(fresh).not.toBe(old);
    expect(old.getSnapshot().status).toBe('stopped');
    expect(mediaStateName(fresh.getSnapshot().value)).toBe('idle');
    expect(sut.actor.system.get('media')).toBe(fresh);
    // The gate reads the new child: a stream call is refused until the new session streams.
    const capture = RPCS.find((e) => e.function === 'capture_video_frame')!;
    expect(explainRefusal(sut.actor.getSnapshot(), capture)).toMatchObject({ _tag: 'MediaUnavailable', sessionState: 'idle' });
    driveSession(fresh, sut.media, 'streaming');
    expect(sut.actor.getSnapshot().can(capture)).toBe(true);
  });

  test('mesh.restart respawns the mesh child with its new input, in the same system', () => {
    sut = createSut(INPUT);
    const old = sut.actor.getSnapshot().context.children.mesh;
    sut.actor.send({ type: 'mesh.restart', input: { ...TEST_MESH_INPUT, tenant: 'other', deviceTtlS: 30 } });
    const fresh = sut.actor.getSnapshot().context.children.mesh;
    expect(fresh).not.toBe(old);
    expect(old.getSnapshot().status).toBe('stopped');
    expect(fresh.getSnapshot().context).toMatchObject({ tenant: 'other', deviceTtlS: 30 });
    expect(sut.actor.system.get('mesh')).toBe(fresh);
    expect(viewOf(sut.actor.getSnapshot().context).mesh.state).toBe('connecting');
  });
});

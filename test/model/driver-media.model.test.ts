// Model-based test of the root driver machine's media gate (src/machines/driver.machine.ts,
// `rpc.media`): the model's state is the media mirror (daemon link, media session state, audio
// input/output switches); its events are the session and link reports plus one media RPC per
// requirement class. One generated path per adjacency edge is replayed on the real actor: at each
// step `can()` must agree with an independent oracle of the gate rules, an accepted call is
// forwarded to the media runtime exactly once (and a refused one never is), and `explainRefusal`
// names the most fundamental reason with its typed error. Every transition is walked; the
// `--no-media` machine refuses every media call with MediaUnavailable.
import { afterEach, describe, expect, test } from 'vitest';
import { createActor, getInitialSnapshot, type ActorLogic, type SnapshotFrom } from 'xstate';
import { TestModel } from 'xstate/graph';
import { driverMachine, explainRefusal, type DriverContext, type DriverEmitted, type DriverEvent, type DriverInput, type DriverMachine } from '../../src/machines/driver.machine.ts';
import type { MediaFunctionName, MediaRequirement, MediaRpcEvent } from '../../src/rpc/media-functions.ts';
import { MEDIA_FUNCTIONS } from '../../src/rpc/media-functions.ts';
import { coverageOf, edgePaths } from './model-harness.ts';

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

const REPORTS: DriverEvent[] = [
  { type: 'connection.changed', state: 'connected', at: 1, lastError: null },
  { type: 'connection.changed', state: 'backoff', at: 2, lastError: 'ECONNREFUSED' },
  { type: 'media.changed', state: 'streaming', at: 3, lastError: null },
  { type: 'media.changed', state: 'reconnecting', at: 4, lastError: 'producer left' },
  { type: 'media.changed', state: 'released', at: 5, lastError: null },
];
const EVENTS: DriverEvent[] = [...REPORTS, ...RPCS];

interface Mirror {
  connection: string;
  media: string;
  audioInput: boolean;
  audioOutput: boolean;
}

const mirrorOf = (c: DriverContext): Mirror => ({ connection: c.connection.state, media: c.media.state, audioInput: c.media.audioInput, audioOutput: c.media.audioOutput });
const serialize = (s: { context: DriverContext }) => JSON.stringify(mirrorOf(s.context));

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

function expectedMirror(m: Mirror, e: DriverEvent): Mirror {
  if (e.type === 'connection.changed') return { ...m, connection: e.state };
  if (e.type === 'media.changed') return m.media === 'disabled' ? m : { ...m, media: e.state };
  if (e.type === 'rpc.media' && oracle(m, e.requires) === null) {
    if (e.function === 'start_audio_input') return { ...m, audioInput: true };
    if (e.function === 'stop_audio_input') return { ...m, audioInput: false };
    if (e.function === 'start_audio_output') return { ...m, audioOutput: true };
    if (e.function === 'stop_audio_output') return { ...m, audioOutput: false };
  }
  return m;
}

function createSut(input: DriverInput) {
  const actor = createActor(driverMachine, { input });
  const emitted: DriverEmitted[] = [];
  actor.on('*', (e) => emitted.push(e as DriverEmitted));
  actor.start();
  return { actor, emitted };
}

const logic = driverMachine as unknown as ActorLogic<SnapshotFrom<DriverMachine>, DriverEvent, DriverInput>;
const model = new TestModel(logic, { input: INPUT, events: EVENTS, serializeState: (s) => serialize(s), stateMatcher: (_s, key) => key === '*' });
const { adjacency, paths } = edgePaths(model, serialize, { input: INPUT, fromState: getInitialSnapshot(logic, INPUT) as never });

describe('driver machine: the media gate', () => {
  let sut: ReturnType<typeof createSut> | undefined;
  afterEach(() => sut?.actor.stop());

  test('the model reaches every mirror combination the reports and switches allow', () => {
    // connection 3 (disconnected, connected, backoff) × media 4 (idle, streaming, reconnecting, released) × 2 × 2
    expect(Object.keys(adjacency).length).toBe(3 * 4 * 2 * 2);
  });

  test.each(paths.map((path, i) => [`${i}: ${path.steps.map((s) => (s.event.type === 'rpc.media' ? (s.event as MediaRpcEvent).function : s.event.type)).slice(1).join(' → ')}`, path] as const))(
    '%s',
    async (_name, path) => {
      sut = createSut(INPUT);
      for (const step of path.steps.slice(1)) {
        const event = step.event as DriverEvent;
        const before = mirrorOf(sut.actor.getSnapshot().context);
        const snapshot = sut.actor.getSnapshot();
        const mark = sut.emitted.length;
        if (event.type === 'rpc.media') {
          const refusal = oracle(before, event.requires);
          expect(snapshot.can(event), `${event.function} in ${JSON.stringify(before)}`).toBe(refusal === null);
          if (refusal !== null) {
            expect(explainRefusal(snapshot, event, event.function)._tag).toBe(refusal);
            continue;
          }
        }
        sut.actor.send(event);
        expect(mirrorOf(sut.actor.getSnapshot().context)).toEqual(expectedMirror(before, event));
        const forwarded = sut.emitted.slice(mark).filter((e) => e.type === 'driver.forward');
        if (event.type === 'rpc.media') expect(forwarded).toEqual([{ type: 'driver.forward', command: { to: 'media', event } }]);
        else expect(forwarded).toEqual([]);
      }
      expect(serialize(sut.actor.getSnapshot())).toBe(serialize(path.state as never));
    },
  );

  test('every transition of the model is walked', () => {
    const { all, unwalked } = coverageOf(adjacency, paths, serialize);
    expect(all.length).toBeGreaterThan(100);
    expect(unwalked).toEqual([]);
  });

  test('media.result answers the caller with the runtime outcome, success or typed failure', () => {
    sut = createSut(INPUT);
    const outcomes: DriverEmitted[] = [];
    sut.actor.on('rpc.outcome', (e) => outcomes.push(e));
    sut.actor.send({ type: 'media.result', requestId: 'r1', ok: true, result: { status: 'success' } });
    expect(outcomes).toEqual([{ type: 'rpc.outcome', requestId: 'r1', ok: true, result: { status: 'success' } }]);
  });

  test('with --no-media every media call is refused with MediaUnavailable and session reports are ignored', () => {
    sut = createSut({ ...INPUT, mediaEnabled: false });
    sut.actor.send({ type: 'connection.changed', state: 'connected', at: 1, lastError: null });
    sut.actor.send({ type: 'media.changed', state: 'streaming', at: 2, lastError: null });
    for (const event of RPCS) {
      const snapshot = sut.actor.getSnapshot();
      expect(snapshot.can(event)).toBe(false);
      expect(explainRefusal(snapshot, event, event.function)).toMatchObject({ _tag: 'MediaUnavailable', sessionState: 'disabled' });
    }
    expect(sut.actor.getSnapshot().context.media.state).toBe('disabled');
  });

  test('driver_state mirrors the session for reference readers (media_ready, input/output states)', () => {
    sut = createSut(INPUT);
    sut.actor.send({ type: 'media.changed', state: 'streaming', at: 3, lastError: null });
    expect(sut.actor.getSnapshot().context.state).toMatchObject({ media_ready: true, video_input_state: 'available', audio_input_state: 'started', audio_output_state: 'started' });
    sut.actor.send({ type: 'media.changed', state: 'released', at: 4, lastError: null });
    expect(sut.actor.getSnapshot().context.state).toMatchObject({ media_ready: false, video_input_state: 'released', audio_input_state: 'released' });
  });
});

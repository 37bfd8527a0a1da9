// Model-based test of the media-session machine (src/machines/media-session.machine.ts): one
// generated path per adjacency edge, replayed on the real actor with recording session, watcher
// and call actors and fake timers. At each step: the model's state; one `media.changed` per state
// entry (with that state); the session actor runs exactly while in `session` and the released
// watcher exactly while in `released` (both stopped on every exit); timers fire exactly on time,
// not 1 ms early (back-off jitter fixed at MODEL_RANDOM through the input); a stream resets the
// back-off once it lasted MEDIA_STABLE_STREAMING_MS. Every non-edge (state, event) pair is refused;
// transition coverage asserted.
// Not here: a real WebRTC session, or the root's media gate (driver-media.model.test.ts).
import { describe, expect, test, vi } from 'vitest';
import { createActor, fromCallback, getInitialSnapshot, type ActorLogic, type SnapshotFrom } from 'xstate';
import {
  MEDIA_RECONNECT_MAX_MS,
  mediaReconnectBackoffMs,
  mediaSessionMachine,
  mediaCallEvent,
  mediaCallId,
  mediaStateName,
  MEDIA_STABLE_STREAMING_MS,
  NEGOTIATION_TIMEOUT_MS,
  SIGNALLING_TIMEOUT_MS,
  type MediaCallEvent,
  type MediaChanged,
  type MediaContext,
  type MediaEmitted,
  type MediaEvent,
} from '../../src/machines/media-session.machine.ts';
import { MEDIA_FUNCTIONS, type MediaRpcEvent } from '../../src/rpc/media-functions.ts';
import type { MediaCallActors } from '../../src/actors/media-call-actor.ts';
import { Unsupported } from '../../src/errors.ts';
import { canModel, coverageOf, edgeEventsOf, edgePaths, eventListTest, recordingReplay, transitionCoverageTest, useFakeClock, watchTransitions } from './model-harness.ts';

const AFTER_BACKOFF = 'xstate.after.reconnectBackoff.media.reconnecting';
const AFTER_SIGNALLING = 'xstate.after.signallingTimeout.media.session.signalling';
const AFTER_NEGOTIATION = 'xstate.after.negotiationTimeout.media.session.negotiating';
const AFTER_STABLE = 'xstate.after.stableStreaming.media.session.streaming';
/** The jitter draw the machine gets in these tests: mid-range, so a delay ignoring it would be caught. */
const MODEL_RANDOM = 0.5;
const random = () => MODEL_RANDOM;
/** The first attempt whose back-off ceiling is the cap: attempts from here on are alike (finite graph). */
const SATURATED = (() => {
  let a = 1;
  while (mediaReconnectBackoffMs(a, () => 1) < MEDIA_RECONNECT_MAX_MS) a++;
  return a;
})();

type Ev = MediaEvent | { type: typeof AFTER_BACKOFF | typeof AFTER_SIGNALLING | typeof AFTER_NEGOTIATION | typeof AFTER_STABLE };

const EVENTS: Ev[] = [
  { type: 'media.start' },
  { type: 'media.stop' },
  { type: 'media.release' },
  { type: 'media.acquire' },
  { type: 'media.negotiating' },
  { type: 'media.streaming' },
  { type: 'media.lost', reason: 'producer left', cause: 'link-producer-ended' },
  { type: AFTER_BACKOFF },
  { type: AFTER_SIGNALLING },
  { type: AFTER_NEGOTIATION },
  { type: AFTER_STABLE },
];

/** One call event per media function, built through the function's own decode and `toEvent`. */
const REQUIRED_PARAMS: Readonly<Record<string, object>> = { push_audio_sample: { data_b64: 'AAAA' }, play_audio_file: { sound_file: 'beep.wav' } };
const CALLS: MediaCallEvent[] = MEDIA_FUNCTIONS.map((fn, i) => {
  const params = fn.params.decode(REQUIRED_PARAMS[fn.name] ?? {});
  if (params._tag !== 'Success') throw new Error(`${fn.name}: ${params.failure.message}`);
  return mediaCallEvent(fn.toEvent(params.success as never, { requestId: `req-${i}`, function: fn.name, caller: { sourceDevice: null, traceId: null } }) as MediaRpcEvent);
});
const ANSWERED: MediaEvent = { type: 'media.answered', requestId: 'req-0', ok: true, result: {} };

function serialize(snapshot: { value: unknown; status: string; context: MediaContext }): string {
  const attempt = snapshot.context.attempt >= SATURATED ? `${SATURATED}+` : String(snapshot.context.attempt);
  return `${JSON.stringify(snapshot.value)}|${snapshot.status}|${attempt}`;
}

interface StartedCall {
  fn: string;
  input: unknown;
  answer: (event: MediaEvent) => void;
}

interface Sut {
  actor: ReturnType<typeof createActor<typeof mediaSessionMachine>>;
  emitted: MediaChanged[];
  results: MediaEmitted[];
  calls: StartedCall[];
  sessionsStarted: number;
  sessionsStopped: number;
  watchersStarted: number;
  watchersStopped: number;
}

function createSut(): Sut {
  const sut = { emitted: [] as MediaChanged[], results: [] as MediaEmitted[], calls: [] as StartedCall[], sessionsStarted: 0, sessionsStopped: 0, watchersStarted: 0, watchersStopped: 0 } as Sut;
  const callActors = Object.fromEntries(
    MEDIA_FUNCTIONS.map((fn) => [fn.name, fromCallback<MediaEvent, unknown>(({ input, sendBack }) => void sut.calls.push({ fn: fn.name, input, answer: sendBack }))]),
  );
  const logic = mediaSessionMachine.provide({
    actors: {
      mediaSession: fromCallback(() => {
        sut.sessionsStarted += 1;
        return () => void (sut.sessionsStopped += 1);
      }),
      watchReleased: fromCallback(() => {
        sut.watchersStarted += 1;
        return () => void (sut.watchersStopped += 1);
      }),
      ...(callActors as unknown as MediaCallActors),
    },
  });
  sut.actor = createActor(logic, { input: { random } });
  sut.actor.on('media.changed', (e) => void sut.emitted.push(e));
  sut.actor.on('media.result', (e) => void sut.results.push(e));
  watchTransitions(sut.actor);
  sut.actor.start();
  return sut;
}

const inSession = (value: unknown) => typeof value === 'object' && value !== null && 'session' in value;

async function step(sut: Sut, event: Ev): Promise<void> {
  const before = sut.actor.getSnapshot();
  const mark = sut.emitted.length;
  if (event.type === AFTER_BACKOFF || event.type === AFTER_SIGNALLING || event.type === AFTER_NEGOTIATION || event.type === AFTER_STABLE) {
    const ms = { [AFTER_BACKOFF]: mediaReconnectBackoffMs(before.context.attempt, random), [AFTER_SIGNALLING]: SIGNALLING_TIMEOUT_MS, [AFTER_NEGOTIATION]: NEGOTIATION_TIMEOUT_MS, [AFTER_STABLE]: MEDIA_STABLE_STREAMING_MS }[event.type];
    await vi.advanceTimersByTimeAsync(ms - 1);
    expect(sut.actor.getSnapshot().value, `${event.type} must not fire 1 ms early`).toEqual(before.value);
    expect(sut.actor.getSnapshot().context.attempt, `${event.type} must not fire 1 ms early`).toBe(before.context.attempt);
    await vi.advanceTimersByTimeAsync(1);
  } else {
    sut.actor.send(event as MediaEvent);
    await vi.advanceTimersByTimeAsync(0);
  }
  const after = sut.actor.getSnapshot();
  const entered = sut.emitted.slice(mark);
  if (JSON.stringify(after.value) !== JSON.stringify(before.value)) {
    expect(entered.map((e) => e.state)).toEqual([mediaStateName(after.value)]);
    expect(entered[0]!.at).toBe(Date.now());
  }
  // Failures are forgotten only once a stream has lasted MEDIA_STABLE_STREAMING_MS, and only then.
  if (event.type === AFTER_STABLE) expect(after.context.attempt).toBe(0);
  else if (after.context.attempt !== before.context.attempt) expect(after.context.attempt).toBe(before.context.attempt + 1);
  expect(sut.sessionsStarted - sut.sessionsStopped, 'the session actor runs exactly while in session').toBe(inSession(after.value) ? 1 : 0);
  expect(sut.watchersStarted - sut.watchersStopped, 'the released watcher runs exactly while released').toBe(after.value === 'released' ? 1 : 0);
}

describe('media session machine', () => {
  const idle = fromCallback<MediaEvent>(() => () => undefined);
  const modelLogic = mediaSessionMachine.provide({ actors: { mediaSession: idle, watchReleased: idle } });
  const model = canModel(modelLogic as never as ActorLogic<SnapshotFrom<typeof modelLogic>, MediaEvent>, EVENTS as MediaEvent[], serialize);
  const { adjacency, paths, prefixes } = edgePaths(model, serialize, { fromState: getInitialSnapshot(modelLogic) as never });
  const sut = useFakeClock(createSut);

  eventListTest(mediaSessionMachine, [...EVENTS, ...CALLS, ANSWERED]);

  test.each(paths.map((p) => [p.description, p] as const))('%s', async (_d, path) => {
    await recordingReplay(paths, async () => {
      for (const s of path.steps.slice(1)) {
        await step(sut(), s.event as Ev);
        expect(serialize(sut().actor.getSnapshot())).toBe(serialize(s.state as never));
      }
    });
  });

  test('refuses every event that is not an edge, in every state', async () => {
    for (const stateKey of Object.keys(adjacency)) {
      const edges = edgeEventsOf(adjacency, stateKey);
      for (const event of EVENTS) {
        if (edges.has(JSON.stringify(event))) continue;
        const fresh = createSut();
        for (const e of prefixes.get(stateKey)!) await step(fresh, e as Ev);
        const before = fresh.actor.getSnapshot();
        expect(before.can(event as never), `${stateKey} ${event.type}`).toBe(false);
        if (!event.type.startsWith('xstate.after.')) {
          fresh.actor.send(event as MediaEvent);
          expect(fresh.actor.getSnapshot().value).toEqual(before.value);
          expect(fresh.actor.getSnapshot().context).toEqual(before.context);
        }
        fresh.actor.stop();
      }
    }
  });

  test('in every reachable state, each media call runs in its own call actor and is answered once as media.result', async () => {
    expect(CALLS.map((c) => c.type)).toEqual(MEDIA_FUNCTIONS.map((f) => `media.call.${f.name}`));
    // Recorded for the coverage check below: the call transitions are taken here, not on the paths.
    await recordingReplay(paths, async () => {
    for (const stateKey of Object.keys(adjacency)) {
      const fresh = createSut();
      for (const e of prefixes.get(stateKey)!) await step(fresh, e as Ev);
      const before = fresh.actor.getSnapshot();
      for (const call of CALLS) {
        fresh.actor.send(call);
        const started = fresh.calls.at(-1)!;
        expect(started.fn, `${stateKey} ${call.type}`).toBe(call.type.slice('media.call.'.length));
        expect(started.input).toEqual({ requestId: call.requestId, params: call.params, session: fresh.actor });
        expect((started.input as { session: unknown }).session, 'the call reads the session that started it').toBe(fresh.actor);
        expect(Object.keys(fresh.actor.getSnapshot().children)).toContain(mediaCallId(call.requestId));
      }
      expect(fresh.calls).toHaveLength(CALLS.length);
      expect(fresh.actor.getSnapshot().value).toEqual(before.value);
      expect(fresh.actor.getSnapshot().context).toEqual(before.context);
      for (const [i, started] of fresh.calls.entries()) {
        const requestId = CALLS[i]!.requestId;
        started.answer(i % 2 === 0 ? { type: 'media.answered', requestId, ok: true, result: { n: i } } : { type: 'media.answered', requestId, ok: false, error: new Unsupported({ message: 'no', function: 'x' }) });
        expect(fresh.actor.getSnapshot().children[mediaCallId(requestId)], 'the answered call actor is stopped').toBeUndefined();
        started.answer({ type: 'media.answered', requestId, ok: true, result: 'twice' });
      }
      expect(fresh.results.map((r) => [r.type, 'requestId' in r ? r.requestId : null, 'ok' in r ? r.ok : null])).toEqual(CALLS.map((c, i) => ['media.result', c.requestId, i % 2 === 0]));
      fresh.actor.stop();
    }
    });
  });

  transitionCoverageTest(mediaSessionMachine, paths, { minimum: 8 });

  test('a producer that keeps dropping backs off up to the cap, streams again after it returns, and backs off from the base once the stream lasted', async () => {
    await step(sut(), { type: 'media.start' });
    for (let i = 0; i < SATURATED + 2; i++) {
      await step(sut(), { type: 'media.lost', reason: 'producer left', cause: 'link-producer-ended' });
      await step(sut(), { type: AFTER_BACKOFF });
    }
    expect(sut().actor.getSnapshot().context.attempt).toBeGreaterThanOrEqual(SATURATED);
    await step(sut(), { type: 'media.negotiating' });
    await step(sut(), { type: 'media.streaming' });
    expect(sut().actor.getSnapshot().hasTag('media-ready')).toBe(true);
    // Lost again within MEDIA_STABLE_STREAMING_MS: still at the cap.
    expect(sut().actor.getSnapshot().context.attempt).toBeGreaterThanOrEqual(SATURATED);
    await step(sut(), { type: AFTER_STABLE });
    expect(sut().actor.getSnapshot().context.attempt).toBe(0);
  });
});

// Model-based test of the media-session machine (src/machines/media-session.machine.ts): one
// generated path per adjacency edge, replayed on the real actor with a recording session actor and
// fake timers. At each step the actor is in the model's state, exactly one `media.changed` is
// emitted per state entry (with that state), the session actor runs exactly while in `session`
// (stopped on every exit), timers fire exactly on time (not 1 ms early), and a successful stream
// resets the back-off. Every (state, event) pair that is not an edge is refused. Coverage asserted.
import { describe, expect, test, vi } from 'vitest';
import { createActor, fromCallback, getInitialSnapshot, type ActorLogic, type SnapshotFrom } from 'xstate';
import {
  MEDIA_RECONNECT_MAX_MS,
  mediaReconnectBackoffMs,
  mediaSessionMachine,
  mediaStateName,
  NEGOTIATION_TIMEOUT_MS,
  SIGNALLING_TIMEOUT_MS,
  type MediaContext,
  type MediaEmitted,
  type MediaEvent,
} from '../../src/machines/media-session.machine.ts';
import { canModel, edgeEventsOf, edgePaths, eventListTest, recordingReplay, transitionCoverageTest, useFakeClock, watchTransitions } from './model-harness.ts';

const AFTER_BACKOFF = 'xstate.after.reconnectBackoff.media.reconnecting';
const AFTER_SIGNALLING = 'xstate.after.signallingTimeout.media.session.signalling';
const AFTER_NEGOTIATION = 'xstate.after.negotiationTimeout.media.session.negotiating';
/** The first attempt whose back-off is the cap: attempts from here on are alike (finite graph). */
const SATURATED = (() => {
  let a = 1;
  while (mediaReconnectBackoffMs(a) < MEDIA_RECONNECT_MAX_MS) a++;
  return a;
})();

type Ev = MediaEvent | { type: typeof AFTER_BACKOFF | typeof AFTER_SIGNALLING | typeof AFTER_NEGOTIATION };

const EVENTS: Ev[] = [
  { type: 'media.start' },
  { type: 'media.stop' },
  { type: 'media.release' },
  { type: 'media.acquire' },
  { type: 'media.negotiating' },
  { type: 'media.streaming' },
  { type: 'media.lost', reason: 'producer left' },
  { type: AFTER_BACKOFF },
  { type: AFTER_SIGNALLING },
  { type: AFTER_NEGOTIATION },
];

function serialize(snapshot: { value: unknown; status: string; context: MediaContext }): string {
  const attempt = snapshot.context.attempt >= SATURATED ? `${SATURATED}+` : String(snapshot.context.attempt);
  return `${JSON.stringify(snapshot.value)}|${snapshot.status}|${attempt}`;
}

interface Sut {
  actor: ReturnType<typeof createActor<typeof mediaSessionMachine>>;
  emitted: MediaEmitted[];
  sessionsStarted: number;
  sessionsStopped: number;
}

function createSut(): Sut {
  const sut = { emitted: [] as MediaEmitted[], sessionsStarted: 0, sessionsStopped: 0 } as Sut;
  const logic = mediaSessionMachine.provide({
    actors: {
      mediaSession: fromCallback(() => {
        sut.sessionsStarted += 1;
        return () => void (sut.sessionsStopped += 1);
      }),
    },
  });
  sut.actor = createActor(logic);
  sut.actor.on('media.changed', (e) => void sut.emitted.push(e));
  watchTransitions(sut.actor);
  sut.actor.start();
  return sut;
}

const inSession = (value: unknown) => typeof value === 'object' && value !== null && 'session' in value;

async function step(sut: Sut, event: Ev): Promise<void> {
  const before = sut.actor.getSnapshot();
  const mark = sut.emitted.length;
  if (event.type === AFTER_BACKOFF || event.type === AFTER_SIGNALLING || event.type === AFTER_NEGOTIATION) {
    const ms = event.type === AFTER_BACKOFF ? mediaReconnectBackoffMs(before.context.attempt) : event.type === AFTER_SIGNALLING ? SIGNALLING_TIMEOUT_MS : NEGOTIATION_TIMEOUT_MS;
    await vi.advanceTimersByTimeAsync(ms - 1);
    expect(sut.actor.getSnapshot().value, `${event.type} must not fire 1 ms early`).toEqual(before.value);
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
  if (after.matches({ session: 'streaming' })) expect(after.context.attempt).toBe(0);
  expect(sut.sessionsStarted - sut.sessionsStopped, 'the session actor runs exactly while in session').toBe(inSession(after.value) ? 1 : 0);
}

describe('media session machine', () => {
  const modelLogic = mediaSessionMachine.provide({ actors: { mediaSession: fromCallback<MediaEvent>(() => () => undefined) } });
  const model = canModel(modelLogic as never as ActorLogic<SnapshotFrom<typeof modelLogic>, MediaEvent>, EVENTS as MediaEvent[], serialize);
  const { adjacency, paths, prefixes } = edgePaths(model, serialize, { fromState: getInitialSnapshot(modelLogic) as never });
  const sut = useFakeClock(createSut);

  eventListTest(mediaSessionMachine, EVENTS);

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

  transitionCoverageTest(mediaSessionMachine, paths, { minimum: 8 });

  test('a producer that keeps dropping backs off up to the cap and streams again after it returns', async () => {
    await step(sut(), { type: 'media.start' });
    for (let i = 0; i < SATURATED + 2; i++) {
      await step(sut(), { type: 'media.lost', reason: 'producer left' });
      await step(sut(), { type: AFTER_BACKOFF });
    }
    expect(sut().actor.getSnapshot().context.attempt).toBeGreaterThanOrEqual(SATURATED);
    await step(sut(), { type: 'media.negotiating' });
    await step(sut(), { type: 'media.streaming' });
    expect(sut().actor.getSnapshot().hasTag('media-ready')).toBe(true);
    expect(sut().actor.getSnapshot().context.attempt).toBe(0);
  });
});

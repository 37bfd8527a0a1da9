// The live view's frames (src/actors/live-view.ts) from a real XState actor system: only state
// machines are listed (not promise actors), each with its current state read from its own
// snapshot; a stopped actor disappears; events are kept up to LIVE_EVENTS_KEPT; contexts and
// events are sanitised like the Stately inspector's (secret keys redacted, binary and base64 sized).
import { expect, test } from 'vitest';
import { assign, createActor, fromPromise, setup } from 'xstate';
import { createLiveView, LIVE_EVENTS_KEPT } from '../../src/actors/live-view.ts';

const SECRET = 'SUAM-very-secret-seed';

const machine = setup({
  types: { context: {} as { jwt: string; frame: Uint8Array; image_b64: string; n: number }, events: {} as { type: 'tick'; seed?: string } | { type: 'stop' } },
  actors: { fetch: fromPromise(async () => 1) },
}).createMachine({
  id: 'probe',
  context: { jwt: SECRET, frame: new Uint8Array(4096), image_b64: 'A'.repeat(10_000), n: 0 },
  initial: 'idle',
  states: {
    idle: { invoke: { id: 'fetch', src: 'fetch' }, on: { tick: { target: 'busy', actions: assign({ n: ({ context }) => context.n + 1 }) } } },
    busy: { on: { tick: { actions: assign({ n: ({ context }) => context.n + 1 }) }, stop: 'done' } },
    done: { type: 'final' },
  },
});

test('machines only, current state from the snapshot, sanitised context and events, bounded event list', () => {
  const live = createLiveView();
  const actor = createActor(machine, { inspect: live.observer }).start();
  expect(live.frame().actors.map((a) => a.machine)).toEqual(['probe']);
  for (let i = 0; i < LIVE_EVENTS_KEPT + 20; i++) actor.send({ type: 'tick', seed: SECRET });
  const frame = live.frame();
  const [probe] = frame.actors;
  expect(probe?.value).toBe('busy');
  expect(probe?.context).toMatchObject({ jwt: '[redacted]', frame: '[binary 4096 bytes]', image_b64: '[base64 10000 chars]', n: LIVE_EVENTS_KEPT + 20 });
  expect(frame.events.length).toBe(LIVE_EVENTS_KEPT);
  expect(frame.events.at(-1)).toMatchObject({ target: 'x:0', type: 'tick', event: { type: 'tick', seed: '[redacted]' } });
  expect(JSON.stringify(frame)).not.toContain(SECRET);
  actor.send({ type: 'stop' });
  expect(live.frame().actors).toEqual([]);
});

test('subscribers get coalesced frames after changes', async () => {
  const live = createLiveView();
  const frames: number[] = [];
  live.subscribe((f) => frames.push(f.events.length));
  const actor = createActor(machine, { inspect: live.observer }).start();
  for (let i = 0; i < 10; i++) actor.send({ type: 'tick' });
  await expect.poll(() => frames.length).toBeGreaterThan(0);
  // Ten events in one burst arrive in one frame, not ten.
  expect(frames.length).toBe(1);
  expect(frames[0]).toBeGreaterThanOrEqual(10);
  actor.stop();
});

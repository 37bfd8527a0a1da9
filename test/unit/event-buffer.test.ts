// The MCP bridge's event memory (src/mcp/event-buffer.ts) on a fake MeshClient whose one watch the
// test feeds: `wait_for_event` gets each event at most once (before 2026-12-07 a wait handed back an
// event a previous wait had already returned), the oldest unreturned match first; an event that
// arrives goes to the earliest-started matching wait only; a wait that is over takes nothing; events
// no wait took stay for later ones, as does what a cancelled wait took; the latest-event resource
// shows the latest, returned or not.
import { afterEach, expect, test } from 'vitest';
import type { JsonObject } from '../../src/client/device-record.ts';
import type { MeshEvent } from '../../src/client/event-watch.ts';
import type { MeshClient } from '../../src/client/mesh-client.ts';
import { EventBuffer, type BridgeEvent, type EventMatch } from '../../src/mcp/event-buffer.ts';

const DEVICE = 'reachy-mini-1';
/** Long enough that a wait the test expects to stay pending never times out on a loaded machine. */
const PENDING_MS = 60_000;
/** A wait the test expects to time out: nothing is sent meanwhile, so any length proves it. */
const SHORT_MS = 20;

/** The one event watch of the fake client: an async iterable the test pushes events into. */
class FakeWatch {
  readonly ready = Promise.resolve();
  private readonly queue: MeshEvent[] = [];
  private wake: (() => void) | undefined;
  private closed = false;

  push(name: string, params: JsonObject): void {
    this.queue.push({ deviceId: DEVICE, name, params, subject: `device-connect.t.${DEVICE}.event.${name}` });
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<MeshEvent> {
    while (!this.closed) {
      const event = this.queue.shift();
      if (event) yield event;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

let buffer: EventBuffer;
afterEach(() => buffer?.close());

/** A buffer watching DEVICE through a fake client, and the watch to feed. */
async function watched(): Promise<FakeWatch> {
  const watch = new FakeWatch();
  buffer = new EventBuffer({ events: () => watch } as unknown as MeshClient, () => undefined);
  await buffer.watch(DEVICE);
  return watch;
}

/** Lets the buffer's pump record what was pushed. */
const delivered = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const named = (eventName: string, matchParams: JsonObject = {}): EventMatch => ({ eventName, matchParams });
const seqOf = (event: BridgeEvent | undefined): unknown => event?.params['seq'];
const PENDING = Symbol('pending');
/** The seq of the event a wait got, or PENDING while it still waits (once pushed events are recorded). */
const stateOf = async (wait: Promise<BridgeEvent | undefined>): Promise<unknown> => {
  const seq = wait.then(seqOf);
  await delivered();
  return Promise.race([seq, PENDING]);
};

test('two waits for the same event name get two different events, the oldest first', async () => {
  const watch = await watched();
  watch.push('motion_done', { seq: 1 });
  watch.push('motion_done', { seq: 2 });
  await delivered();
  expect(seqOf(await buffer.waitFor(DEVICE, named('motion_done'), PENDING_MS))).toBe(1);
  expect(seqOf(await buffer.waitFor(DEVICE, named('motion_done'), PENDING_MS))).toBe(2);
});

test('an event already returned is not returned again: the next wait times out, or gets the next one', async () => {
  const watch = await watched();
  watch.push('motion_done', { seq: 1 });
  await delivered();
  expect(seqOf(await buffer.waitFor(DEVICE, named('motion_done'), PENDING_MS))).toBe(1);
  expect(await buffer.waitFor(DEVICE, named('motion_done'), SHORT_MS)).toBeUndefined();
  const next = buffer.waitFor(DEVICE, named('motion_done'), PENDING_MS);
  expect(await stateOf(next)).toBe(PENDING);
  watch.push('motion_done', { seq: 2 });
  expect(seqOf(await next)).toBe(2);
});

test('two pending waits and one event: the earlier wait gets it, the other waits on for the next', async () => {
  const watch = await watched();
  const first = buffer.waitFor(DEVICE, named('motion_done'), PENDING_MS);
  const second = buffer.waitFor(DEVICE, named('motion_done'), PENDING_MS);
  await delivered();
  watch.push('motion_done', { seq: 1 });
  expect(await stateOf(first)).toBe(1);
  expect(await stateOf(second)).toBe(PENDING);
  watch.push('motion_done', { seq: 2 });
  expect(await stateOf(second)).toBe(2);
});

test('an event goes to the earliest wait it matches; events no wait took stay for later waits', async () => {
  const watch = await watched();
  const refusals = buffer.waitFor(DEVICE, named('safety_event', { kind: 'refused' }), PENDING_MS);
  const any = buffer.waitFor(DEVICE, named(''), PENDING_MS);
  await delivered();
  watch.push('safety_event', { kind: 'accepted', seq: 1 });
  expect(await stateOf(any)).toBe(1);
  expect(await stateOf(refusals)).toBe(PENDING);
  watch.push('audio_event', { seq: 2 });
  watch.push('safety_event', { kind: 'refused', seq: 3 });
  expect(await stateOf(refusals)).toBe(3);
  expect(seqOf(await buffer.waitFor(DEVICE, named(''), PENDING_MS))).toBe(2);
  expect(await buffer.waitFor(DEVICE, named(''), SHORT_MS)).toBeUndefined();
});

test('a wait that timed out takes nothing: the event that arrives after it is there for the next wait', async () => {
  const watch = await watched();
  expect(await buffer.waitFor(DEVICE, named('motion_done'), SHORT_MS)).toBeUndefined();
  watch.push('motion_done', { seq: 1 });
  await delivered();
  expect(seqOf(await buffer.waitFor(DEVICE, named('motion_done'), PENDING_MS))).toBe(1);
});

test('the latest event stays the latest once a wait has returned it', async () => {
  const watch = await watched();
  watch.push('motion_done', { seq: 1 });
  await delivered();
  expect(seqOf(await buffer.waitFor(DEVICE, named('motion_done'), PENDING_MS))).toBe(1);
  expect(seqOf(buffer.latest(DEVICE))).toBe(1);
});

test('a wait its caller gave up (MCP cancel) keeps nothing: the event it would have had goes to the next wait', async () => {
  const watch = await watched();
  watch.push('safety_event', { seq: 1 });
  await delivered();
  const cancelled = new AbortController();
  cancelled.abort();
  expect(await buffer.waitFor(DEVICE, named('safety_event'), SHORT_MS, cancelled.signal)).toBeUndefined();
  expect(seqOf(await buffer.waitFor(DEVICE, named('safety_event'), SHORT_MS))).toBe(1);
});

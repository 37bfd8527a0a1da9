// Transcript of the media runtime on its own (src/actors/media-runtime.ts): the real runtime, its
// session machine, call actors and media link against the emulator's daemon and signalling server,
// with the root driver machine replaced by a recorder of what the runtime sends it. A gated call
// runs in a `call.<requestId>` child of the session and is answered exactly once with media.result;
// the session is released before the release is answered; a call still running when the runtime stops,
// and a call handed to a stopped runtime, are answered MediaUnavailable instead of never; stop()
// resolves only once the link's teardown, or a set-up it aborted, has finished; a frozen camera
// ends the motion in progress and detect_motion answers FrameTooOld until pictures come again.
import { expect, test } from 'vitest';
import type { MonitorSettings } from '../../src/actors/media-monitors.ts';
import { startMediaRuntime, type MediaRuntime, type MediaRuntimeOptions } from '../../src/actors/media-runtime.ts';
import { openMediaLink } from '../../src/adapters/media-link/open-media-link.ts';
import type { DriverEvent } from '../../src/machines/driver.machine.ts';
import { mediaCallId, mediaStateName } from '../../src/machines/media-session.machine.ts';
import { DEFAULT_MAX_FRAME_AGE_MS } from '../../src/media/frame-freshness.ts';
import { PRODUCER_NAME } from '../../src/media/signalling/protocol.ts';
import { MEDIA_FUNCTIONS, type MediaFunctionName, type MediaRpcEvent } from '../../src/rpc/media-functions.ts';
import type { Emulator } from '../../src/sim/emulator.ts';
import { startSignallingServer } from '../../src/sim/signalling-server.ts';
import { startEmulatorWithClient } from '../harness/emulator-client.ts';
import { testMediaRuntimeOptions } from '../harness/media-runtime-options.ts';
import { cleanupAfterEach } from '../harness/test-cleanups.ts';
import { WsProbe } from '../sim/protocol-client.ts';

const defer = cleanupAfterEach();

/** How long the session may take to stream on a loaded machine (it takes ~100 ms alone). */
const STREAM_WAIT_MS = 10_000;

let counter = 0;
function rpc(fn: MediaFunctionName, params: Record<string, unknown> = {}): MediaRpcEvent {
  const def = MEDIA_FUNCTIONS.find((f) => f.name === fn)!;
  const decoded = def.params.decode(params);
  if (decoded._tag !== 'Success') throw new Error(decoded.failure.message);
  return def.toEvent(decoded.success as never, { requestId: `req-${++counter}`, function: fn, caller: { sourceDevice: null, traceId: null } }) as MediaRpcEvent;
}

interface Scene {
  readonly emulator: Emulator;
  readonly runtime: MediaRuntime;
  readonly toRoot: DriverEvent[];
  /** The detector events the runtime published (`audio_event` / `motion_event` payloads). */
  readonly events: Record<string, unknown>[];
  /** The session's state at the moment each event reached the root. */
  readonly sessionAt: Map<DriverEvent, string>;
  /** Hands `event` to the runtime and resolves with the media.result events answering it so far, once there is one. */
  call(event: MediaRpcEvent): Promise<Array<Extract<DriverEvent, { type: 'media.result' }>>>;
  answersTo(requestId: string): Array<Extract<DriverEvent, { type: 'media.result' }>>;
}

/** The runtime's options against `signallingUrl`, with the emulator as its daemon. */
const runtimeOptions = testMediaRuntimeOptions;

async function scene(monitors: Partial<MonitorSettings> = {}): Promise<Scene> {
  const { emulator, client } = await startEmulatorWithClient(defer, { withMedia: true });
  const toRoot: DriverEvent[] = [];
  const events: Record<string, unknown>[] = [];
  const sessionAt = new Map<DriverEvent, string>();
  const options = runtimeOptions(emulator, client, emulator.signallingUrl!);
  const runtime = startMediaRuntime({
    ...options,
    monitors: { ...options.monitors, ...monitors },
    emitEvent: (_name, payload) => void events.push(payload),
    toRoot: (event) => {
      toRoot.push(event);
      sessionAt.set(event, mediaStateName(runtime.session.getSnapshot().value));
    },
  });
  defer(() => runtime.stop());
  const answersTo = (requestId: string) => toRoot.filter((e): e is Extract<DriverEvent, { type: 'media.result' }> => e.type === 'media.result' && e.requestId === requestId);
  await expect.poll(() => runtime.link !== null, { timeout: STREAM_WAIT_MS }).toBe(true);
  return {
    emulator,
    runtime,
    toRoot,
    events,
    sessionAt,
    answersTo,
    async call(event) {
      runtime.handle(event);
      await expect.poll(() => answersTo(event.requestId).length, { timeout: STREAM_WAIT_MS }).toBeGreaterThan(0);
      return answersTo(event.requestId);
    },
  };
}

test('a call runs in its own child of the session and is answered once; release is reported before its answer', async () => {
  const s = await scene();
  const status = rpc('get_media_status');
  const [answer, ...more] = await s.call(status);
  expect(more).toEqual([]);
  expect(answer).toMatchObject({ ok: true, result: { status: 'available', session_state: 'streaming', video_codec: 'vp8' } });
  expect(Object.keys(s.runtime.session.getSnapshot().children)).not.toContain(mediaCallId(status.requestId));

  const capture = rpc('capture_audio_sample', { duration_ms: 10_000 });
  s.runtime.handle(capture);
  expect(Object.keys(s.runtime.session.getSnapshot().children)).toContain(mediaCallId(capture.requestId));

  const release = rpc('release_media_hardware');
  const [released] = await s.call(release);
  expect(released).toMatchObject({ ok: true, result: { released: true, session_state: 'released' } });
  expect(s.sessionAt.get(released!)).toBe('released');
  // The capture stops waiting when its link goes and answers with what it had, once.
  await expect.poll(() => s.answersTo(capture.requestId).length, { timeout: STREAM_WAIT_MS }).toBe(1);
  expect(Object.keys(s.runtime.session.getSnapshot().children)).not.toContain(mediaCallId(capture.requestId));
});

test('a call still running when the runtime stops, and one handed to the stopped runtime, are answered MediaUnavailable once', async () => {
  const s = await scene();
  const capture = rpc('capture_audio_sample', { duration_ms: 10_000 });
  s.runtime.handle(capture);
  expect(s.answersTo(capture.requestId)).toEqual([]);
  await s.runtime.stop();
  expect(s.answersTo(capture.requestId).map((e) => (e.ok ? 'ok' : e.error._tag))).toEqual(['MediaUnavailable']);

  const late = rpc('get_media_status');
  s.runtime.handle(late);
  expect(s.answersTo(late.requestId).map((e) => (e.ok ? 'ok' : e.error._tag))).toEqual(['MediaUnavailable']);
  // The stopped call actor's own answer (its wait ends on abort) never reaches the root.
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(s.answersTo(capture.requestId)).toHaveLength(1);
});

test('audio heard while input was stopped is never served once it starts again', async () => {
  const s = await scene();
  const link = s.runtime.link!;
  await expect.poll(() => link.audioIn.length, { timeout: STREAM_WAIT_MS }).toBeGreaterThan(0);
  const [stopped] = await s.call(rpc('stop_audio_input'));
  expect(stopped).toMatchObject({ ok: true, result: { audio_input: false } });
  expect(link.audioIn.length).toBe(0);
  await new Promise((resolve) => setTimeout(resolve, 400)); // the robot's microphone keeps streaming meanwhile
  const [started] = await s.call(rpc('start_audio_input'));
  expect(started).toMatchObject({ ok: true, result: { audio_input: true } });
  // At most what arrived between the start's clear and this read (far less than the 400 ms stopped).
  expect(link.audioIn.length).toBeLessThan(link.audioIn.msToSamples(150));
});

test('stop() resolves once the live link is torn down: endSession reached the producer, the link has ended', async () => {
  const s = await scene();
  const link = s.runtime.link!;
  let linkEnded = false;
  void link.ended.then(() => (linkEnded = true));
  await s.runtime.stop();
  // What a driver exiting right after stop() leaves behind: nothing half-closed.
  expect(linkEnded).toBe(true);
  expect(s.emulator.media!.sessionEnds).toContainEqual({ sessionId: link.sessionId, by: 'endSession' });
  expect(s.runtime.link).toBeNull();
});

test('stop() during the set-up resolves once the aborted set-up has ended its signalling session', async () => {
  const { emulator, client } = await startEmulatorWithClient(defer, { withMedia: false });
  const server = await startSignallingServer({ host: '127.0.0.1', port: 0 });
  defer(() => server.close());
  // A webrtcsink stand-in whose pipeline never gets to its offer.
  const producer = await WsProbe.open(server.url);
  defer(() => producer.close());
  await producer.nextOfType('welcome');
  producer.send({ type: 'setPeerStatus', roles: ['producer'], meta: { name: PRODUCER_NAME } });
  await expect.poll(() => server.peers().length).toBe(1);

  let setUpSettled = false;
  const runtime = startMediaRuntime({
    ...runtimeOptions(emulator, client, server.url),
    openLink: (options) => {
      const opening = openMediaLink(options);
      void opening.then(() => (setUpSettled = true));
      return opening;
    },
  });
  defer(() => runtime.stop());
  await producer.nextOfType('startSession', STREAM_WAIT_MS);
  expect(server.sessions()).toHaveLength(1);
  await runtime.stop();
  expect(setUpSettled).toBe(true);
  expect(server.sessions()).toEqual([]);
});

test('a frozen camera, link still up: the motion monitor ends the motion in progress and detect_motion answers FrameTooOld until pictures come again', async () => {
  const s = await scene({ motion: true });
  const camera = s.emulator.media!;
  const kinds = () => s.events.map((e) => e['kind']);
  const detectMotion = async () => (await s.call(rpc('detect_motion')))[0]!;
  camera.setScene('moving');
  await expect.poll(kinds, { timeout: STREAM_WAIT_MS }).toEqual(['motion_detected']);
  expect(await detectMotion()).toMatchObject({ ok: true, result: { state: 'active' } });

  camera.freezeVideo(true);
  await expect.poll(kinds, { timeout: DEFAULT_MAX_FRAME_AGE_MS + STREAM_WAIT_MS }).toEqual(['motion_detected', 'motion_ended']);
  const frozen = await detectMotion();
  expect(frozen).toMatchObject({ ok: false, error: { _tag: 'FrameTooOld', max_age_ms: DEFAULT_MAX_FRAME_AGE_MS } });
  expect((frozen as { error?: { age_ms?: number } }).error?.age_ms).toBeGreaterThan(DEFAULT_MAX_FRAME_AGE_MS);
  // With the monitor off, the on-demand read looks at the picture itself and says the same.
  expect((await s.call(rpc('set_monitors', { motion: false })))[0]).toMatchObject({ ok: true });
  expect(await detectMotion()).toMatchObject({ ok: false, error: { _tag: 'FrameTooOld' } });
  expect(s.runtime.link).not.toBeNull();

  camera.freezeVideo(false);
  await s.call(rpc('set_monitors', { motion: true }));
  await expect.poll(kinds, { timeout: STREAM_WAIT_MS }).toEqual(['motion_detected', 'motion_ended', 'motion_detected']);
  expect(await detectMotion()).toMatchObject({ ok: true, result: { state: 'active' } });
}, 30_000);

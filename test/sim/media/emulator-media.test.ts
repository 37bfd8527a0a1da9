// The emulator with media: its signalling server and `reachymini` producer follow the daemon's
// life — release/acquire detach and re-attach the producer, daemon stop/start drops and restores
// the signalling server on the same port — and the default stream per model (wireless: H.264
// 1280×720, Lite: VP8). Exercised with the raw test consumer over real WebRTC.
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { NoProducer, SignallingUnreachable } from '../../../src/media/signalling/errors.ts';
import { type Emulator, startEmulator } from '../../../src/sim/emulator.ts';
import { type RawMediaConsumer, openRawMediaConsumer, waitFor } from '../../harness/raw-media-consumer.ts';
import { decodeVideo } from './decode-video.ts';

/**
 * How long a new consumer may wait for its first keyframe here. The producer's IDR period is 2 s
 * (h264-producer.test.ts checks that property); these tests only need one to arrive, and on a loaded
 * 2-core CI box the 720p encoder starting with the emulator once took over 3 s to deliver it.
 */
const KEYFRAME_WAIT_MS = 10_000;

const consumers: RawMediaConsumer[] = [];

async function consumer(url: string): Promise<RawMediaConsumer> {
  const opened = await openRawMediaConsumer({ url });
  consumers.push(opened);
  return opened;
}

async function post(emulator: Emulator, path: string): Promise<unknown> {
  const response = await fetch(`${emulator.url}${path}`, { method: 'POST' });
  return response.json();
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

afterEach(async () => {
  for (const opened of consumers.splice(0)) await opened.close();
});

describe('wireless emulator with media', () => {
  let emulator: Emulator;
  let mediaPort: number;
  beforeAll(async () => {
    mediaPort = await freePort();
    emulator = await startEmulator({ model: 'wireless', withMedia: true, mediaPort });
  });
  afterAll(async () => {
    await emulator?.close();
  });

  test('serves the H.264 camera at 1280×720 on the configured signalling port', async () => {
    expect(emulator.signallingUrl).toBe(`ws://127.0.0.1:${mediaPort}`);
    expect(emulator.media?.mode).toBe('h264');
    expect(emulator.media?.attached).toBe(true);
    const c = await consumer(emulator.signallingUrl ?? '');
    expect(c.codec).toBe('h264');
    await waitFor('a keyframe', () => c.frames.some((frame) => frame.keyframe), KEYFRAME_WAIT_MS);
    const key = c.frames.find((frame) => frame.keyframe);
    expect(decodeVideo('h264', [key?.data ?? new Uint8Array()])[0]).toMatchObject({ width: 1280, height: 720 });
  });

  test('POST /api/media/release ends the session and hides the producer; /acquire brings it back', async () => {
    const url = emulator.signallingUrl ?? '';
    const c = await consumer(url);
    await c.dataChannelOpen;
    expect(await post(emulator, '/api/media/release')).toEqual({ status: 'ok' });
    expect((await c.ended).reason).toBe('remote-ended');
    expect(emulator.media?.attached).toBe(false);
    expect(emulator.media?.sessionCount()).toBe(0);
    await expect(openRawMediaConsumer({ url })).rejects.toBeInstanceOf(NoProducer);
    expect(await post(emulator, '/api/media/release')).toEqual({ status: 'ok' }); // idempotent
    expect(await post(emulator, '/api/media/acquire')).toEqual({ status: 'ok' });
    expect(emulator.media?.attached).toBe(true);
    const again = await consumer(url);
    await again.dataChannelOpen;
    await waitFor('a keyframe', () => again.frames.some((frame) => frame.keyframe), KEYFRAME_WAIT_MS);
  });

  test('daemon stop drops the signalling server; start brings the producer back on the same URL within 3 s', async () => {
    const url = emulator.signallingUrl ?? '';
    const c = await consumer(url);
    await c.dataChannelOpen;
    await emulator.stop();
    expect((await c.ended).reason).toBe('connection-lost');
    expect(emulator.media?.attached).toBe(false);
    await waitFor('the peer connection to close', () => emulator.media?.sessionCount() === 0, 2_000);
    await expect(openRawMediaConsumer({ url })).rejects.toBeInstanceOf(SignallingUnreachable);
    const restarted = performance.now();
    await emulator.start();
    expect(emulator.signallingUrl).toBe(url);
    const again = await consumer(url);
    await waitFor('a keyframe', () => again.frames.some((frame) => frame.keyframe), KEYFRAME_WAIT_MS);
    expect(performance.now() - restarted).toBeLessThan(3_000);
  });
});

describe('lite emulator with media', () => {
  test('streams VP8 by default; close frees the signalling port', async () => {
    const emulator = await startEmulator({ withMedia: true });
    try {
      expect(emulator.media?.mode).toBe('vp8');
      const c = await consumer(emulator.signallingUrl ?? '');
      expect(c.codec).toBe('vp8');
      await waitFor('a keyframe', () => c.frames.some((frame) => frame.keyframe), KEYFRAME_WAIT_MS);
      await c.close();
    } finally {
      await emulator.close();
    }
    await expect(openRawMediaConsumer({ url: emulator.signallingUrl ?? '' })).rejects.toBeInstanceOf(SignallingUnreachable);
  });

  test('mediaMode overrides the model default', async () => {
    const emulator = await startEmulator({ withMedia: true, mediaMode: 'h264' });
    try {
      expect(emulator.media?.mode).toBe('h264');
    } finally {
      await emulator.close();
    }
  });

  test('deferMediaProducer: signalling listens at start, the producer only after startMediaProducer (a released robot leaves it detached)', async () => {
    const emulator = await startEmulator({ withMedia: true, deferMediaProducer: true });
    try {
      expect(emulator.signallingUrl).not.toBeNull();
      expect(emulator.media).toBeNull();
      await expect(openRawMediaConsumer({ url: emulator.signallingUrl ?? '' })).rejects.toBeInstanceOf(NoProducer);
      await post(emulator, '/api/media/release');
      await emulator.startMediaProducer();
      expect(emulator.media?.mode).toBe('vp8');
      expect(emulator.media?.attached).toBe(false);
      await post(emulator, '/api/media/acquire');
      expect(emulator.media?.attached).toBe(true);
      const c = await consumer(emulator.signallingUrl ?? '');
      expect(c.codec).toBe('vp8');
    } finally {
      await emulator.close();
    }
  });

  test('without media there is no signalling server and no producer', async () => {
    const emulator = await startEmulator({});
    try {
      expect(emulator.signallingUrl).toBeNull();
      expect(emulator.media).toBeNull();
    } finally {
      await emulator.close();
    }
  });
});

// The set-up the producer tests share (h264-producer, vp8-producer): the emulator's signalling
// server on a free loopback port with one SimMediaProducer attached to it for the whole file, raw
// consumers opened per test and closed after it (then the test's changes to the producer undone),
// and the frame and tone checks both make. Test code only.
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { VideoFrame } from '../../../src/media/rtp/video-frame.ts';
import {
  type ReceivedAudioSummary, type SimMediaProducer, type SimMediaProducerOptions, createSimMediaProducer,
} from '../../../src/sim/media/sim-media-producer.ts';
import { type SignallingServer, startSignallingServer } from '../../../src/sim/signalling-server.ts';
import { type RawMediaConsumer, analysePcm, openRawMediaConsumer, waitFor } from '../../harness/raw-media-consumer.ts';

export interface AttachedProducer {
  readonly server: SignallingServer;
  readonly producer: SimMediaProducer;
  /** A raw consumer of the producer, closed after the test. */
  consumer(): Promise<RawMediaConsumer>;
}

/**
 * Registers the file's hooks: server and producer before all tests, closed after them; after each
 * test its consumers close, then `reset` undoes what the test changed on the producer. `server`
 * and `producer` are there once the tests run.
 */
export function attachedProducer(options: SimMediaProducerOptions, reset: (producer: SimMediaProducer) => void): AttachedProducer {
  let server: SignallingServer | undefined;
  let producer: SimMediaProducer | undefined;
  const consumers: RawMediaConsumer[] = [];

  beforeAll(async () => {
    server = await startSignallingServer({ host: '127.0.0.1', port: 0 });
    producer = await createSimMediaProducer(options);
    producer.attach(server);
  });

  afterEach(async () => {
    for (const opened of consumers.splice(0)) await opened.close();
    if (producer) reset(producer);
  });

  afterAll(async () => {
    await producer?.close();
    await server?.close();
  });

  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} not started (beforeAll has not run)`);
    return value;
  };
  return {
    get server(): SignallingServer {
      return ready(server, 'signalling server');
    },
    get producer(): SimMediaProducer {
      return ready(producer, 'media producer');
    },
    async consumer(): Promise<RawMediaConsumer> {
      const opened = await openRawMediaConsumer({ url: ready(server, 'signalling server').url });
      consumers.push(opened);
      return opened;
    },
  };
}

/** The frames from the first keyframe on (none without one). */
export function afterFirstKeyframe(frames: readonly VideoFrame[]): VideoFrame[] {
  const start = frames.findIndex((frame) => frame.keyframe);
  return start < 0 ? [] : frames.slice(start);
}

/** Waits for 1 s of audio at `consumer` and checks it is the default tone: 440 Hz at amplitude 0.3 (±10 %, ±3 %). */
export async function expectDefaultTone(consumer: RawMediaConsumer): Promise<void> {
  await waitFor('1 s of audio', () => consumer.audio.packets >= 60, 4_000);
  // Skip the decoder's start-up packets.
  const tone = analysePcm(consumer.audio.pcm.slice(10), 2, 48_000);
  expect(tone.rms).toBeGreaterThan((0.3 / Math.SQRT2) * 0.9);
  expect(tone.rms).toBeLessThan((0.3 / Math.SQRT2) * 1.1);
  expect(tone.frequencyHz).toBeGreaterThan(440 * 0.97);
  expect(tone.frequencyHz).toBeLessThan(440 * 1.03);
}

/**
 * Waits until `producer` hears a consumer's `startTone(660, 0.5)`, then checks the last 400 ms of it
 * (level ±10 %, pitch ±3 %); returns that summary.
 */
export async function expectConsumerToneHeard(producer: SimMediaProducer): Promise<ReceivedAudioSummary> {
  // 8 s: on a loaded 2-core box the consumer's first Opus packets can take several seconds to arrive.
  await waitFor('the consumer tone at the producer', () => (producer.receivedAudio(400).frequencyHz ?? 0) > 600, 8_000);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const heard = producer.receivedAudio(400);
  expect(heard.rms).toBeGreaterThan((0.5 / Math.SQRT2) * 0.9);
  expect(heard.rms).toBeLessThan((0.5 / Math.SQRT2) * 1.1);
  expect(heard.frequencyHz).toBeGreaterThan(660 * 0.97);
  expect(heard.frequencyHz).toBeLessThan(660 * 1.03);
  return heard;
}

// openMediaLink end to end on loopback: the emulator's signalling server, the wrtc test producer
// (VP8 + Opus sendrecv + `data`, offering like webrtcsink) and the node-datachannel consumer.
// Covers video decoding against the test pattern, the microphone ring (level and pitch after
// 48 → 16 kHz), the paced speaker path as the producer hears it, and the stats.
import { Result } from 'effect';
import { describe, expect, it } from 'vitest';
import type { MediaLink } from '../../../src/media/media-link.ts';
import { PATTERN, regionMean } from '../../harness/test-pattern.ts';
import type { WrtcTestProducer } from '../../harness/wrtc-test-producer.ts';
import { loopbackLinkForAll, until } from './loopback.ts';
import { rms, tone, zeroCrossingFrequency } from './signal-measure.ts';

const WIDTH = 320;
const HEIGHT = 240;
const TONE_HZ = 440;
const TONE_AMPLITUDE = 0.25;

describe('media link over loopback WebRTC (VP8 + Opus)', () => {
  let producer: WrtcTestProducer;
  let link: MediaLink;
  let negotiating = 0;
  loopbackLinkForAll(
    {
      producer: { width: WIDTH, height: HEIGHT, fps: 30, toneHz: TONE_HZ, toneAmplitude: TONE_AMPLITUDE },
      logLevel: 'warn',
      link: { onNegotiating: () => negotiating++ },
    },
    (opened) => {
      ({ link, producer } = opened);
      expect(negotiating).toBe(1);
    },
  );

  it('comes up with the session ids, VP8 and a start time', () => {
    expect(link.videoCodec).toBe('vp8');
    expect(link.sessionId).toBe(producer.sessions[0]?.sessionId);
    expect(link.producerId).toBe(producer.registration.peerId);
    expect(link.startedAt).toBeGreaterThan(Date.now() - 30_000);
  });

  it('decodes VP8 to an I420 picture of the producer’s size and pattern', async () => {
    const result = await link.latestFrame({ waitMs: 5_000 });
    if (Result.isFailure(result)) throw new Error(`${result.failure._tag}: ${result.failure.message}`);
    const picture = result.success;
    expect(picture).toMatchObject({ pixelFormat: 'i420', width: WIDTH, height: HEIGHT, codec: 'vp8' });
    expect(picture.data.length).toBe(WIDTH * HEIGHT * 1.5);
    expect(Math.abs(regionMean(picture, 'y', 'tl') - PATTERN.brightY)).toBeLessThan(15);
    expect(Math.abs(regionMean(picture, 'y', 'br') - PATTERN.darkY)).toBeLessThan(15);
    expect(Math.abs(regionMean(picture, 'u', 'tl') - PATTERN.brightU)).toBeLessThan(15);
    expect(Date.now() - picture.receivedAt).toBeLessThan(5_000);
    // A later request sees a newer picture (the stream moves on).
    await new Promise((resolve) => setTimeout(resolve, 200));
    const later = await link.latestFrame();
    expect(Result.isSuccess(later) && later.success.receivedAt).toBeGreaterThan(picture.receivedAt);
    const stats = link.stats();
    expect(stats.videoPackets).toBeGreaterThan(10);
    expect(stats.keyframes).toBeGreaterThanOrEqual(1);
    expect(stats.decodedFrames).toBeGreaterThanOrEqual(2);
    expect(stats.videoFrames).toBeGreaterThanOrEqual(stats.decodedFrames);
  });

  it('fills the 16 kHz microphone ring with the producer’s tone (level within 10 %, pitch)', async () => {
    expect(link.audioIn.sampleRateHz).toBe(16_000);
    expect(await until(() => link.audioIn.length >= 16_000 * 1.5, 5_000)).toBe(true);
    const second = link.audioIn.readLastMs(1_000);
    const expected = TONE_AMPLITUDE / Math.SQRT2;
    expect(rms(second)).toBeGreaterThan(expected * 0.9);
    expect(rms(second)).toBeLessThan(expected * 1.1);
    expect(Math.abs(zeroCrossingFrequency(second, 16_000) - TONE_HZ)).toBeLessThan(5);
    expect(link.stats().audioPacketsIn).toBeGreaterThan(50);
  });

  it('sends a 660 Hz tone the producer hears at the right level (±15 %)', async () => {
    const session = producer.sessions[0];
    if (!session) throw new Error('no producer session');
    const amplitude = 0.3;
    const sent = link.sendAudio(tone(16_000 * 2, 16_000, 660, amplitude), 16_000);
    if (Result.isFailure(sent)) throw new Error(sent.failure.message);
    expect(sent.success.queuedMs).toBeGreaterThan(1_900);
    expect(sent.success.queuedMs).toBeLessThanOrEqual(2_000);
    expect(link.stats().audioOutQueuedSamples).toBeGreaterThan(0);
    expect(await until(() => link.stats().audioOutQueuedSamples === 0, 5_000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const heard = session.received.samples();
    const rate = session.received.sampleRate;
    // The loudest second of what arrived (the tone), away from its onset.
    const window = rate;
    let best = 0;
    let bestAt = 0;
    for (let start = 0; start + window <= heard.length; start += rate / 20) {
      const level = rms(heard, start, start + window);
      if (level > best) {
        best = level;
        bestAt = start;
      }
    }
    const expected = amplitude / Math.SQRT2;
    expect(best).toBeGreaterThan(expected * 0.85);
    expect(best).toBeLessThan(expected * 1.15);
    expect(Math.abs(zeroCrossingFrequency(heard.subarray(bestAt, bestAt + window), rate) - 660)).toBeLessThan(5);
    expect(link.stats().audioPacketsOut).toBeGreaterThanOrEqual(99);
  });

  it('bounds the speaker queue, clears it, and refuses bad rates', () => {
    const thirtyOneSeconds = new Float32Array(16_000 * 31);
    const refused = link.sendAudio(thirtyOneSeconds, 16_000);
    expect(Result.isFailure(refused) && refused.failure._tag).toBe('MediaTransportFailed');
    expect(Result.isFailure(refused) && refused.failure._tag === 'MediaTransportFailed' && refused.failure.stage).toBe('send');
    const accepted = link.sendAudio(new Float32Array(48_000 * 10), 48_000);
    expect(Result.isSuccess(accepted) && accepted.success.queuedMs).toBeGreaterThanOrEqual(9_900);
    link.clearAudioOut();
    expect(link.stats().audioOutQueuedSamples).toBe(0);
    const badRate = link.sendAudio(new Float32Array(100), 96_000);
    expect(Result.isFailure(badRate) && badRate.failure._tag).toBe('MediaTransportFailed');
  });
});

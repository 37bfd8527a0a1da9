// The wireless-mode producer (H.264 over node-datachannel) seen by a raw consumer through the real
// signalling server: the offer's shape, complete two-slice frames with SPS/PPS before each IDR
// slice, the 60-frame GOP, a decodable keyframe of the configured size, Opus both ways, the data
// channel, PLI → IDR, scenes, detach/attach, and that nothing is encoded while nobody watches.
import { describe, expect, test } from 'vitest';
import type { VideoFrame } from '../../../src/media/rtp/video-frame.ts';
import { splitAnnexB } from '../../../src/sim/media/h264-rtp-packetizer.ts';
import { TestPattern } from '../../../src/sim/media/test-pattern.ts';
import { analysePcm, waitFor } from '../../harness/raw-media-consumer.ts';
import { changedPixels, decodeVideo, meanAbsDiff } from './decode-video.ts';
import { afterFirstKeyframe, attachedProducer, expectConsumerToneHeard, expectDefaultTone } from './producer-fixture.ts';

const WIDTH = 640;
const HEIGHT = 360;
const FPS = 30;

const media = attachedProducer({ mode: 'h264', width: WIDTH, height: HEIGHT, fps: FPS }, (producer) => {
  producer.setScene('moving');
  producer.setTone({ frequencyHz: 440, amplitude: 0.3 });
});

function nalTypes(frame: VideoFrame): number[] {
  return splitAnnexB(frame.data).map((nal) => (nal[0] ?? 0) & 0x1f);
}

describe('h264 producer (wireless robot)', () => {
  test('offers H.264 constrained baseline + Opus, both sendrecv, bundled, with the data channel', async () => {
    const c = await media.consumer();
    const sdp = c.offerSdp;
    expect(c.codec).toBe('h264');
    expect(c.info.producerMeta).toEqual({ name: 'reachymini' });
    expect(sdp).toMatch(/a=group:BUNDLE \S+ \S+ \S+/);
    expect(sdp).toMatch(/a=fmtp:\d+ .*packetization-mode=1/);
    expect(sdp).toMatch(/profile-level-id=42e01f/);
    expect(sdp).toMatch(/a=rtpmap:\d+ opus\/48000\/2/);
    expect(sdp.match(/a=sendrecv/g)?.length).toBeGreaterThanOrEqual(2);
    expect(sdp).toMatch(/m=application \d+ UDP\/DTLS\/SCTP webrtc-datachannel/);
    await c.dataChannelOpen;
    expect(media.producer.receivedAudio(1_000)).toEqual({ samples: 0, rms: 0, frequencyHz: null });
  });

  test('complete frames: a keyframe within 3 s, two slices per picture, SPS/PPS before each IDR slice, IDR every 60 frames, decodes at 640×360', async () => {
    const started = performance.now();
    const c = await media.consumer();
    await waitFor('a keyframe', () => c.frames.some((frame) => frame.keyframe), 3_000);
    expect(performance.now() - started).toBeLessThan(3_000);
    await waitFor('a second GOP', () => c.frames.filter((frame) => frame.keyframe).length >= 2, 4_000);
    const frames = afterFirstKeyframe(c.frames);
    const key = frames[0] as VideoFrame;
    // After the depacketizer's clean-up: SPS, PPS, (x264's SEI), then exactly two IDR slices.
    const keyTypes = nalTypes(key).filter((type) => type !== 6);
    expect(keyTypes).toEqual([7, 8, 5, 5]);
    for (const frame of frames.slice(1, 20)) expect(nalTypes(frame)).toEqual([1, 1]);
    // On the wire (before any clean-up), SPS and PPS precede each of the two IDR slices.
    const wire = c.videoPackets.filter((packet) => packet.timestamp === key.timestamp && packet.nalType >= 0).map((packet) => packet.nalType);
    expect(wire.filter((type) => type !== 6)).toEqual([7, 8, 5, 7, 8, 5]);
    // SPS: profile_idc 66 (baseline) with constraint_set1 (constrained), level_idc 31.
    const sps = splitAnnexB(key.data)[0] as Uint8Array;
    expect([sps[1], (sps[2] ?? 0) & 0x40, sps[3]]).toEqual([66, 0x40, 31]);
    const nextKey = frames.findIndex((frame, i) => i > 0 && frame.keyframe);
    expect(c.trouble.lost).toBe(0);
    expect(nextKey).toBe(60);
    const pictures = decodeVideo('h264', frames.slice(0, 5).map((frame) => frame.data));
    expect(pictures).toHaveLength(5);
    expect(pictures[0]).toMatchObject({ width: WIDTH, height: HEIGHT });
    // Moving scene: consecutive pictures differ.
    expect(meanAbsDiff(pictures[0]?.luma ?? new Uint8Array(), pictures[4]?.luma ?? new Uint8Array())).toBeGreaterThan(0.5);
  });

  test('the microphone tone arrives as Opus at the right level and pitch, and follows setTone', async () => {
    const c = await media.consumer();
    await expectDefaultTone(c);
    media.producer.setTone({ frequencyHz: 880, amplitude: 0.1 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const from = c.audio.pcm.length;
    await waitFor('more audio', () => c.audio.pcm.length >= from + 25, 3_000);
    const higher = analysePcm(c.audio.pcm.slice(from + 2), 2, 48_000);
    expect(higher.frequencyHz).toBeGreaterThan(880 * 0.97);
    expect(higher.frequencyHz).toBeLessThan(880 * 1.03);
    expect(higher.rms).toBeLessThan(0.1);
    media.producer.setTone(null);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const silent = c.audio.pcm.length;
    await waitFor('silence', () => c.audio.pcm.length >= silent + 10, 3_000);
    expect(analysePcm(c.audio.pcm.slice(silent + 2), 2, 48_000).rms).toBeLessThan(0.001);
  });

  test('what the consumer sends is decoded and measured by receivedAudio()', async () => {
    const before = media.producer.receivedAudio().samples;
    const c = await media.consumer();
    c.startTone(660, 0.5);
    const heard = await expectConsumerToneHeard(media.producer);
    expect(heard.samples).toBeGreaterThan(before + 48_000 * 0.5);
    c.stopTone();
    await waitFor('silence at the producer', () => media.producer.receivedAudio(300).rms === 0, 2_000);
  });

  test('a PLI is honoured: keyframeRequests increments and an IDR follows', async () => {
    const c = await media.consumer();
    await waitFor('the first keyframe', () => c.frames.some((frame) => frame.keyframe), 3_000);
    await waitFor('a few P frames', () => afterFirstKeyframe(c.frames).length >= 5, 2_000);
    const requests = media.producer.keyframeRequests;
    const sentAt = c.frames.length;
    expect(c.sendPli()).toBe(true);
    await waitFor('an IDR after the PLI', () => c.frames.slice(sentAt).some((frame) => frame.keyframe), 1_500);
    expect(media.producer.keyframeRequests).toBe(requests + 1);
    // Well before the 60-frame GOP would have made one.
    expect(c.frames.slice(sentAt).findIndex((frame) => frame.keyframe)).toBeLessThan(10);
  });

  test("setScene('static') gives identical pictures; 'moving' does not", async () => {
    media.producer.setScene('static');
    const c = await media.consumer();
    await waitFor('a keyframe and 10 frames', () => afterFirstKeyframe(c.frames).length >= 10, 4_000);
    const still = decodeVideo('h264', afterFirstKeyframe(c.frames).slice(0, 10).map((frame) => frame.data));
    expect(still).toHaveLength(10);
    // The source frames are bit-identical; what is left is the encoder refining the IDR's picture
    // by a level or two here and there, never a visible change.
    for (let i = 1; i < still.length; i++) {
      expect(meanAbsDiff(still[0]?.luma ?? new Uint8Array(), still[i]?.luma ?? new Uint8Array())).toBeLessThan(0.5);
      expect(changedPixels(still[i - 1]?.luma ?? new Uint8Array(), still[i]?.luma ?? new Uint8Array())).toBe(0);
    }
    media.producer.setScene('moving');
    const from = c.frames.length;
    c.sendPli();
    await waitFor('a keyframe of the moving scene and 5 frames', () => afterFirstKeyframe(c.frames.slice(from)).length >= 5, 3_000);
    const moving = decodeVideo('h264', afterFirstKeyframe(c.frames.slice(from)).slice(0, 5).map((frame) => frame.data));
    // The box (72 px) moves ~9 px a frame: over a thousand pixels change visibly each frame.
    for (let i = 1; i < moving.length; i++) expect(changedPixels(moving[i - 1]?.luma ?? new Uint8Array(), moving[i]?.luma ?? new Uint8Array())).toBeGreaterThan(500);
  });

  test('detach ends the session; attach serves a new one; the pump runs only while someone watches', async () => {
    const pattern = new TestPattern(WIDTH, HEIGHT);
    const first = await media.consumer();
    await waitFor('a keyframe', () => first.frames.some((frame) => frame.keyframe), 3_000);
    expect(media.producer.sessionCount()).toBe(1);
    media.producer.detach();
    expect(media.producer.attached).toBe(false);
    expect((await first.ended).reason).toBe('remote-ended');
    expect(media.producer.sessionCount()).toBe(0);
    const counterAtEnd = pattern.readCounter(decodeVideo('h264', afterFirstKeyframe(first.frames).map((frame) => frame.data)).at(-1)?.luma ?? new Uint8Array());
    // 1.5 s with nobody watching: 45 frames would be rendered if the pump kept running.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    media.producer.attach(media.server);
    media.producer.attach(media.server); // idempotent
    const second = await media.consumer();
    await waitFor('a keyframe on the new session', () => second.frames.some((frame) => frame.keyframe), 3_000);
    const firstPicture = decodeVideo('h264', [afterFirstKeyframe(second.frames)[0]?.data ?? new Uint8Array()])[0];
    const counterAtRestart = pattern.readCounter(firstPicture?.luma ?? new Uint8Array());
    expect(counterAtRestart).toBeGreaterThanOrEqual(counterAtEnd);
    expect(counterAtRestart - counterAtEnd).toBeLessThan(15);
    await second.close();
    await waitFor('the session to close', () => media.producer.sessionCount() === 0, 2_000);
  });
});

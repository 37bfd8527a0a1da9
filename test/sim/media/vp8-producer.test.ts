// The lite-mode producer (VP8 + Opus over @roamhq/wrtc) seen by a raw node-datachannel consumer
// through the real signalling server: the offer (VP8 only, sendrecv, bundled, data channel),
// complete VP8 frames starting with a decodable keyframe of the Lite size, the tone, the consumer's
// audio reaching receivedAudio(), PLI counted from libwebrtc's stats, scenes, and session ends.
import { describe, expect, test } from 'vitest';
import { LITE_VIDEO } from '../../../src/sim/media/sim-media-producer.ts';
import { analysePcm, waitFor } from '../../harness/raw-media-consumer.ts';
import { changedPixels, decodeVideo } from './decode-video.ts';
import { afterFirstKeyframe, attachedProducer, expectConsumerToneHeard, expectDefaultTone } from './producer-fixture.ts';

const media = attachedProducer({ mode: 'vp8' }, (producer) => producer.setScene('moving'));

describe('vp8 producer (Lite)', () => {
  test('offers VP8 only + Opus, both sendrecv, bundled, with the data channel; frames decode at the Lite size', async () => {
    const c = await media.consumer();
    expect(c.codec).toBe('vp8');
    const video = c.offerSdp.split(/\r?\nm=/).find((section) => section.startsWith('video')) ?? '';
    expect(video).toMatch(/a=rtpmap:\d+ VP8\/90000/);
    expect(video).not.toMatch(/VP9|AV1|H264/);
    expect(video).toMatch(/a=sendrecv/);
    expect(c.offerSdp.split(/\r?\nm=/).find((section) => section.startsWith('audio'))).toMatch(/a=sendrecv/);
    expect(c.offerSdp).toMatch(/a=group:BUNDLE/);
    await c.dataChannelOpen;
    await waitFor('a keyframe', () => c.frames.some((frame) => frame.keyframe), 3_000);
    await waitFor('10 frames', () => afterFirstKeyframe(c.frames).length >= 10, 3_000);
    const pictures = decodeVideo('vp8', afterFirstKeyframe(c.frames).slice(0, 10).map((frame) => frame.data));
    expect(pictures).toHaveLength(10);
    expect(pictures[0]).toMatchObject({ width: LITE_VIDEO.width, height: LITE_VIDEO.height });
    // The consumer has sent nothing yet: libwebrtc's silent playout is not counted as received audio.
    expect(media.producer.receivedAudio(1_000)).toEqual({ samples: 0, rms: 0, frequencyHz: null });
  });

  test('the tone arrives at the right level and pitch; the consumer audio reaches receivedAudio()', async () => {
    const c = await media.consumer();
    c.startTone(660, 0.5);
    await expectDefaultTone(c);
    await expectConsumerToneHeard(media.producer);
  });

  test('a PLI is counted and answered with a keyframe', async () => {
    const c = await media.consumer();
    await waitFor('a keyframe and some frames', () => afterFirstKeyframe(c.frames).length >= 5, 3_000);
    const requests = media.producer.keyframeRequests;
    const sentAt = c.frames.length;
    expect(c.sendPli()).toBe(true);
    await waitFor('a keyframe after the PLI', () => c.frames.slice(sentAt).some((frame) => frame.keyframe), 2_000);
    await waitFor('the PLI in the stats', () => media.producer.keyframeRequests > requests, 2_000);
  });

  test("setScene('static'): (almost) no visible change between pictures; 'moving' changes thousands of pixels", async () => {
    media.producer.setScene('static');
    const c = await media.consumer();
    await waitFor('a keyframe and 10 frames', () => afterFirstKeyframe(c.frames).length >= 10, 4_000);
    media.producer.setScene('moving');
    const staticFrames = afterFirstKeyframe(c.frames).length;
    await waitFor('5 moving frames', () => afterFirstKeyframe(c.frames).length >= staticFrames + 6, 3_000);
    const pictures = decodeVideo('vp8', afterFirstKeyframe(c.frames).map((frame) => frame.data));
    const changes = pictures.slice(1).map((picture, i) => changedPixels(pictures[i]?.luma ?? new Uint8Array(), picture.luma));
    // libwebrtc starts at a low bitrate and sharpens the picture as its estimate ramps up: a few
    // dozen pixels may move by more than 16 levels, never the box (96 px, ~18 px per frame → ~3 500).
    const pixels = LITE_VIDEO.width * LITE_VIDEO.height;
    for (const changed of changes.slice(0, 9)) expect(changed).toBeLessThan(pixels / 1_000);
    for (const changed of changes.slice(-3)) expect(changed).toBeGreaterThan(1_000);
  });

  test('the consumer leaving closes its session; detach ends live sessions', async () => {
    const first = await media.consumer();
    await first.dataChannelOpen;
    expect(media.producer.sessionCount()).toBe(1);
    await first.close();
    await waitFor('the session to close', () => media.producer.sessionCount() === 0, 2_000);
    const second = await media.consumer();
    expect(media.producer.sessionCount()).toBe(1);
    media.producer.detach();
    expect((await second.ended).reason).toBe('remote-ended');
    expect(media.producer.sessionCount()).toBe(0);
    media.producer.attach();
    const third = await media.consumer();
    await waitFor('a keyframe on the new session', () => third.frames.some((frame) => frame.keyframe), 3_000);
  });
});

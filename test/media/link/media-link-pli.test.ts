// Keyframe requests end to end: the wrtc test producer's media runs through a UDP proxy that drops
// its VP8 RTP (the header is in clear under SRTP), first for the start of the session — the
// consumer joins mid-GOP — then for a moment mid-stream with its retransmissions (RTX) dropped
// too, so NACK cannot repair it (media-link-nack.test.ts covers the repair). The depacketizer's
// PLI requests must go out as RTCP PLI and reach the producer, whose encoder answers with a
// keyframe the consumer then decodes.
import { Result } from 'effect';
import { describe, expect, it } from 'vitest';
import type { MediaLink } from '../../../src/media/media-link.ts';
import type { TestProducerSession } from '../../harness/wrtc-test-producer.ts';
import { loopbackLinkForAll, until } from './loopback.ts';

/** Poll step of this file's waits. */
const POLL_MS = 25;

describe('PLI on loss (loopback WebRTC through a lossy proxy)', () => {
  let link: MediaLink;
  let session: TestProducerSession;
  loopbackLinkForAll({ producer: { lossProxy: true, withholdVideoMs: 800 }, logLevel: 'warn' }, (opened) => ({ link, session } = opened));

  it('joining mid-stream: NoFrameYet at first, then a PLI the producer receives, then a picture', async () => {
    const early = await link.latestFrame();
    expect(Result.isFailure(early) && early.failure._tag).toBe('NoFrameYet');
    if (Result.isFailure(early) && early.failure._tag === 'NoFrameYet') expect(early.failure.sessionAgeMs).toBeGreaterThanOrEqual(0);
    const frame = await link.latestFrame({ waitMs: 8_000 });
    if (Result.isFailure(frame)) throw new Error(`${frame.failure._tag}: ${frame.failure.message}`);
    expect(session.proxy?.dropped).toBeGreaterThan(0);
    expect(link.stats().pliSent).toBeGreaterThanOrEqual(1);
    expect(await until(async () => (await session.pliCount()) >= 1, 3_000, POLL_MS)).toBe(true);
  });

  it('a loss mid-stream that retransmission cannot repair sends another PLI and a fresh keyframe arrives', async () => {
    const before = link.stats();
    const producerBefore = await session.pliCount();
    session.proxy?.dropRtp(session.rtxPayloadType, 1_000);
    session.proxy?.dropRtp(session.videoPayloadType, 300);
    expect(await until(() => link.stats().pliSent > before.pliSent, 5_000, POLL_MS)).toBe(true);
    expect(await until(async () => (await session.pliCount()) > producerBefore, 5_000, POLL_MS)).toBe(true);
    expect(await until(() => link.stats().keyframes > before.keyframes, 5_000, POLL_MS)).toBe(true);
    const frame = await link.latestFrame({ waitMs: 2_000 });
    expect(Result.isSuccess(frame)).toBe(true);
    expect(link.stats().unrecoveredPackets).toBeGreaterThan(before.unrecoveredPackets);
  });
});

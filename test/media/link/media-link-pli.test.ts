// Keyframe requests end to end: the wrtc test producer's media runs through a UDP proxy that drops
// its VP8 RTP (the header is in clear under SRTP), first for the start of the session — the
// consumer joins mid-GOP — then for a moment mid-stream. The depacketizer's PLI requests must go
// out as RTCP PLI (RtcpReceivingSession.requestKeyframe) and reach the producer, whose encoder
// answers with a keyframe the consumer then decodes.
import { Result } from 'effect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMediaLink } from '../../../src/adapters/media-link/open-media-link.ts';
import { setLogLevel } from '../../../src/logging/logger.ts';
import type { MediaLink } from '../../../src/media/media-link.ts';
import { type SignallingServer, startSignallingServer } from '../../../src/sim/signalling-server.ts';
import { startWrtcTestProducer, type TestProducerSession, type WrtcTestProducer } from '../../harness/wrtc-test-producer.ts';

async function until(predicate: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 25): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await predicate()) return true;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  return predicate();
}

describe('PLI on loss (loopback WebRTC through a lossy proxy)', () => {
  let server: SignallingServer;
  let producer: WrtcTestProducer;
  let link: MediaLink;
  let session: TestProducerSession;

  beforeAll(async () => {
    setLogLevel('warn');
    server = await startSignallingServer({ host: '127.0.0.1', port: 0 });
    producer = startWrtcTestProducer({ server, lossProxy: true, withholdVideoMs: 800 });
    const opened = await openMediaLink({ signallingUrl: server.url });
    if (Result.isFailure(opened)) throw new Error(`open failed: ${opened.failure._tag}: ${opened.failure.message}`);
    link = opened.success;
    const first = producer.sessions[0];
    if (!first) throw new Error('no producer session');
    session = first;
  });

  afterAll(async () => {
    await link?.close();
    await producer?.close();
    await server?.close();
    setLogLevel('info');
  });

  it('joining mid-stream: NoFrameYet at first, then a PLI the producer receives, then a picture', async () => {
    const early = await link.latestFrame();
    expect(Result.isFailure(early) && early.failure._tag).toBe('NoFrameYet');
    if (Result.isFailure(early) && early.failure._tag === 'NoFrameYet') expect(early.failure.sessionAgeMs).toBeGreaterThanOrEqual(0);
    const frame = await link.latestFrame({ waitMs: 8_000 });
    if (Result.isFailure(frame)) throw new Error(`${frame.failure._tag}: ${frame.failure.message}`);
    expect(session.proxy?.dropped).toBeGreaterThan(0);
    expect(link.stats().pliSent).toBeGreaterThanOrEqual(1);
    expect(await until(async () => (await session.pliCount()) >= 1, 3_000)).toBe(true);
  });

  it('a loss mid-stream sends another PLI and a fresh keyframe arrives', async () => {
    const before = link.stats();
    const producerBefore = await session.pliCount();
    session.proxy?.dropRtp(session.videoPayloadType, 300);
    expect(await until(() => link.stats().pliSent > before.pliSent, 5_000)).toBe(true);
    expect(await until(async () => (await session.pliCount()) > producerBefore, 5_000)).toBe(true);
    expect(await until(() => link.stats().keyframes > before.keyframes, 5_000)).toBe(true);
    const frame = await link.latestFrame({ waitMs: 2_000 });
    expect(Result.isSuccess(frame)).toBe(true);
  });
});

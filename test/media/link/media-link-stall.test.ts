// The stall watchdog: a path that goes silent (every RTP packet dropped by the UDP proxy while
// STUN and DTLS still pass, so ICE stays "connected") ends the link with transport-failed after
// MEDIA_STALL_MS, instead of libdatachannel's 30 s; a short gap shorter than that does not.
import { Result } from 'effect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_STALL_MS } from '../../../src/adapters/media-link/media-link-session.ts';
import { openMediaLink } from '../../../src/adapters/media-link/open-media-link.ts';
import { setLogLevel } from '../../../src/logging/logger.ts';
import type { MediaLink, MediaLinkEndReason } from '../../../src/media/media-link.ts';
import { type SignallingServer, startSignallingServer } from '../../../src/sim/signalling-server.ts';
import { startWrtcTestProducer, type TestProducerSession, type WrtcTestProducer } from '../../harness/wrtc-test-producer.ts';

describe('RTP stall watchdog (loopback WebRTC through a dropping proxy)', () => {
  let server: SignallingServer;
  let producer: WrtcTestProducer;
  let link: MediaLink;
  let session: TestProducerSession;

  beforeAll(async () => {
    setLogLevel('warn');
    server = await startSignallingServer({ host: '127.0.0.1', port: 0 });
    producer = startWrtcTestProducer({ server, lossProxy: true });
    const opened = await openMediaLink({ signallingUrl: server.url });
    if (Result.isFailure(opened)) throw new Error(`open failed: ${opened.failure._tag}: ${opened.failure.message}`);
    link = opened.success;
    session = producer.sessions[0]!;
  });

  afterAll(async () => {
    await link?.close();
    await producer?.close();
    await server?.close();
    setLogLevel('info');
  });

  it('a gap shorter than MEDIA_STALL_MS keeps the link; a blackout ends it with transport-failed', async () => {
    const frame = await link.latestFrame({ waitMs: 5_000 });
    expect(Result.isSuccess(frame)).toBe(true);
    let ended: MediaLinkEndReason | null = null;
    void link.ended.then((reason) => (ended = reason));

    session.proxy!.dropRtp(session.videoPayloadType, MEDIA_STALL_MS / 2);
    session.proxy!.dropRtp(session.audioPayloadType, MEDIA_STALL_MS / 2);
    await new Promise((resolve) => setTimeout(resolve, MEDIA_STALL_MS));
    expect(ended).toBeNull();

    const t0 = Date.now();
    session.proxy!.dropRtp(session.videoPayloadType, 60_000);
    session.proxy!.dropRtp(session.audioPayloadType, 60_000);
    const reason = await link.ended;
    expect(reason).toMatchObject({ kind: 'transport-failed', message: expect.stringMatching(/no RTP/) });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(MEDIA_STALL_MS - 100);
    expect(Date.now() - t0).toBeLessThan(MEDIA_STALL_MS + 5_000);
  }, 30_000);
});

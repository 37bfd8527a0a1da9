// The stall watchdog: a path that goes silent (every RTP packet dropped by the UDP proxy while
// STUN and DTLS still pass, so ICE stays "connected") ends the link with transport-failed after
// MEDIA_STALL_MS, instead of libdatachannel's 30 s; a short gap shorter than that does not.
import { Result } from 'effect';
import { describe, expect, it } from 'vitest';
import { MEDIA_STALL_MS } from '../../../src/adapters/media-link/media-link-session.ts';
import type { MediaLink, MediaLinkEndReason } from '../../../src/media/media-link.ts';
import type { TestProducerSession } from '../../harness/wrtc-test-producer.ts';
import { loopbackLinkForAll } from './loopback.ts';

describe('RTP stall watchdog (loopback WebRTC through a dropping proxy)', () => {
  let link: MediaLink;
  let session: TestProducerSession;
  loopbackLinkForAll({ producer: { lossProxy: true }, logLevel: 'warn' }, (opened) => ({ link, session } = opened));

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

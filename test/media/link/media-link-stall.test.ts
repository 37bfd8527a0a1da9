// The stall watchdog: a path that goes silent (every RTP packet dropped by the UDP proxy while
// STUN and DTLS still pass, so ICE stays "connected") ends the link with transport-failed after
// its stall limit (MEDIA_STALL_MS, shortened here), instead of libdatachannel's 30 s; a gap shorter
// than that does not.
import { Result } from 'effect';
import { describe, expect, it } from 'vitest';
import { MEDIA_STALL_MS } from '../../../src/adapters/media-link/media-link-session.ts';
import type { MediaLink, MediaLinkEndReason } from '../../../src/media/media-link.ts';
import type { TestProducerSession } from '../../harness/wrtc-test-producer.ts';
import { loopbackLinkForAll } from './loopback.ts';

/**
 * The link's stall limit here: the production MEDIA_STALL_MS (5 s) is only sat out, twice, so the
 * watchdog runs with 2 s (its 500 ms check period unchanged); gap and blackout keep their proportions.
 */
const TEST_STALL_MS = 2_000;

describe('RTP stall watchdog (loopback WebRTC through a dropping proxy)', () => {
  let link: MediaLink;
  let session: TestProducerSession;
  loopbackLinkForAll({ producer: { lossProxy: true }, logLevel: 'warn', link: { stallMs: TEST_STALL_MS } }, (opened) => ({ link, session } = opened));

  it('the production stall limit is 5 s', () => {
    expect(MEDIA_STALL_MS).toBe(5_000);
  });

  it('a gap shorter than the stall limit keeps the link; a blackout ends it with transport-failed', async () => {
    const frame = await link.latestFrame({ waitMs: 5_000 });
    expect(Result.isSuccess(frame)).toBe(true);
    let ended: MediaLinkEndReason | null = null;
    void link.ended.then((reason) => (ended = reason));

    session.proxy!.dropRtp(session.videoPayloadType, TEST_STALL_MS / 2);
    session.proxy!.dropRtp(session.audioPayloadType, TEST_STALL_MS / 2);
    await new Promise((resolve) => setTimeout(resolve, TEST_STALL_MS));
    expect(ended).toBeNull();

    const t0 = Date.now();
    session.proxy!.dropRtp(session.videoPayloadType, 60_000);
    session.proxy!.dropRtp(session.audioPayloadType, 60_000);
    const reason = await link.ended;
    expect(reason).toMatchObject({ kind: 'transport-failed', message: expect.stringMatching(/no RTP/) });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(TEST_STALL_MS - 100);
    expect(Date.now() - t0).toBeLessThan(TEST_STALL_MS + 5_000);
  }, 30_000);
});

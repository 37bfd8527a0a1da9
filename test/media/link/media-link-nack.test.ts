// Loss repair without keyframes, end to end: the wrtc test producer (libwebrtc: VP8 with RTX,
// answering NACKs) sends through a UDP proxy that drops 3 % of the video RTP — retransmissions
// included — at random (seeded). The driver's answer keeps RTX (apt = the VP8 payload type), its
// generic NACKs go out on the video track, the retransmissions come back and fill the holes, and
// captures decode to the test pattern throughout while keyframe requests stay rare: without NACK
// every loss would cost a PLI (rate-limited to two a second) and a frozen picture until the IDR.
import { Result } from 'effect';
import { describe, expect, it } from 'vitest';
import type { DecodedVideoFrame, MediaLink } from '../../../src/media/media-link.ts';
import { PATTERN, regionMean } from '../../harness/test-pattern.ts';
import type { TestProducerSession } from '../../harness/wrtc-test-producer.ts';
import { loopbackLinkForAll, until } from './loopback.ts';

/** Loss on the media path: the middle of the 1–5 % a poor Wi-Fi link shows. */
const LOSS_RATE = 0.03;
/** The test pattern at 640×480 gives libwebrtc enough packets a frame for a few hundred losses a minute. */
const WIDTH = 640;
const HEIGHT = 480;
/** Captures taken while the loss runs, one every CAPTURE_EVERY_MS. */
const CAPTURES = 20;
const CAPTURE_EVERY_MS = 400;
/** After the loss stops: longer than the NACK give-up (150 ms), so every hole is settled either way. */
const SETTLE_MS = 300;

/** A picture of the pattern: the static quadrants read back within the codec's error. */
function looksLikePattern(picture: DecodedVideoFrame): boolean {
  return (
    picture.width === WIDTH &&
    picture.height === HEIGHT &&
    Math.abs(regionMean(picture, 'y', 'tl') - PATTERN.brightY) < 15 &&
    Math.abs(regionMean(picture, 'y', 'br') - PATTERN.darkY) < 15 &&
    Math.abs(regionMean(picture, 'u', 'tl') - PATTERN.brightU) < 15 &&
    Math.abs(regionMean(picture, 'v', 'tl') - PATTERN.brightV) < 15
  );
}

describe('NACK and RTX on a lossy link (loopback WebRTC through a proxy dropping 3 % of video)', () => {
  let link: MediaLink;
  let session: TestProducerSession;
  loopbackLinkForAll({ producer: { lossProxy: true, width: WIDTH, height: HEIGHT }, logLevel: 'warn' }, (opened) => ({ link, session } = opened));

  it('repairs the losses by retransmission: clean captures, NACKs out, RTX in, few PLIs', async () => {
    const first = await link.latestFrame({ waitMs: 5_000 });
    if (Result.isFailure(first)) throw new Error(`${first.failure._tag}: ${first.failure.message}`);
    const proxy = session.proxy;
    if (proxy === null) throw new Error('no proxy');
    expect(session.rtxPayloadType).toBeGreaterThan(0);
    const before = link.stats();
    proxy.loseRtp([session.videoPayloadType, session.rtxPayloadType], LOSS_RATE, 12_345);

    let lastReceivedAt = first.success.receivedAt;
    for (let k = 0; k < CAPTURES; k++) {
      await new Promise((resolve) => setTimeout(resolve, CAPTURE_EVERY_MS));
      const capture = await link.latestFrame();
      if (Result.isFailure(capture)) throw new Error(`capture ${k}: ${capture.failure._tag}: ${capture.failure.message}`);
      expect(looksLikePattern(capture.success), `capture ${k} shows the pattern`).toBe(true);
      // The picture keeps moving: no frozen stretch waiting for a keyframe.
      expect(capture.success.receivedAt, `capture ${k} is newer`).toBeGreaterThan(lastReceivedAt);
      lastReceivedAt = capture.success.receivedAt;
    }
    proxy.loseRtp([session.videoPayloadType, session.rtxPayloadType], 0);
    // Repairs still in flight (a hole is only seen on the next packet, then NACKed) settle first.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

    const lost = proxy.droppedOf(session.videoPayloadType);
    const after = link.stats();
    expect(lost).toBeGreaterThanOrEqual(5);
    expect(after.nackSent - before.nackSent).toBeGreaterThan(0);
    expect(after.nackedPackets - before.nackedPackets).toBeGreaterThanOrEqual(lost);
    expect(after.rtxReceived - before.rtxReceived).toBeGreaterThan(lost * 0.8);
    expect(after.recoveredPackets - before.recoveredPackets).toBeGreaterThan(lost * 0.8);
    // Each unrepaired loss would cost a PLI; a handful at most (a retransmission lost three times).
    const plis = after.pliSent - before.pliSent;
    expect(plis).toBeLessThanOrEqual(Math.max(2, Math.ceil(lost / 20)));
    expect(after.unrecoveredPackets - before.unrecoveredPackets).toBeLessThanOrEqual(Math.ceil(lost / 20));
    const sender = await session.videoSenderStats();
    expect(sender.nackCount).toBeGreaterThan(0);
    expect(sender.retransmittedPacketsSent).toBeGreaterThan(0);
    // Our receiver reports reach the sender (it measures an RTT from them) and show the loss left after repair.
    expect(sender.receiverReports).toBeGreaterThan(0);
    expect(sender.reportedLost).toBeGreaterThanOrEqual(0);
    expect(sender.reportedLost).toBeLessThanOrEqual(after.unrecoveredPackets + 2);
  });
});

// Reading the robot's offer and shaping our answer, on a webrtcsink-style offer (max-bundle with
// `a=bundle-only`, H.264 packetization-mode 1 with RTX/RED/ULPFEC, upper-case OPUS, a `data`
// DataChannel; reachy-daemon-api.md §9.1–9.2) that wrtc cannot produce: the choice of payload
// types and mids, and node-datachannel's real answer to it after shaping.
import { Result } from 'effect';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerSession } from '../../../src/adapters/media-link/peer-session.ts';
import { shapeAnswer } from '../../../src/adapters/media-link/sdp-answer.ts';
import { indexOfMid, midAt, readOffer } from '../../../src/adapters/media-link/sdp-offer.ts';

const FINGERPRINT = Array.from({ length: 32 }, (_, i) => ((i * 37 + 11) & 0xff).toString(16).padStart(2, '0').toUpperCase()).join(':');

/** The ICE/DTLS lines webrtcsink repeats in every media section. */
const ICE_DTLS = ['a=setup:actpass', 'a=ice-ufrag:Qx4bFh7mYkVqfQZ2', 'a=ice-pwd:n0Jr8c0Wm3LxQ9vS5aG7tU1yE6iK2pBd'];
/** The RTP lines of its audio and video sections. */
const RTP_SENDRECV = ['a=rtcp-mux', 'a=rtcp-rsize', 'a=sendrecv'];

const WEBRTCSINK_OFFER = [
  'v=0',
  'o=- 8000470211830412237 0 IN IP4 0.0.0.0',
  's=-',
  't=0 0',
  'a=ice-options:trickle',
  'a=group:BUNDLE video0 audio1 application2',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99',
  'c=IN IP4 0.0.0.0',
  ...ICE_DTLS,
  ...RTP_SENDRECV,
  'a=rtpmap:96 H264/90000',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:96 nack pli',
  'a=rtcp-fb:96 ccm fir',
  'a=fmtp:96 packetization-mode=1;profile-level-id=42c01f;level-asymmetry-allowed=1',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:98 red/90000',
  'a=rtpmap:99 ulpfec/90000',
  'a=ssrc-group:FID 2463523123 1736232471',
  'a=ssrc:2463523123 cname:reachymini',
  'a=ssrc:1736232471 cname:reachymini',
  'a=mid:video0',
  `a=fingerprint:sha-256 ${FINGERPRINT}`,
  'm=audio 0 UDP/TLS/RTP/SAVPF 100',
  'c=IN IP4 0.0.0.0',
  'a=bundle-only',
  ...ICE_DTLS,
  ...RTP_SENDRECV,
  'a=rtpmap:100 OPUS/48000/2',
  'a=fmtp:100 sprop-maxcapturerate=48000;sprop-stereo=0;useinbandfec=1',
  'a=ssrc:3044530216 cname:reachymini',
  'a=mid:audio1',
  `a=fingerprint:sha-256 ${FINGERPRINT}`,
  'm=application 0 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 0.0.0.0',
  'a=bundle-only',
  ...ICE_DTLS,
  'a=mid:application2',
  'a=sctp-port:5000',
  `a=fingerprint:sha-256 ${FINGERPRINT}`,
  '',
].join('\r\n');

const peers: PeerSession[] = [];
afterEach(async () => {
  for (const peer of peers.splice(0)) peer.close();
  await new Promise((resolve) => setTimeout(resolve, 50));
});

/** The m-line and the per-format attributes of the section with `mid`. */
function section(sdp: string, mid: string): string[] {
  const parts = sdp.split(/\r\n(?=m=)/);
  const found = parts.find((part) => part.includes(`\r\na=mid:${mid}\r\n`) || part.endsWith(`a=mid:${mid}`));
  return found ? found.split('\r\n') : [];
}

describe('robot offer and our answer', () => {
  it('picks H.264 (mode 1) and Opus from a webrtcsink offer, with mids and indexes', () => {
    const offer = readOffer(WEBRTCSINK_OFFER);
    expect(Result.isSuccess(offer)).toBe(true);
    if (!Result.isSuccess(offer)) return;
    expect(offer.success.video).toEqual({ mid: 'video0', codec: 'h264', payloadType: 96, rtxPayloadType: 97, nack: true });
    expect(offer.success.audio).toEqual({ mid: 'audio1', payloadType: 100, stereo: false, canSend: true });
    expect(offer.success.dataMid).toBe('application2');
    expect(midAt(offer.success, 1)).toBe('audio1');
    expect(midAt(offer.success, 7)).toBeNull();
    expect(indexOfMid(offer.success, 'application2')).toBe(2);
  });

  it('prefers the offer order among usable codecs and skips rtx/red/ulpfec and mode 2', () => {
    const vp8First = WEBRTCSINK_OFFER.replace('m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99', 'm=video 9 UDP/TLS/RTP/SAVPF 97 98 99 101 96').replace(
      'a=rtpmap:99 ulpfec/90000',
      'a=rtpmap:99 ulpfec/90000\r\na=rtpmap:101 VP8/90000',
    );
    const offer = readOffer(vp8First);
    expect(Result.isSuccess(offer) && offer.success.video).toEqual({ mid: 'video0', codec: 'vp8', payloadType: 101, rtxPayloadType: null, nack: false });
    // A wildcard `a=rtcp-fb:* nack` offers NACK for every format.
    const wildcard = readOffer(vp8First.replace('a=rtcp-fb:96 nack\r\n', 'a=rtcp-fb:* nack\r\n'));
    expect(Result.isSuccess(wildcard) && wildcard.success.video).toMatchObject({ payloadType: 101, nack: true });
    const interleaved = readOffer(WEBRTCSINK_OFFER.replace('packetization-mode=1', 'packetization-mode=2'));
    expect(Result.isSuccess(interleaved) && interleaved.success.video).toBeNull();
  });

  it('refuses an offer with nothing usable', () => {
    const offer = readOffer('v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 98\r\na=rtpmap:98 VP9/90000\r\na=sendonly\r\na=mid:0\r\n');
    expect(Result.isFailure(offer) && offer.failure.stage).toBe('negotiate');
  });

  it('shapes an answer: one payload type per received m-line, our SSRC on the audio line', () => {
    const answer = ['v=0', 'm=video 9 UDP/TLS/RTP/SAVPF 96 97', 'a=mid:v', 'a=ssrc-group:FID 1 2', 'a=rtpmap:96 H264/90000', 'a=rtcp-fb:96 nack pli', 'a=fmtp:96 packetization-mode=1', 'a=rtpmap:97 rtx/90000', 'a=fmtp:97 apt=96', 'a=rtcp-fb:* ccm fir', 'm=audio 9 UDP/TLS/RTP/SAVPF 111 63', 'a=mid:a', 'a=rtpmap:111 opus/48000/2', 'a=rtpmap:63 red/48000/2', ''].join('\r\n');
    const shaped = shapeAnswer(answer, { keep: new Map([['v', 96], ['a', 111]]), sendSsrc: { mid: 'a', ssrc: 1234, cname: 'me' } });
    expect(shaped.split('\r\n')).toEqual(['v=0', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:v', 'a=rtpmap:96 H264/90000', 'a=rtcp-fb:96 nack pli', 'a=fmtp:96 packetization-mode=1', 'a=rtcp-fb:* ccm fir', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:a', 'a=rtpmap:111 opus/48000/2', 'a=ssrc:1234 cname:me', '']);
    // With RTX kept: its format stays on the m-line, written out with its apt.
    const withRtx = shapeAnswer(answer.replace('a=rtpmap:97 rtx/90000', 'a=rtpmap:97'), { keep: new Map([['v', 96], ['a', 111]]), rtx: new Map([['v', 97]]), sendSsrc: null });
    const video = withRtx.split('\r\n').slice(1, 9);
    expect(video).toEqual(['m=video 9 UDP/TLS/RTP/SAVPF 96 97', 'a=mid:v', 'a=rtpmap:96 H264/90000', 'a=rtcp-fb:96 nack pli', 'a=fmtp:96 packetization-mode=1', 'a=rtcp-fb:* ccm fir', 'a=rtpmap:97 rtx/90000', 'a=fmtp:97 apt=96']);
  });

  it('node-datachannel answers the webrtcsink offer: bundle-only sections accepted, formats narrowed to H.264 + its RTX', async () => {
    const offer = readOffer(WEBRTCSINK_OFFER);
    if (!Result.isSuccess(offer)) throw new Error('offer not read');
    const peer = new PeerSession({
      offer: offer.success,
      offerSdp: WEBRTCSINK_OFFER,
      answerShape: { keep: new Map([['video0', 96], ['audio1', 100]]), rtx: new Map([['video0', 97]]), sendSsrc: { mid: 'audio1', ssrc: 424242, cname: 'driver' } },
      handlers: { onLocalCandidate: () => undefined, onVideoPacket: () => undefined, onAudioPacket: () => undefined, onStateChange: () => undefined },
    });
    peers.push(peer);
    const answer = await peer.answer();
    const video = section(answer, 'video0');
    const audio = section(answer, 'audio1');
    const data = section(answer, 'application2');
    expect(video[0]).toMatch(/^m=video \d+ UDP\/TLS\/RTP\/SAVPF 96 97$/);
    expect(video.filter((line) => /^a=(rtpmap|fmtp):9[789]/.test(line))).toEqual(['a=rtpmap:97 rtx/90000', 'a=fmtp:97 apt=96']);
    expect(video).toContain('a=rtcp-fb:96 nack');
    expect(video).toContain('a=rtpmap:96 H264/90000');
    expect(audio[0]).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 100$/);
    expect(audio.filter((line) => line.startsWith('a=ssrc'))).toEqual(['a=ssrc:424242 cname:driver']);
    expect(video.filter((line) => line.startsWith('a=ssrc'))).toEqual([]);
    expect(audio.some((line) => line === 'a=sendrecv')).toBe(true);
    expect(data[0]).toMatch(/^m=application \d+ UDP\/DTLS\/SCTP webrtc-datachannel$/);
    expect(answer).toMatch(/a=group:BUNDLE video0 audio1 application2/);
  });
});

// The wireless-mode producer's ICE candidates, as a raw signalling consumer sees them on the real
// signalling server: none before the consumer's answer is applied, then all of them, and the
// connection opens on them. Without that order libdatachannel could finish ICE and DTLS with an
// early consumer before it recorded the answer's fingerprint, and the connection failed at once
// (src/sim/media/h264-peer.ts `#localCandidates`).
import nodeDataChannel from 'node-datachannel';
import { afterEach, describe, expect, test } from 'vitest';
import { VIDEO_MID } from '../../../src/sim/media/h264-peer.ts';
import { type Frame, WsProbe, sleep } from '../protocol-client.ts';
import { attachedProducer } from './producer-fixture.ts';

/** Loopback host candidates are gathered within a few ms of the offer; this leaves them ample time to (wrongly) go out. */
const GATHERED_WITHIN_MS = 300;

const media = attachedProducer({ mode: 'h264', width: 320, height: 180, fps: 15 }, () => undefined);

const opened: Array<{ close(): unknown }> = [];
afterEach(async () => {
  // The socket first: the session ends cleanly, then the PeerConnection closes.
  for (const item of opened.splice(0)) await item.close();
});

const isIce = (frame: Frame): boolean => frame.type === 'peer' && 'ice' in frame;

/** A listener that started a session with the producer and holds its offer (not answered). */
async function sessionWithOffer(): Promise<{ probe: WsProbe; sessionId: string; offer: string }> {
  const probe = await WsProbe.open(media.server.url);
  opened.push(probe);
  await probe.nextOfType('welcome');
  probe.send({ type: 'setPeerStatus', roles: ['listener'], meta: { name: 'candidate-order test' } });
  probe.send({ type: 'list' });
  const list = await probe.nextOfType('list');
  const producer = (list.producers as Array<{ id: string }>)[0];
  expect(producer).toBeDefined();
  probe.send({ type: 'startSession', peerId: producer?.id });
  const sessionId = (await probe.nextOfType('sessionStarted')).sessionId as string;
  const offer = await probe.next((frame) => frame.type === 'peer' && 'sdp' in frame);
  return { probe, sessionId, offer: (offer.sdp as { sdp: string }).sdp };
}

describe('h264 producer: ICE candidate order', () => {
  test('no candidate before the answer is applied; after it, candidates that connect', async () => {
    const { probe, sessionId, offer } = await sessionWithOffer();
    await sleep(GATHERED_WITHIN_MS);
    expect(probe.log.filter((entry) => isIce(entry.frame))).toEqual([]);

    const pc = new nodeDataChannel.PeerConnection('candidate-order', { iceServers: [], disableAutoNegotiation: true });
    opened.push(pc);
    // node-datachannel closes what a collected JS wrapper refers to: keep the tracks it hands out.
    const kept: unknown[] = [];
    pc.onTrack((track) => kept.push(track));
    pc.onDataChannel((channel) => kept.push(channel));
    const connected = new Promise<void>((resolve, reject) => {
      pc.onStateChange((state) => {
        if (state === 'connected') resolve();
        if (state === 'failed' || state === 'closed') reject(new Error(`the peer connection is ${state}`));
      });
    });
    const answer = new Promise<string>((resolve) => pc.onLocalDescription((sdp) => resolve(sdp)));
    pc.onLocalCandidate((candidate) => probe.send({ type: 'peer', sessionId, ice: { candidate: candidate.replace(/^a=/, ''), sdpMLineIndex: 0 } }));
    pc.setRemoteDescription(offer, 'offer');
    pc.setLocalDescription('answer');
    probe.send({ type: 'peer', sessionId, sdp: { type: 'answer', sdp: await answer } });

    // The producer's candidates go to our PeerConnection as they come, until the socket closes.
    const fed: string[] = [];
    void (async () => {
      for (;;) {
        const frame = await probe.next(isIce, 10_000).catch(() => null);
        if (!frame) return;
        const { candidate } = frame.ice as { candidate: string };
        fed.push(candidate);
        pc.addRemoteCandidate(candidate, VIDEO_MID);
      }
    })();
    await connected;
    expect(fed.length).toBeGreaterThan(0);
    for (const candidate of fed) expect(candidate).toMatch(/^candidate:/);
    expect(kept.length).toBeGreaterThan(0);
  });
});

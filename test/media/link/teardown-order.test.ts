// Teardown order (issue 12 §6): the driver's media link sends `endSession` before it closes its
// PeerConnection, so the producer (the emulator's webrtcsink stand-in) ends the session because of
// the signalling message, not because it saw the transport die first. Real signalling server, real
// simulated producer (VP8 and H.264 engines), real openMediaLink.
import { Result } from 'effect';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openMediaLink } from '../../../src/adapters/media-link/open-media-link.ts';
import { createSimMediaProducer, type SimMediaProducer } from '../../../src/sim/media/sim-media-producer.ts';
import { startSignallingServer, type SignallingServer } from '../../../src/sim/signalling-server.ts';

describe.each(['vp8', 'h264'] as const)('closing a media link, %s producer', (mode) => {
  let server: SignallingServer;
  let producer: SimMediaProducer;
  beforeAll(async () => {
    server = await startSignallingServer({ host: '127.0.0.1', port: 0 });
    producer = await createSimMediaProducer({ mode, width: 320, height: 240, fps: 15 });
    producer.attach(server);
  });
  afterAll(async () => {
    await producer?.close();
    await server?.close();
  });

  test('the producer receives endSession before the peer connection\'s transport closes', async () => {
    for (let round = 0; round < 3; round++) {
      const opened = await openMediaLink({ signallingUrl: server.url });
      if (Result.isFailure(opened)) throw new Error(`link did not open: ${opened.failure.message}`);
      const link = opened.success;
      const frame = await link.latestFrame({ waitMs: 5_000 });
      expect(Result.isSuccess(frame)).toBe(true);
      await link.close();
      await expect.poll(() => producer.sessionEnds.length, { timeout: 3_000 }).toBe(round + 1);
    }
    expect(producer.sessionEnds.map((end) => end.by)).toEqual(['endSession', 'endSession', 'endSession']);
    expect(producer.sessionCount()).toBe(0);
  }, 30_000);
});

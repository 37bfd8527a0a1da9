// How a media link ends and cleans up, end to end on loopback (signalling server + wrtc test
// producer + node-datachannel consumer): the producer ending the session, the signalling server
// going away, the producer's PeerConnection vanishing, close() (twice, concurrently), repeated
// open/close cycles without leaking handles, and aborting the set-up through the signal.
import { Result } from 'effect';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openMediaLink } from '../../../src/adapters/media-link/open-media-link.ts';
import type { MediaLink, MediaLinkEndReason } from '../../../src/media/media-link.ts';
import type { SignallingServer } from '../../../src/sim/signalling-server.ts';
import type { WrtcTestProducer } from '../../harness/wrtc-test-producer.ts';
import { type Loopback, openLink, startLoopback, until } from './loopback.ts';

function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)))]).finally(() => clearTimeout(timer));
}

let loopback: Loopback;
let server: SignallingServer;
let producer: WrtcTestProducer;
const links: MediaLink[] = [];

beforeEach(async () => {
  loopback = await startLoopback({ fps: 15 }, 'silent');
  ({ server, producer } = loopback);
});

afterEach(async () => {
  for (const link of links.splice(0)) await link.close();
  await loopback.close();
});

async function open(): Promise<MediaLink> {
  const link = await openLink(server);
  links.push(link);
  return link;
}

describe('media link lifecycle', () => {
  it('producer ends the session → ended is producer-ended, and the link refuses further work', async () => {
    const link = await open();
    producer.sessions[0]?.end();
    const reason = await within(link.ended, 5_000);
    expect(reason).toMatchObject({ kind: 'producer-ended' });
    const frame = await link.latestFrame();
    expect(Result.isFailure(frame) && frame.failure._tag).toBe('MediaLinkClosed');
    const sent = link.sendAudio(new Float32Array(160), 16_000);
    expect(Result.isFailure(sent) && sent.failure._tag).toBe('MediaLinkClosed');
  });

  it('signalling server stops → ended is signalling-lost, and the producer session ends too', async () => {
    const link = await open();
    await server.stop();
    expect(await within(link.ended, 5_000)).toMatchObject({ kind: 'signalling-lost' });
    expect(await until(() => producer.openSessions() === 0, 3_000)).toBe(true);
  });

  it('the producer’s PeerConnection closing without signalling → transport-failed', async () => {
    const link = await open();
    producer.sessions[0]?.closeMedia();
    const reason = await within(link.ended, 15_000);
    expect(reason).toMatchObject({ kind: 'transport-failed' });
  });

  it('close() twice, even concurrently, is safe; ended is closed; the producer sees the session end', async () => {
    const link = await open();
    const endedBefore: MediaLinkEndReason | 'pending' = await within(link.ended, 10).then((r) => (r === 'timeout' ? 'pending' : r));
    expect(endedBefore).toBe('pending');
    await Promise.all([link.close(), link.close()]);
    await link.close();
    expect(await link.ended).toEqual({ kind: 'closed' });
    expect(await until(() => producer.openSessions() === 0, 3_000)).toBe(true);
    expect(link.stats().audioOutQueuedSamples).toBe(0);
  });

  it('5 open/close cycles in a row, each decoding and sending, leave no handles behind', async () => {
    const baseline = process.getActiveResourcesInfo().length;
    for (let cycle = 0; cycle < 5; cycle++) {
      const link = await open();
      const frame = await link.latestFrame({ waitMs: 5_000 });
      if (Result.isFailure(frame)) throw new Error(`cycle ${cycle}: ${frame.failure._tag}: ${frame.failure.message}`);
      expect(Result.isSuccess(link.sendAudio(new Float32Array(4_800).fill(0.1), 48_000))).toBe(true);
      await link.close();
      expect(await link.ended).toEqual({ kind: 'closed' });
    }
    expect(await until(() => producer.openSessions() === 0, 3_000)).toBe(true);
    // Sockets, timers and native handles of the five sessions are gone (a little slack for GC'd timers).
    expect(await until(() => process.getActiveResourcesInfo().length <= baseline + 2, 3_000)).toBe(true);
  });

  it('aborting the set-up answers MediaLinkClosed and tears down what was built', async () => {
    const before = new AbortController();
    before.abort();
    const early = await openMediaLink({ signallingUrl: server.url, signal: before.signal });
    expect(Result.isFailure(early) && early.failure._tag).toBe('MediaLinkClosed');

    const during = new AbortController();
    const aborted = await openMediaLink({ signallingUrl: server.url, signal: during.signal, onNegotiating: () => during.abort() });
    expect(Result.isFailure(aborted) && aborted.failure._tag).toBe('MediaLinkClosed');
    expect(await until(() => producer.sessions.length > 0 && producer.openSessions() === 0, 3_000)).toBe(true);

    // The server still serves a fresh link afterwards.
    const link = await open();
    expect(Result.isSuccess(await link.latestFrame({ waitMs: 5_000 }))).toBe(true);
  });

  it('set-up failures come back as typed values', async () => {
    const noProducer = await openMediaLink({ signallingUrl: server.url, producerName: 'someone-else' });
    expect(Result.isFailure(noProducer) && noProducer.failure._tag).toBe('NoProducer');
    const port = server.port;
    await server.close();
    const unreachable = await openMediaLink({ signallingUrl: `ws://127.0.0.1:${port}` });
    expect(Result.isFailure(unreachable) && unreachable.failure._tag).toBe('SignallingUnreachable');
  });
});

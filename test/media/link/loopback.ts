// The loopback set-up the media-link tests share (media-link, -lifecycle, -pli, -stall): the
// emulator's signalling server on a free loopback port, the wrtc test producer registered with it,
// openMediaLink from the node-datachannel consumer, and the log level a file wants while it runs
// ('info' again once it is closed) — per test, or for a whole describe block. Also `until`, the
// polling wait of those tests. Test code only.
import { Result } from 'effect';
import { afterAll, beforeAll } from 'vitest';
import { openMediaLink } from '../../../src/adapters/media-link/open-media-link.ts';
import { type LogLevel, setLogLevel } from '../../../src/logging/logger.ts';
import type { MediaLink, OpenMediaLinkOptions } from '../../../src/media/media-link.ts';
import { type SignallingServer, startSignallingServer } from '../../../src/sim/signalling-server.ts';
import { startWrtcTestProducer, type TestProducerSession, type WrtcTestProducer, type WrtcTestProducerOptions } from '../../harness/wrtc-test-producer.ts';

/** Polls `predicate` every `stepMs` until it holds (true) or `timeoutMs` passed (its last answer). */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await predicate()) return true;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  return predicate();
}

export interface Loopback {
  readonly server: SignallingServer;
  readonly producer: WrtcTestProducer;
  /** Closes the producer, then the server, and sets the log level back to 'info'. */
  close(): Promise<void>;
}

export type LoopbackProducerOptions = Omit<WrtcTestProducerOptions, 'server'>;
export type OpenLinkOptions = Omit<OpenMediaLinkOptions, 'signallingUrl'>;

/** Sets `logLevel`, then starts the signalling server and the test producer on it. */
export async function startLoopback(producerOptions: LoopbackProducerOptions, logLevel: LogLevel): Promise<Loopback> {
  setLogLevel(logLevel);
  const server = await startSignallingServer({ host: '127.0.0.1', port: 0 });
  const producer = startWrtcTestProducer({ server, ...producerOptions });
  return {
    server,
    producer,
    close: async () => {
      await producer.close();
      await server.close();
      setLogLevel('info');
    },
  };
}

/** openMediaLink against `server`; a set-up failure throws with its tag and message. */
export async function openLink(server: SignallingServer, options: OpenLinkOptions = {}): Promise<MediaLink> {
  const opened = await openMediaLink({ signallingUrl: server.url, ...options });
  if (Result.isFailure(opened)) throw new Error(`open failed: ${opened.failure._tag}: ${opened.failure.message}`);
  return opened.success;
}

export interface LoopbackLink extends Loopback {
  readonly link: MediaLink;
  /** The producer's side of `link` (its first session). */
  readonly session: TestProducerSession;
  /** Closes the link, then the producer and the server, and sets the log level back to 'info'. */
  close(): Promise<void>;
}

export interface LoopbackLinkOptions {
  readonly producer: LoopbackProducerOptions;
  /** The log level while the link is up. */
  readonly logLevel: LogLevel;
  readonly link?: OpenLinkOptions;
}

/** startLoopback and one link through it; a failed set-up closes what it built before throwing. */
async function openLoopbackLink(options: LoopbackLinkOptions): Promise<LoopbackLink> {
  const loopback = await startLoopback(options.producer, options.logLevel);
  let link: MediaLink | undefined;
  try {
    const opened = await openLink(loopback.server, options.link);
    link = opened;
    const session = loopback.producer.sessions[0];
    if (!session) throw new Error('no producer session');
    return {
      ...loopback,
      link: opened,
      session,
      close: async () => {
        await opened.close();
        await loopback.close();
      },
    };
  } catch (error) {
    await link?.close();
    await loopback.close();
    throw error;
  }
}

/**
 * For the calling describe block: a loopback link opened before its tests — handed to `opened`,
 * still within beforeAll — and closed after them.
 */
export function loopbackLinkForAll(options: LoopbackLinkOptions, opened: (loopback: LoopbackLink) => void): void {
  let loopback: LoopbackLink | undefined;
  beforeAll(async () => {
    loopback = await openLoopbackLink(options);
    opened(loopback);
  });
  afterAll(async () => {
    await loopback?.close();
  });
}

// What the media runtime logs while it cannot stream (issue 10 item 2: setup failures are visible
// once, not once per retry): the real runtime, session machine, openMediaLink and signalling client
// against a signalling port nothing listens on, and against the emulator's signalling server with
// a webrtcsink stand-in that ends every session before its offer (each attempt a fresh session id).
// Over several retries: one warning saying the session was lost, one from the media link notice,
// no per-attempt `signalling session ended` at info (those attempts are at debug).
import { createServer } from 'node:net';
import { expect, test } from 'vitest';
import { startMediaRuntime } from '../../src/actors/media-runtime.ts';
import { PRODUCER_NAME } from '../../src/media/signalling/protocol.ts';
import { startSignallingServer } from '../../src/sim/signalling-server.ts';
import { startEmulatorWithClient } from '../harness/emulator-client.ts';
import { captureLogs } from '../harness/log-capture.ts';
import { testMediaRuntimeOptions } from '../harness/media-runtime-options.ts';
import { cleanupAfterEach, type Defer } from '../harness/test-cleanups.ts';
import { type Frame, WsProbe } from '../sim/protocol-client.ts';

const defer = cleanupAfterEach();

/** Attempts watched: the back-off (250 ms → 2 s, full jitter) gets there within a few seconds. */
const ATTEMPTS = 4;
const RETRIES_TIMEOUT_MS = 20_000;

async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The runtime on its own against `signallingUrl`, the emulator as its daemon, stopped after the test. */
async function runtimeOn(signallingUrl: string, cleanup: Defer): Promise<void> {
  const { emulator, client } = await startEmulatorWithClient(cleanup, { withMedia: false });
  const runtime = startMediaRuntime(testMediaRuntimeOptions(emulator, client, signallingUrl));
  cleanup(() => runtime.stop());
}

function logged() {
  const logs = captureLogs('debug');
  defer(() => logs.restore());
  return logs;
}

test('nothing listens on the signalling port: over several retries one "lost" warning, no per-attempt info line', async () => {
  const logs = logged();
  const port = await freePort();
  await runtimeOn(`ws://127.0.0.1:${port}`, defer);
  const refused = `cannot reach the robot's WebRTC signalling server at ws://127.0.0.1:${port}`;
  await expect.poll(() => logs.matching('DEBUG', 'retry failed', refused).length, { timeout: RETRIES_TIMEOUT_MS, interval: 100 }).toBeGreaterThanOrEqual(ATTEMPTS - 1);
  expect(logs.matching('WARN', refused)).toHaveLength(1);
  expect(logs.matching('WARN', 'media session lost; reconnecting')).toHaveLength(1);
  expect(logs.matching('INFO', 'signalling session ended')).toEqual([]);
  expect(logs.matching('DEBUG', 'signalling session set-up failed', 'reason=setup-failed').length).toBeGreaterThanOrEqual(ATTEMPTS);
});

test('a producer that ends every session before its offer (a fresh session id each time): one "lost" warning over several retries', async () => {
  const logs = logged();
  const server = await startSignallingServer({ host: '127.0.0.1', port: 0 });
  defer(() => server.close());
  const producer = await WsProbe.open(server.url);
  defer(() => producer.close());
  await producer.nextOfType('welcome');
  const sessions: string[] = [];
  producer.socket.on('message', (data) => {
    const frame = JSON.parse(String(data)) as Frame;
    if (frame.type !== 'startSession') return;
    sessions.push(frame.sessionId as string);
    producer.send({ type: 'endSession', sessionId: frame.sessionId }); // webrtcsink when its pipeline cannot start
  });
  producer.send({ type: 'setPeerStatus', roles: ['producer'], meta: { name: PRODUCER_NAME } });
  await expect.poll(() => server.peers().length).toBe(1);

  await runtimeOn(server.url, defer);
  await expect.poll(() => sessions.length, { timeout: RETRIES_TIMEOUT_MS, interval: 100 }).toBeGreaterThanOrEqual(ATTEMPTS);
  await expect.poll(() => logs.matching('DEBUG', 'retry failed', 'the producer ended the session before its offer').length, { timeout: RETRIES_TIMEOUT_MS }).toBeGreaterThanOrEqual(ATTEMPTS - 1);
  expect(new Set(sessions).size).toBe(sessions.length);
  expect(logs.matching('WARN', 'media session lost; reconnecting')).toHaveLength(1);
  expect(logs.matching('WARN', 'failed (SessionEnded)')).toHaveLength(1);
  expect(logs.matching('INFO', 'signalling session ended')).toEqual([]);
});

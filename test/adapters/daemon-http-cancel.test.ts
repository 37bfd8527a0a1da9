// DaemonHttpClient's cancel signal (README "Safety"): a call still queued for a connection is dropped
// and never written, while a call already written is not aborted, so its reply (a move's uuid) still
// comes. Transcript against the emulator with its goto route delayed, so the client's connections
// are all busy and later calls queue.
import { expect, test } from 'vitest';
import { DaemonCallCancelled } from '../../src/adapters/daemon-errors.ts';
import { MAX_CONNECTIONS } from '../../src/adapters/daemon-http.ts';
import { startEmulatorWithClient } from '../harness/emulator-client.ts';
import { cleanupAfterEach } from '../harness/test-cleanups.ts';

const defer = cleanupAfterEach();
/** Long enough that every connection is still busy when the queued call is cancelled. */
const GOTO_DELAY_MS = 400;
const goto = { head_pose: { x: 0, y: 0, z: 0, roll: 0, pitch: 0, yaw: 0.1 }, duration: 0.2, interpolation: 'minjerk' } as const;

test('a cancelled call still queued is never written; a cancelled call already written still gets its reply', async () => {
  const { emulator, client } = await startEmulatorWithClient(defer, {});
  emulator.faults.apply({ routeDelays: [{ path: '/api/move/goto', requestMs: [GOTO_DELAY_MS, GOTO_DELAY_MS] }] }, 1);
  const written = new AbortController();
  const busy = Array.from({ length: MAX_CONNECTIONS }, (_, i) => client.goto(goto as never, i === 0 ? { signal: written.signal } : {}));
  const queued = new AbortController();
  const late = client.goto(goto as never, { signal: queued.signal });
  await new Promise((r) => setTimeout(r, 100));
  written.abort();
  queued.abort();
  await expect(late).rejects.toBeInstanceOf(DaemonCallCancelled);
  const replies = await Promise.all(busy);
  expect(replies.every((r) => typeof r.uuid === 'string')).toBe(true);
  await new Promise((r) => setTimeout(r, GOTO_DELAY_MS));
  const gotos = emulator.received.filter((e) => e.method === 'POST' && e.path === '/api/move/goto');
  expect(gotos).toHaveLength(MAX_CONNECTIONS);
});

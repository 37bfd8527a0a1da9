// DaemonHttpClient's cancel signal (README "Safety"): a call still queued for a connection is dropped
// and never written, while a call already written is not aborted, so its reply (a move's uuid) still
// comes. Transcript against the emulator with its goto route delayed, so the client's connections
// are all busy and later calls queue. "Written" is what the emulator received, not a guess of time:
// on a loaded CI box the first connections took over 100 ms to carry their calls.
import { expect, test } from 'vitest';
import { DaemonCallCancelled } from '../../src/adapters/daemon-errors.ts';
import { MAX_CONNECTIONS } from '../../src/adapters/daemon-http.ts';
import { startEmulatorWithClient } from '../harness/emulator-client.ts';
import { cleanupAfterEach } from '../harness/test-cleanups.ts';

const defer = cleanupAfterEach();
/** Long enough that every connection is still busy when the queued call is cancelled (the test polls every 5 ms). */
const GOTO_DELAY_MS = 1_000;
/** The busy calls reach the emulator within this, even on a loaded box. */
const WRITTEN_WITHIN_MS = 5_000;
const goto = { head_pose: { x: 0, y: 0, z: 0, roll: 0, pitch: 0, yaw: 0.1 }, duration: 0.2, interpolation: 'minjerk' } as const;

test('a cancelled call still queued is never written; a cancelled call already written still gets its reply', async () => {
  const { emulator, client } = await startEmulatorWithClient(defer, {});
  emulator.faults.apply({ routeDelays: [{ path: '/api/move/goto', requestMs: [GOTO_DELAY_MS, GOTO_DELAY_MS] }] }, 1);
  const written = new AbortController();
  const busy = Array.from({ length: MAX_CONNECTIONS }, (_, i) => client.goto(goto as never, i === 0 ? { signal: written.signal } : {}));
  const queued = new AbortController();
  const late = client.goto(goto as never, { signal: queued.signal });
  const gotos = () => emulator.received.filter((e) => e.method === 'POST' && e.path === '/api/move/goto');
  await expect.poll(() => gotos().length, { timeout: WRITTEN_WITHIN_MS, interval: 5 }).toBe(MAX_CONNECTIONS);
  written.abort();
  queued.abort();
  await expect(late).rejects.toBeInstanceOf(DaemonCallCancelled);
  const replies = await Promise.all(busy);
  expect(replies.every((r) => typeof r.uuid === 'string')).toBe(true);
  await new Promise((r) => setTimeout(r, GOTO_DELAY_MS));
  expect(gotos()).toHaveLength(MAX_CONNECTIONS);
});

// DaemonMoveUpdates against the emulator's `/api/move/ws/updates` (reachy-daemon-api.md §1.2;
// fixtures/daemon/ws1.txt), transcript style: start a move over REST, await its events. A goto
// yields move_started then move_completed, a stopped one move_cancelled; events that arrived
// before the caller asked are remembered; the socket comes back after the daemon restarts.
import { afterEach, describe, expect, test } from 'vitest';
import { DaemonNotConnected, DaemonTimeout } from '../../src/adapters/daemon-errors.ts';
import { DaemonHttpClient } from '../../src/adapters/daemon-http.ts';
import { DaemonMoveUpdates, type MoveUpdate } from '../../src/adapters/daemon-move-updates.ts';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { eventually, nextEvent } from './daemon-test-peers.ts';
import { EMULATOR_TIME_SCALE } from '../harness/emulator-probes.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Generous bound for a move's end: at timeScale 0.05 a 1 s goto plays in 50 ms. */
const MOVE_END_WAIT_MS = 2_000;

async function setup(): Promise<{ emulator: Emulator; http: DaemonHttpClient; updates: DaemonMoveUpdates }> {
  const emulator = await startEmulator({ timeScale: EMULATOR_TIME_SCALE });
  cleanups.push(() => emulator.close());
  const http = new DaemonHttpClient({ baseUrl: emulator.url });
  cleanups.push(() => http.close());
  const updates = new DaemonMoveUpdates({ baseUrl: emulator.url });
  cleanups.push(() => updates.close());
  await nextEvent(updates, 'open');
  return { emulator, http, updates };
}

describe('move events', () => {
  test('a goto: move_started then move_completed, typed, in order', async () => {
    const { updates, http } = await setup();
    const seen: MoveUpdate[] = [];
    updates.on('move', (update) => seen.push(update));
    const { uuid } = await http.goto({ antennas: [0.5, -0.5], duration: 1 });
    const end = await updates.waitForEnd(uuid, MOVE_END_WAIT_MS);
    expect(end).toEqual({ type: 'move_completed', uuid, details: '' });
    expect(seen).toEqual([
      { type: 'move_started', uuid, details: '' },
      { type: 'move_completed', uuid, details: '' },
    ]);
    expect(updates.recent(uuid).map((u) => u.type)).toEqual(['move_started', 'move_completed']);
    // Asking after the end answers from memory.
    expect(await updates.waitForEnd(uuid, 10)).toEqual(end);
  });

  test('a stopped goto ends with move_cancelled', async () => {
    const { updates, http } = await setup();
    const { uuid } = await http.goto({ antennas: [1, -1], duration: 100 });
    // move_started is pushed before the goto reply reaches us: it is in the recent memory.
    await eventually(() => updates.recent(uuid).some((u) => u.type === 'move_started'));
    await http.stopMove(uuid);
    expect(await updates.waitForEnd(uuid, MOVE_END_WAIT_MS)).toEqual({ type: 'move_cancelled', uuid, details: '' });
  });

  test('wake_up and goto_sleep are moves too', async () => {
    const { updates, http } = await setup();
    const wake = await http.playWakeUp();
    expect((await updates.waitForEnd(wake.uuid, MOVE_END_WAIT_MS)).type).toBe('move_completed');
    const sleep = await http.playGotoSleep();
    expect((await updates.waitForEnd(sleep.uuid, MOVE_END_WAIT_MS)).type).toBe('move_completed');
  });

  test('waitForEnd times out with DaemonTimeout when the move is still running', async () => {
    const { updates, http } = await setup();
    const { uuid } = await http.goto({ antennas: [1, -1], duration: 100 });
    await expect(updates.waitForEnd(uuid, 100)).rejects.toBeInstanceOf(DaemonTimeout);
    await http.stopMove(uuid);
  });
});

describe('connection loss', () => {
  test('a wait in progress fails with DaemonNotConnected; the socket is back within 2 s of the restart', async () => {
    const { emulator, updates, http } = await setup();
    const { uuid } = await http.goto({ antennas: [1, -1], duration: 100 });
    const waiting = updates.waitForEnd(uuid, 5_000);
    const closed = nextEvent(updates, 'close');
    await emulator.stop();
    await expect(waiting).rejects.toBeInstanceOf(DaemonNotConnected);
    expect((await closed).code).toBe(1006);
    expect(updates.connected).toBe(false);

    const reopened = nextEvent(updates, 'open', () => true, 3_000);
    await emulator.start();
    const backAt = performance.now();
    await reopened;
    expect(performance.now() - backAt).toBeLessThan(2_000);

    const next = await http.goto({ antennas: [0, 0], duration: 1 });
    expect((await updates.waitForEnd(next.uuid, MOVE_END_WAIT_MS)).type).toBe('move_completed');
  });
});

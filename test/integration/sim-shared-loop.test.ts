// With `--sim` the daemon emulator runs on the driver's own event loop, so a turn that blocks the loop
// (a module loaded on first use, found by a new user's first look_at_world right after wake_up)
// silences the emulator's 50 Hz pushes exactly as a stalled daemon would. A realtime call that
// arrives right after such a block is given one more push's wait (DaemonSdkSocket.nextPush) before the
// stall check refuses it; a daemon that really stalls is still refused (stop-guarantee.test.ts,
// the fault simulation's I1 "target into stalled link").
import { afterAll, beforeAll, expect, test } from 'vitest';
import { LIVE_QUIET_MS } from '../../src/adapters/daemon-sdk-socket.ts';
import { startOperatorScene, type OperatorScene } from '../harness/operator-scene.ts';

/** Longer than the executor's stall limit (SDK_STALL_MS, 150 ms) by far: the emulator pushes nothing meanwhile. */
const BLOCK_MS = 400;
const ROUNDS = 3;

let s: OperatorScene;
beforeAll(async () => {
  s = await startOperatorScene({ deviceId: 'sim-loop-1', argv: ['--sim', '--no-media'] });
});
afterAll(async () => {
  await s?.stop();
});

/** Blocks this process's event loop (the driver's and the emulator's) for `ms`. */
function blockLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: nothing else runs in this process meanwhile
  }
}

test('a realtime call that reaches the driver while its event loop is blocked is accepted once the pushes resume', async () => {
  for (let round = 0; round < ROUNDS; round++) {
    // At idle (/ws/sdk read in batches), as a new user's first call finds it.
    await new Promise((r) => setTimeout(r, LIVE_QUIET_MS + 300));
    const reply = s.call('look_at_world', { yaw: round % 2 === 0 ? 10 : -10, owner: 'newcomer' });
    // The request is on its way to the broker and back to the driver's socket while nothing runs.
    await s.nc.flush();
    blockLoop(BLOCK_MS);
    const answer = await reply;
    expect(answer.error?.data?._tag, JSON.stringify(answer.error ?? null)).toBeUndefined();
    expect(answer.result).toMatchObject({ status: 'accepted' });
  }
}, 30_000);

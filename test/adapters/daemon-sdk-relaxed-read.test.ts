// Relaxed reading of `/ws/sdk` at idle (issue 11; src/adapters/daemon-sdk-socket.ts) against the
// emulator's 50 Hz pushes: at idle the pushes are read in batches no more than about one
// RELAXED_READ_INTERVAL_MS apart, dated at the pause before them (never younger than they may be);
// a command makes reading live at once and `readLive` waits for a push read live; after the quiet
// period reading relaxes again; a relaxed TCP socket takes nothing from the kernel between drains; a
// socket closed while relaxed is noticed within about one interval, and at once by waitOpen; pushes
// that waited are dated at the pause even when a command from the network makes reading live.
import { stat } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { DaemonSdkSocket, RELAXED_READ_INTERVAL_MS } from '../../src/adapters/daemon-sdk-socket.ts';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { eventually, nextEvent, sleep } from './daemon-test-peers.ts';
import { EMULATOR_TIME_SCALE } from '../harness/emulator-probes.ts';

/** Timers on a loaded 2-core box run late by tens of ms; a batch period past this is not "about one interval". */
const SLACK_MS = 80;
/** Frames read within this of each other belong to one batch (one read of what waited in the kernel). */
const SAME_BATCH_MS = 5;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(liveQuietMs?: number): Promise<{ emulator: Emulator; sdk: DaemonSdkSocket }> {
  const emulator = await startEmulator({ timeScale: EMULATOR_TIME_SCALE });
  cleanups.push(() => emulator.close());
  const sdk = new DaemonSdkSocket({ baseUrl: emulator.url, ...(liveQuietMs === undefined ? {} : { liveQuietMs }) });
  cleanups.push(() => sdk.close());
  await nextEvent(sdk, 'open');
  return { emulator, sdk };
}

/** Read times of head_pose pushes over `ms`, grouped into batches. */
async function batchesOver(sdk: DaemonSdkSocket, ms: number): Promise<{ at: number; frames: number }[]> {
  const batches: { at: number; frames: number }[] = [];
  const off = sdk.on('head_pose', () => {
    const now = performance.now();
    const last = batches.at(-1);
    if (last && now - last.at < SAME_BATCH_MS) (batches[batches.length - 1] = { at: last.at, frames: last.frames + 1 });
    else batches.push({ at: now, frames: 1 });
  });
  await sleep(ms);
  off();
  return batches;
}

/** Reaches the client's reconnecting socket, to read how many bytes it took from the kernel. */
class KernelReadProbe extends DaemonSdkSocket {
  get kernelBytesRead(): number {
    return this.socket.bytesRead;
  }
}

/** An emulator and an open client relaxed to `everyMs` (longer than the default, to time one drain). */
async function relaxedEvery(everyMs: number): Promise<{ emulator: Emulator; sdk: KernelReadProbe }> {
  const emulator = await startEmulator({ timeScale: EMULATOR_TIME_SCALE });
  cleanups.push(() => emulator.close());
  const sdk = new KernelReadProbe({ baseUrl: emulator.url, relaxedReadIntervalMs: everyMs });
  cleanups.push(() => sdk.close());
  await nextEvent(sdk, 'open');
  return { emulator, sdk };
}

/** The kernel bytes once a loop turn reads none: the drain has ended (and paused) in that turn's check phase. */
async function settledBytes(sdk: KernelReadProbe): Promise<number> {
  for (;;) {
    const before = sdk.kernelBytesRead;
    await new Promise((resolve) => setImmediate(resolve));
    if (sdk.kernelBytesRead === before) return before;
  }
}

/** How long the daemon stays silent before the command in the kernel-dating test. */
const STALLED_MS = 400;

const maxGap = (batches: { at: number }[]): number => Math.max(...batches.slice(1).map((b, i) => b.at - (batches[i] as { at: number }).at));

describe('relaxed reading at idle (issue 11)', () => {
  test('pushes are read in batches no more than about one interval apart, dated at the pause before them', async () => {
    const { sdk } = await setup();
    expect(sdk.readsRelaxed).toBe(true);
    await nextEvent(sdk, 'head_pose');
    const batches = await batchesOver(sdk, 1_000);
    // 50 Hz read live would be ~50 batches of one frame; relaxed, ~10 of ~5.
    expect(batches.length).toBeLessThanOrEqual(1_000 / RELAXED_READ_INTERVAL_MS + 3);
    expect(batches.length).toBeGreaterThanOrEqual(1_000 / (RELAXED_READ_INTERVAL_MS + SLACK_MS) - 1);
    expect(maxGap(batches)).toBeLessThan(RELAXED_READ_INTERVAL_MS + SLACK_MS);
    // Read just now, yet dated at the pause about one interval earlier.
    await nextEvent(sdk, 'head_pose');
    const age = sdk.latest('head_pose')?.ageMs ?? 0;
    expect(age).toBeGreaterThan(RELAXED_READ_INTERVAL_MS / 2);
    expect(sdk.latest('head_pose')?.stale).toBe(false);
    expect(sdk.silentForMs()).toBeGreaterThanOrEqual(age - 1);
  });

  test('a command makes reading live at once; readLive resolves on a push read live', async () => {
    const { sdk } = await setup();
    await nextEvent(sdk, 'head_pose');
    expect(sdk.send({ type: 'set_antennas', antennas: [0.1, -0.1] })).toEqual({ ok: true });
    expect(sdk.readsRelaxed).toBe(false);
    await sleep(30);
    const batches = await batchesOver(sdk, 400);
    // Live: every 50 Hz tick read on its own (~20 ms apart), never a 100 ms batch.
    expect(batches.length).toBeGreaterThan(12);
    expect(maxGap(batches)).toBeLessThan(RELAXED_READ_INTERVAL_MS - 20);

    const relaxed = await setup();
    await nextEvent(relaxed.sdk, 'head_pose');
    const started = performance.now();
    await relaxed.sdk.readLive();
    expect(performance.now() - started).toBeLessThan(RELAXED_READ_INTERVAL_MS);
    expect(relaxed.sdk.latest('joint_positions')?.ageMs).toBeLessThan(RELAXED_READ_INTERVAL_MS / 2);
  });

  test('after the quiet period reading relaxes again; a task keeps it live until its progress', async () => {
    const quietMs = 300;
    const { sdk } = await setup(quietMs);
    sdk.send({ type: 'set_body_yaw', body_yaw: 0 });
    expect(sdk.readsRelaxed).toBe(false);
    await sleep(quietMs - 100);
    expect(sdk.readsRelaxed).toBe(false);
    await eventually(() => sdk.readsRelaxed, quietMs + SLACK_MS);
    const batches = await batchesOver(sdk, 500);
    expect(batches.length).toBeLessThanOrEqual(500 / RELAXED_READ_INTERVAL_MS + 2);

    // A task of 16 s at the emulator's 0.05 time scale (0.8 s) outlasts the quiet period: reading stays live until its progress, then relaxes after the quiet period.
    const progress = sdk.runTask({ antennas: [0.2, 0.2], body_yaw: null, head: null, duration: 16, method: 'linear' });
    expect(sdk.readsRelaxed).toBe(false);
    let liveAtProgress: boolean | null = null;
    sdk.on('task_progress', () => (liveAtProgress ??= !sdk.readsRelaxed));
    await sleep(quietMs + 100);
    expect(sdk.readsRelaxed).toBe(false);
    expect((await progress).finished).toBe(true);
    const doneAt = performance.now();
    expect(liveAtProgress).toBe(true);
    await eventually(() => sdk.readsRelaxed, quietMs + SLACK_MS);
    expect(performance.now() - doneAt).toBeGreaterThan(quietMs - 20);
  });

  test('a relaxed TCP socket takes nothing from the kernel between drains', async () => {
    const everyMs = 400;
    const { sdk } = await relaxedEvery(everyMs);
    for (let drain = 0; drain < 3; drain++) {
      // Everything that waited is read in the drain's loop turns; the first turn that reads nothing pauses the socket again.
      await nextEvent(sdk, 'head_pose');
      const atDrain = await settledBytes(sdk);
      // Well before the next drain ~7 more ticks of pushes wait in the kernel: a paused socket that
      // still read the next chunk to arrive (and a libuv wake-up for it) would count it here.
      await sleep(everyMs / 3);
      expect(sdk.kernelBytesRead).toBe(atDrain);
    }
    const beforeLive = sdk.kernelBytesRead;
    await sdk.readLive();
    expect(sdk.kernelBytesRead).toBeGreaterThan(beforeLive);
    expect(sdk.latest('head_pose')?.stale).toBe(false);
  });

  test('a socket closed while relaxed is noticed within about one interval', async () => {
    const { emulator, sdk } = await setup();
    await nextEvent(sdk, 'head_pose');
    expect(sdk.readsRelaxed).toBe(true);
    const closed = nextEvent(sdk, 'close', () => true, 2_000);
    const stoppedAt = performance.now();
    await emulator.stop();
    await closed;
    // Without a drain the close would wait for the next ping (PING_INTERVAL_MS, 1 s).
    expect(performance.now() - stoppedAt).toBeLessThan(RELAXED_READ_INTERVAL_MS + SLACK_MS);
    expect(sdk.latest('head_pose')?.stale).toBe(true);
  });

  test('a close behind pushes that waited is seen in the same drain, not the next', async () => {
    const everyMs = 400;
    const { emulator, sdk } = await relaxedEvery(everyMs);
    // Right after a drain: pushes wait in the kernel for a whole interval, then the daemon's end of stream.
    await nextEvent(sdk, 'head_pose');
    await sleep(everyMs / 4);
    const closed = nextEvent(sdk, 'close', () => true, 3 * everyMs);
    const stoppedAt = performance.now();
    await emulator.stop();
    await closed;
    // The drain reads the pushes in one poll and the end of stream in the next; pausing between them left it to the drain after.
    expect(performance.now() - stoppedAt).toBeLessThan(everyMs + SLACK_MS);
  });

  test('waitOpen on a relaxed socket answers from a read of the kernel: a close that waited there is seen first', async () => {
    // No drain within the test: only waitOpen's own read can find the close.
    const { emulator, sdk } = await relaxedEvery(10_000);
    await sleep(50);
    expect(sdk.readsRelaxed).toBe(true);
    await emulator.stop();
    await sleep(50);
    expect(sdk.connected, 'the close waits unread in the kernel').toBe(true);
    // The daemon is down, so the socket cannot open again within the wait.
    expect(await sdk.waitOpen(300)).toBe(false);
    expect(sdk.connected).toBe(false);
  });

  test('pushes that waited in the kernel stay dated at the pause when a command from the network reads live', async () => {
    // One drain a second: the pushes below wait unread for the whole test.
    const { emulator, sdk } = await relaxedEvery(1_000);
    await nextEvent(sdk, 'head_pose');
    await settledBytes(sdk);
    await sleep(100);
    // The daemon stalls with ~5 pushes waiting in the kernel.
    emulator.faults.pause();
    cleanups.push(async () => emulator.faults.resume());
    await sleep(STALLED_MS);
    // A command arrives over the network: readLive runs in an I/O callback (the loop's poll phase),
    // so the pushes that waited are read after this turn's check phase.
    await new Promise<void>((resolve) => stat(import.meta.filename, () => void sdk.readLive().then(resolve)));
    await sleep(30);
    expect(sdk.readsRelaxed).toBe(false);
    // Dated as read, they would vouch for a daemon that has been silent all along.
    expect(sdk.silentForMs()).toBeGreaterThanOrEqual(STALLED_MS);
  });
});

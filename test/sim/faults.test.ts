// The emulator's fault layer (`emulator.faults`) and motion record, as transcripts over real
// sockets: route delays are honoured before handling and before the reply; a paused daemon holds
// requests, handshakes and frames (also from clients that hung up) and runs them in arrival order
// on resume, sending no pushes meanwhile while running moves go on; a dropped reply leaves the
// client waiting although the move ran; move updates are shuffled within a window; /ws/sdk
// pushes arrive late, in order, while HTTP answers at once; a seed replays the same draws.
import { connect } from 'node:net';
import { once } from 'node:events';
import { request } from 'undici';
import { describe, expect, test } from 'vitest';
import type { Emulator } from '../../src/sim/emulator.ts';
import { mulberry32, SeededRandom } from '../../src/sim/seeded-random.ts';
import { useEmulatorProbes } from '../harness/emulator-probes.ts';
import { get, post, sleep, type Frame, type WsProbe } from './protocol-client.ts';

const emulators = useEmulatorProbes();

/** A real-time emulator (timeScale 1), closed after the test. */
const setup = (): Promise<Emulator> => emulators.emulatorWith({ timeScale: 1 });

/** A WebSocket probe on `path` of `emulator`, closed after the test. */
const probe = (emulator: Emulator, path: string): Promise<WsProbe> => emulators.probe(`${emulator.wsUrl}${path}`);

/** Timers may fire up to a millisecond early against performance.now(). */
const TIMER_SLOP_MS = 2;

/** Writes a whole request on a raw TCP connection, lets it reach the emulator, then hangs up. */
async function postAndHangUp(emulator: Emulator, path: string, body: unknown): Promise<void> {
  const payload = JSON.stringify(body);
  const socket = connect(emulator.port, emulator.host);
  await once(socket, 'connect');
  await new Promise<void>((resolve) => socket.write(
    `POST ${path} HTTP/1.1\r\nHost: ${emulator.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
    () => resolve(),
  ));
  await sleep(50);
  socket.destroy();
}

const gotoYaw = (yaw: number, duration = 0.2) => ({ head_pose: { yaw }, duration });

describe('seeded randomness', () => {
  test('mulberry32: a seed always gives the same sequence, another seed another one', () => {
    const draw = (seed: number) => Array.from({ length: 8 }, mulberry32(seed));
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    for (const value of draw(1)) expect(value >= 0 && value < 1).toBe(true);
    const shuffled = new SeededRandom(5).shuffle([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(new SeededRandom(5).shuffle([1, 2, 3, 4, 5, 6, 7, 8])).toEqual(shuffled);
    expect([...shuffled].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe('route delays', () => {
  test('requestMs delays the handling, responseMs holds the reply; other routes are not touched', async () => {
    const emulator = await setup();
    emulator.faults.apply({ routeDelays: [{ path: '/api/move/goto', requestMs: [200, 200], responseMs: [150, 150] }] }, 1);
    const sentAt = performance.now();
    const reply = await post(emulator.url, '/api/move/goto', gotoYaw(0.1));
    const repliedAt = performance.now();
    const { uuid } = reply.json as { uuid: string };
    const move = emulator.motionRecord.moves.find((m) => m.uuid === uuid);
    expect(move).toMatchObject({ kind: 'goto', via: 'rest', target: { head: { yaw: expect.closeTo(0.1, 9) }, durationS: 0.2 } });
    expect(move!.startedAt - move!.receivedAt).toBeGreaterThanOrEqual(200 - TIMER_SLOP_MS);
    expect(repliedAt - move!.startedAt).toBeGreaterThanOrEqual(150 - TIMER_SLOP_MS);
    expect(repliedAt - sentAt).toBeGreaterThanOrEqual(350 - TIMER_SLOP_MS);
    // A prefix pattern: `/api/state/*` delays every state route, not `/api/move/running`.
    emulator.faults.apply({ routeDelays: [{ path: '/api/state/*', requestMs: [120, 160] }] }, 2);
    const before = performance.now();
    expect((await get(emulator.url, '/api/state/present_body_yaw')).status).toBe(200);
    expect(performance.now() - before).toBeGreaterThanOrEqual(120 - TIMER_SLOP_MS);
    emulator.clearReceived();
    expect((await get(emulator.url, '/api/move/running')).status).toBe(200);
  });

  test('a /ws/sdk frame delay keeps the frames in order', async () => {
    const emulator = await setup();
    const sdk = await probe(emulator, '/ws/sdk');
    emulator.faults.apply({ routeDelays: [{ path: '/ws/sdk', requestMs: [10, 150] }] }, 3);
    const sent = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    for (const left of sent) sdk.send({ type: 'set_antennas', antennas: [0, left] });
    await expect.poll(() => emulator.motionRecord.targets.length, { timeout: 2_000 }).toBe(sent.length);
    expect(emulator.motionRecord.targets.map((t) => t.values.antennas?.[1])).toEqual(sent);
    for (const target of emulator.motionRecord.targets) {
      expect(target).toMatchObject({ kind: 'set_antennas', via: 'sdk', reachable: true });
      expect(target.appliedAt - target.receivedAt).toBeGreaterThanOrEqual(10 - TIMER_SLOP_MS);
    }
  });
});

describe('pause', () => {
  test('held requests and frames run in arrival order on resume, also from clients that hung up; no pushes meanwhile; moves go on', async () => {
    const emulator = await setup();
    const sdk = await probe(emulator, '/ws/sdk');
    const leaver = await probe(emulator, '/ws/sdk');
    const updates = await probe(emulator, '/api/move/ws/updates');
    await sdk.nextOfType('joint_positions');
    const running = (await post(emulator.url, '/api/move/goto', { antennas: [0.5, 0.5], duration: 0.3 })).json as { uuid: string };
    await updates.next((f) => f.type === 'move_started' && f.uuid === running.uuid);

    emulator.faults.pause();
    const pausedAt = performance.now();
    expect(emulator.faults.paused).toBe(true);
    // Instant gotos (duration 0): they hold no move lock, so the targets between them apply.
    const first = post(emulator.url, '/api/move/goto', gotoYaw(0.1, 0));
    await sleep(30);
    await postAndHangUp(emulator, '/api/move/goto', gotoYaw(0.2, 0));
    sdk.send({ type: 'set_antennas', antennas: [0.3, 0.3] });
    await sleep(30);
    leaver.send({ type: 'set_body_yaw', body_yaw: 0.25 });
    await leaver.close();
    await sleep(30);
    const third = post(emulator.url, '/api/move/goto', gotoYaw(0.3, 0));
    let lateOpen = false;
    const late = probe(emulator, '/api/move/ws/updates').then((ws) => {
      lateOpen = true;
      return ws;
    });
    await sleep(400);
    // Nothing ran, nothing was pushed, the handshake waits; the move started before goes on.
    const started = emulator.motionRecord.moves.filter((m) => m.uuid !== running.uuid);
    expect(started).toEqual([]);
    expect(emulator.motionRecord.targets).toEqual([]);
    expect(lateOpen).toBe(false);
    const runningEntry = emulator.motionRecord.moves.find((m) => m.uuid === running.uuid)!;
    expect(runningEntry.outcome).toBe('completed');
    const resumedAt = performance.now();
    // Pushes sent just before the pause may still be in flight for a moment on a loaded box.
    expect(sdk.log.filter((l) => l.at > pausedAt + 100 && l.at < resumedAt)).toEqual([]);
    expect(updates.log.some((l) => l.frame.type === 'move_completed')).toBe(false);

    emulator.faults.resume();
    expect(emulator.faults.paused).toBe(false);
    const [a, c] = await Promise.all([first, third]);
    await late;
    expect(lateOpen).toBe(true);
    const moves = emulator.motionRecord.moves.filter((m) => m.uuid !== running.uuid);
    expect(moves.map((m) => m.target?.head?.yaw)).toEqual([expect.closeTo(0.1, 9), expect.closeTo(0.2, 9), expect.closeTo(0.3, 9)]);
    expect(moves.map((m) => m.uuid)).toEqual([(a.json as { uuid: string }).uuid, expect.any(String), (c.json as { uuid: string }).uuid]);
    for (const move of moves) expect(move.startedAt).toBeGreaterThanOrEqual(resumedAt);
    // Frames were interleaved with the requests by arrival: antennas after the 2nd goto, body yaw before the 3rd.
    expect(emulator.motionRecord.targets.map((t) => t.kind)).toEqual(['set_antennas', 'set_body_yaw']);
    const [antennas, bodyYaw] = emulator.motionRecord.targets;
    expect(antennas!.appliedAt).toBeGreaterThanOrEqual(moves[1]!.startedAt);
    expect(bodyYaw!.appliedAt).toBeLessThanOrEqual(moves[2]!.startedAt);
    expect(bodyYaw!.values.bodyYaw).toBe(0.25);
    // The move completed during the pause is reported after it; pushes are back.
    const completed = await updates.next((f) => f.type === 'move_completed' && f.uuid === running.uuid);
    expect(completed).toBeDefined();
    expect(updates.log.find((l) => l.frame.type === 'move_completed' && l.frame.uuid === running.uuid)!.at).toBeGreaterThanOrEqual(resumedAt);
    expect(runningEntry.endedAt!).toBeLessThan(resumedAt);
    await sdk.nextOfType('joint_positions');
  });

  test('clear() resumes a paused daemon and drops the plan', async () => {
    const emulator = await setup();
    emulator.faults.apply({ routeDelays: [{ path: '/api/move/running', requestMs: [5_000, 5_000] }] }, 1);
    emulator.faults.pause();
    const pending = get(emulator.url, '/api/move/running');
    await sleep(100);
    expect(emulator.received.some((r) => r.path === '/api/move/running')).toBe(true);
    emulator.faults.clear();
    expect(emulator.faults.paused).toBe(false);
    // The request received under the old plan keeps its drawn delay; a new one has none.
    expect((await get(emulator.url, '/api/move/running')).status).toBe(200);
    void pending.catch(() => undefined);
  });
});

describe('dropped replies', () => {
  test('the goto is handled and runs; its reply never comes', async () => {
    const emulator = await setup();
    emulator.faults.apply({ dropReplies: [{ path: '/api/move/goto', probability: 1 }] }, 9);
    const waited = request(`${emulator.url}/api/move/goto`, {
      method: 'POST', body: JSON.stringify(gotoYaw(0.15)), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(400),
    });
    await expect(waited).rejects.toMatchObject({ name: 'TimeoutError' });
    const move = emulator.motionRecord.moves.at(-1);
    expect(move).toMatchObject({ kind: 'goto', target: { head: { yaw: expect.closeTo(0.15, 9) } } });
    await expect.poll(() => emulator.motionRecord.moves.at(-1)?.outcome).toBe('completed');
  });

  test('the same seed drops the same requests, another seed others', async () => {
    const pattern = async (seed: number): Promise<boolean[]> => {
      const emulator = await setup();
      emulator.faults.apply({ dropReplies: [{ path: '/api/move/running', probability: 0.5 }] }, seed);
      const dropped: boolean[] = [];
      for (let i = 0; i < 10; i += 1) {
        // undici's own headersTimeout ticks in ~1 s steps; an AbortSignal timer is exact. 300 ms
        // is ample for an answered request on a loaded box.
        const answered = await request(`${emulator.url}/api/move/running`, { signal: AbortSignal.timeout(300) }).then(
          async (r) => { await r.body.text(); return true; },
          () => false,
        );
        dropped.push(!answered);
      }
      return dropped;
    };
    const a = await pattern(7);
    expect(a).toContain(true);
    expect(a).toContain(false);
    expect(await pattern(7)).toEqual(a);
    expect(await pattern(8)).not.toEqual(a);
  });
});

describe('reordered move updates', () => {
  /** Long enough for four sequential REST calls on a loaded box to land in one window. */
  const REORDER_WINDOW_MS = 1_000;

  /** Starts four instant moves within one window; returns the delivered frames as emission indices. */
  async function deliveredOrder(seed: number): Promise<{ order: number[]; firstAt: number; startedAt: number }> {
    const emulator = await setup();
    const updates = await probe(emulator, '/api/move/ws/updates');
    emulator.faults.apply({ reorderMoveUpdatesMs: REORDER_WINDOW_MS }, seed);
    for (let i = 0; i < 4; i += 1) await post(emulator.url, '/api/move/goto', { antennas: [i / 10, 0], duration: 0 });
    const frames: Frame[] = [];
    for (let i = 0; i < 8; i += 1) frames.push(await updates.next());
    // Emission order: each instant move emits started then completed before the next request.
    const emitted = emulator.motionRecord.moves.flatMap((m) => [`move_started ${m.uuid}`, `move_completed ${m.uuid}`]);
    const order = frames.map((f) => emitted.indexOf(`${String(f.type)} ${String(f.uuid)}`));
    return { order, firstAt: updates.log[0]!.at, startedAt: emulator.motionRecord.moves[0]!.startedAt };
  }

  test('frames of one window are held for the window, then delivered shuffled; the same seed gives the same order', async () => {
    const first = await deliveredOrder(11);
    expect([...first.order].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(first.order).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(first.firstAt - first.startedAt).toBeGreaterThanOrEqual(REORDER_WINDOW_MS - TIMER_SLOP_MS);
    expect((await deliveredOrder(11)).order).toEqual(first.order);
  });
});

describe('late /ws/sdk pushes', () => {
  /** Ten control ticks: far longer than a loaded box's jitter. */
  const PUSH_DELAY_MS = 200;
  const bodyOf = (frame: Frame): number => (frame.head_joint_positions as number[])[0] as number;

  test('a push reaches its client the delay after the tick that made it, in order; HTTP answers at once; a daemon restarted with pushes held pushes again', async () => {
    const emulator = await setup();
    const sdk = await probe(emulator, '/ws/sdk');
    emulator.faults.apply({ sdkPushDelayMs: PUSH_DELAY_MS }, 1);
    const askedAt = performance.now();
    await post(emulator.url, '/api/move/goto', { body_yaw: 1, duration: 2 });
    expect(performance.now() - askedAt).toBeLessThan(PUSH_DELAY_MS);
    await sleep(500);
    // The body turns on; where the robot is now reaches the client only the delay later.
    const bodyNow = emulator.snapshot().bodyYaw;
    const seenAt = performance.now();
    const reached = await sdk.next((f) => f.type === 'joint_positions' && bodyOf(f) >= bodyNow);
    expect(performance.now() - seenAt).toBeGreaterThanOrEqual(PUSH_DELAY_MS - 20 - TIMER_SLOP_MS);
    expect(bodyOf(reached)).toBeLessThan(1);
    const bodies = sdk.log.filter((entry) => entry.frame.type === 'joint_positions').map((entry) => bodyOf(entry.frame));
    expect(bodies).toEqual([...bodies].sort((a, b) => a - b));
    // Killed with pushes held: those are lost, the next process's pushes flow (late) to a new client.
    await emulator.restart();
    const again = await probe(emulator, '/ws/sdk');
    await again.nextOfType('joint_positions', PUSH_DELAY_MS + 2_000);
  });
});

describe('motion record', () => {
  test('REST sequences, /ws/sdk moves and tasks, stops: kind, via, outcome', async () => {
    const emulator = await emulators.emulatorWith();
    const sdk = await probe(emulator, '/ws/sdk');
    const long = (await post(emulator.url, '/api/move/goto', gotoYaw(0.3, 20))).json as { uuid: string };
    await post(emulator.url, '/api/move/stop', { uuid: long.uuid });
    const sleepMove = (await post(emulator.url, '/api/move/play/goto_sleep')).json as { uuid: string };
    await expect.poll(() => emulator.motionRecord.moves.find((m) => m.uuid === sleepMove.uuid)?.outcome, { timeout: 3_000 }).toBe('completed');
    sdk.send({ type: 'goto_target', head: null, antennas: [0.2, 0.2], duration: 20 });
    await expect.poll(() => emulator.snapshot().isMoveRunning).toBe(true);
    sdk.send({ type: 'stop_move' });
    const taskUuid = '01234567-89ab-cdef-0123-456789abcdef';
    sdk.send({ type: 'task', uuid: taskUuid, timestamp: new Date().toISOString(), req: { head: null, antennas: [0, 0], duration: 0.2, method: 'linear', body_yaw: null } });
    await sdk.next((f) => f.type === 'task_progress');
    const moves = emulator.motionRecord.moves;
    expect(moves.map((m) => [m.kind, m.via, m.outcome])).toEqual([
      ['goto', 'rest', 'cancelled'], ['goto_sleep', 'rest', 'completed'], ['goto', 'sdk', 'stopped'], ['sdk_task', 'sdk', 'completed'],
    ]);
    expect(moves[2]!.uuid).toMatch(/^sdk-\d+$/);
    expect(moves[3]).toMatchObject({ uuid: taskUuid, target: { antennas: [0, 0], head: null, durationS: 0.2 } });
    for (const move of moves) {
      expect(move.receivedAt).toBeLessThanOrEqual(move.startedAt);
      expect(move.endedAt!).toBeGreaterThanOrEqual(move.startedAt);
    }
    // A daemon killed mid-move: the move is recorded as killed.
    const doomed = (await post(emulator.url, '/api/move/goto', gotoYaw(0.1, 20))).json as { uuid: string };
    await emulator.stop();
    expect(emulator.motionRecord.moves.find((m) => m.uuid === doomed.uuid)?.outcome).toBe('killed');
    expect(emulator.motionRecord.nowMs()).toBeGreaterThanOrEqual(emulator.motionRecord.moves.at(-1)!.endedAt!);
  });
});

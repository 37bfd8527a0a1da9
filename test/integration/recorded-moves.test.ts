// Recorded moves, expressions and volume over NATS against the emulator (issue 12 part 2): the
// real driver in-process, a real NATS server and client, the emulator's motion record as ground
// truth. list_moves and play_move on the daemon's recorded-move routes (local datasets; any other
// dataset answers as a daemon without hub access); a stop during a recorded move or an expression
// ends it and nothing moves after the stop's answer; bad names never reach the daemon;
// play_expression's steps stay within the envelope and the speed limits (and a narrower envelope
// refuses them); get_volume / set_volume and a host without volume control.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { useBrokerScenes, type EmulatorScene as Scene } from '../harness/emulator-scene.ts';
import { waitUntilReady } from '../harness/ready-state.ts';

/** Real time: the emulator's moves take their recorded durations (thinking1 4.5 s, the expressions ~2–3 s). */
const TIME_SCALE = 1;
const DEFAULT_DATASET = 'pollen-robotics/reachy-mini-emotions-library';
/** The stop follows the start of a long move by this much (mid-move). */
const STOP_AFTER_MS = 700;
/** After the stop's answer, watch this long for anything that still moves. */
const WATCH_AFTER_STOP_MS = 1_500;
/** Default speed limits (src/safety/safety-policy.ts) and the slack of sampling at 50 Hz. */
const HEAD_LIMIT_DEG_PER_S = 200;
const ANTENNA_LIMIT_DEG_PER_S = 600;
const SAMPLING_SLACK = 1.15;
/** A pose sample that moved less than this is "still" (float noise of the matrices). */
const STILL_DEG = 0.01;
const CALL_TIMEOUT_MS = 20_000;
const TEST_TIMEOUT_MS = 60_000;

const scenes = useBrokerScenes('moves', { timeScale: TIME_SCALE, callTimeoutMs: CALL_TIMEOUT_MS });

async function scene(argv: string[] = []): Promise<Scene> {
  const s = await scenes.start(['--no-media', ...argv]);
  await waitUntilReady(scenes.broker().nc, s.id);
  s.emulator.clearReceived();
  return s;
}

const deg = (rad: number): number => (rad * 180) / Math.PI;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const received = (s: Scene, fragment: string): number => s.emulator.received.filter((c) => JSON.stringify(c).includes(fragment)).length;

/**
 * Nothing moved after `at`: no move started, no target applied but the stop's hold at the present
 * pose (README "Safety": a stop that ended moves holds where they left the robot; the samples below
 * show it moved nothing), and the pose samples stayed still.
 */
function stillAfter(s: Scene, at: number): void {
  const record = s.emulator.motionRecord;
  expect(record.moves.filter((m) => m.startedAt > at)).toEqual([]);
  expect(record.moves.every((m) => m.endedAt !== null && m.endedAt <= at)).toBe(true);
  expect(record.targets.filter((t) => t.appliedAt > at && t.kind !== 'set_full_target')).toEqual([]);
  const after = record.poses.filter((p) => p.at > at);
  expect(after.length).toBeGreaterThan(10);
  const first = after[0]!;
  for (const p of after) {
    expect(Math.abs(deg(p.head.yaw - first.head.yaw))).toBeLessThan(STILL_DEG);
    expect(Math.abs(deg(p.head.pitch - first.head.pitch))).toBeLessThan(STILL_DEG);
    expect(Math.abs(deg(p.antennas[0] - first.antennas[0]))).toBeLessThan(STILL_DEG);
    expect(Math.abs(deg(p.bodyYaw - first.bodyYaw))).toBeLessThan(STILL_DEG);
  }
}

describe('recorded moves', () => {
  test('list_moves (default dataset and a named one), play_move with wait: the daemon plays it to its end', async () => {
    const s = await scene();
    const listed = await s.call('list_moves');
    expect(listed.result).toEqual({ status: 'success', dataset: DEFAULT_DATASET, moves: ['cheerful1', 'curious1', 'thinking1'] });
    expect((await s.call('list_moves', { dataset: 'local-test/moves' })).result.moves).toEqual(['wiggle']);

    const played = await s.call('play_move', { move_name: 'curious1', wait: true });
    expect(played.result).toMatchObject({ status: 'completed', target: { kind: 'recorded_move', dataset: DEFAULT_DATASET, move_name: 'curious1' } });
    const moves = s.emulator.motionRecord.moves.filter((m) => m.kind === 'recorded');
    expect(moves).toHaveLength(1);
    expect(moves[0]).toMatchObject({ uuid: played.result.uuid, outcome: 'completed' });
    // The move turned the head (yaw 10° at its peak) and came back.
    const yaws = s.emulator.motionRecord.poses.filter((p) => p.at >= moves[0]!.startedAt && p.at <= moves[0]!.endedAt!).map((p) => deg(p.head.yaw));
    expect(Math.max(...yaws)).toBeGreaterThan(9);
    expect(received(s, '/api/move/play/recorded-move-dataset/pollen-robotics/reachy-mini-emotions-library/curious1')).toBe(1);
    expect((await s.call('get_status')).result.driver_state.execution_state).toBe('idle');
  }, TEST_TIMEOUT_MS);

  test('stop_motion during play_move: the waiting caller hears it did not complete, the move ends by the answer, nothing moves after', async () => {
    const s = await scene();
    const playing = s.call('play_move', { move_name: 'thinking1', wait: true });
    await expect.poll(() => s.emulator.motionRecord.moves.filter((m) => m.kind === 'recorded').length, { timeout: 5_000 }).toBe(1);
    await sleep(STOP_AFTER_MS);
    const stop = await s.call('stop_motion');
    const answeredAt = performance.now();
    expect(stop.result).toMatchObject({ status: 'stopped' });
    const played = await playing;
    expect(played.error?.data?._tag).toBe('MotionNotCompleted');
    expect(played.error.data.outcome).toBe('stopped');
    const move = s.emulator.motionRecord.moves.find((m) => m.kind === 'recorded')!;
    expect(move.outcome).toBe('cancelled');
    expect(move.endedAt!).toBeLessThanOrEqual(answeredAt);
    await sleep(WATCH_AFTER_STOP_MS);
    stillAfter(s, answeredAt);
  }, TEST_TIMEOUT_MS);

  test('bad names answer InvalidParams and reach nothing; an unknown move is CommandRejected with the daemon\'s words; no hub is Unsupported', async () => {
    const s = await scene();
    for (const params of [{ move_name: '' }, { move_name: '../etc' }, { move_name: 'a/b' }, { move_name: 'x'.repeat(129) }, { move_name: 'ok', dataset: '../../secret' }, { move_name: 'ok', dataset: 'a//b' }, {}]) {
      const reply = await s.call('play_move', params);
      expect(reply.error?.data?._tag, JSON.stringify(params)).toBe('InvalidParams');
    }
    expect((await s.call('list_moves', { dataset: 'owner/../x' })).error?.data?._tag).toBe('InvalidParams');
    expect(received(s, 'recorded-move')).toBe(0);

    const unknown = await s.call('play_move', { move_name: 'nope' });
    expect(unknown.error?.data?._tag).toBe('CommandRejected');
    expect(unknown.error.message).toContain(`Move nope not found in recorded moves library ${DEFAULT_DATASET}`);

    // A dataset the daemon has no copy of, and no hub to fetch it from: the daemon answers 500.
    const listed = await s.call('list_moves', { dataset: 'someone/not-cached' });
    expect(listed.error?.data?._tag).toBe('Unsupported');
    expect(listed.error.message).toContain('hub');
    const played = await s.call('play_move', { dataset: 'someone/not-cached', move_name: 'wave' });
    expect(played.error?.data?._tag).toBe('Unsupported');
    expect(s.emulator.motionRecord.moves).toEqual([]);
    expect((await s.call('get_status')).result.driver_state.execution_state).not.toBe('commanded');
  }, TEST_TIMEOUT_MS);

  test('play_move is gated like every motion: refused while the interlock is tripped', async () => {
    const s = await scene();
    expect((await s.call('emergency_stop', { reason: 'test' })).result).toBeDefined();
    const refused = await s.call('play_move', { move_name: 'cheerful1' });
    expect(refused.error?.data?._tag).toBe('InterlockTripped');
    expect(received(s, 'recorded-move-dataset')).toBe(0);
  }, TEST_TIMEOUT_MS);
});

describe('expressions', () => {
  test('play_expression nod, shake and happy move the robot within the default speed limits, one goto per step', async () => {
    const s = await scene();
    for (const name of ['nod', 'shake', 'happy']) {
      const before = s.emulator.motionRecord.moves.length;
      const reply = await s.call('play_expression', { name, wait: true });
      expect(reply.result, name).toMatchObject({ status: 'completed', target: { kind: 'expression', name } });
      const gotos = s.emulator.motionRecord.moves.slice(before);
      expect(gotos.length, name).toBe(5);
      expect(gotos.every((m) => m.kind === 'goto' && m.outcome === 'completed')).toBe(true);
      // One after the other: each step starts once the previous one ended.
      for (let i = 1; i < gotos.length; i++) expect(gotos[i]!.startedAt).toBeGreaterThanOrEqual(gotos[i - 1]!.endedAt!);
      const samples = s.emulator.motionRecord.poses.filter((p) => p.at >= gotos[0]!.startedAt && p.at <= gotos[gotos.length - 1]!.endedAt!);
      let moved = 0;
      for (let i = 1; i < samples.length; i++) {
        const dt = (samples[i]!.at - samples[i - 1]!.at) / 1000;
        if (dt <= 0) continue;
        for (const axis of ['roll', 'pitch', 'yaw'] as const) {
          const speed = Math.abs(deg(samples[i]!.head[axis] - samples[i - 1]!.head[axis])) / dt;
          expect(speed, `${name} head ${axis}`).toBeLessThanOrEqual(HEAD_LIMIT_DEG_PER_S * SAMPLING_SLACK);
          moved = Math.max(moved, Math.abs(deg(samples[i]!.head[axis])));
        }
        for (const a of [0, 1]) expect(Math.abs(deg(samples[i]!.antennas[a]! - samples[i - 1]!.antennas[a]!)) / dt, `${name} antenna`).toBeLessThanOrEqual(ANTENNA_LIMIT_DEG_PER_S * SAMPLING_SLACK);
      }
      expect(moved, `${name} moved the head`).toBeGreaterThan(5);
    }
  }, TEST_TIMEOUT_MS);

  test('stop_motion during an expression ends the series: no step after the stop\'s answer', async () => {
    const s = await scene();
    const playing = s.call('play_expression', { name: 'shake', wait: true });
    // Two steps under way; if they never start, the failure says what play_expression had answered by then.
    await expect.poll(() => s.emulator.motionRecord.moves.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2).catch(async (error: Error) => {
      throw new Error(`${error.message}; play_expression: ${JSON.stringify(await Promise.race([playing, Promise.resolve('not answered yet')]))}`);
    });
    const stop = await s.call('stop_motion');
    const answeredAt = performance.now();
    expect(stop.result).toMatchObject({ status: 'stopped' });
    const reply = await playing;
    expect(['MotionCancelled', 'MotionNotCompleted']).toContain(reply.error?.data?._tag);
    // Steps already ran: the answer never claims the robot did not move.
    expect(reply.error.message).not.toContain('before it moved the robot');
    await sleep(WATCH_AFTER_STOP_MS);
    expect(s.emulator.motionRecord.moves.length).toBeLessThan(5);
    stillAfter(s, answeredAt);
  }, TEST_TIMEOUT_MS);

  test('an expression outside the operator\'s envelope is refused before anything moves; unknown names are InvalidParams', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rmd-moves-')), 'envelope.json');
    writeFileSync(file, JSON.stringify({ head_yaw_deg: { min: -10, max: 10 } }));
    const s = await scene(['--envelope', file]);
    const refused = await s.call('play_expression', { name: 'shake' });
    expect(refused.error?.data?._tag).toBe('OutsideEnvelope');
    expect(refused.error.data.violations.map((v: Record<string, unknown>) => v.axis)).toContain('head_yaw_deg');
    expect((await s.call('play_expression', { name: 'dance' })).error?.data?._tag).toBe('InvalidParams');
    expect(s.emulator.motionRecord.moves).toEqual([]);
    // nod stays inside a yaw-only envelope.
    expect((await s.call('play_expression', { name: 'nod', wait: true })).result?.status).toBe('completed');
  }, TEST_TIMEOUT_MS);
});

describe('volume', () => {
  test('get_volume / set_volume for speaker and microphone; out of range is InvalidParams; a host without volume control is Unsupported', async () => {
    // set_volume plays a test sound: it is limited under the audio class (2/s by default); this test sets it several times a second.
    const s = await scene(['--rate-limit', 'audio=off']);
    // A host with audio tools (the no-media emulator's default host has none, as observed).
    s.emulator.volume.available = true;
    const first = await s.call('get_volume');
    expect(first.result, JSON.stringify(first)).toMatchObject({ status: 'success', device: 'speaker', volume: 50, platform: 'Linux' });
    expect((await s.call('set_volume', { volume: 30 })).result).toMatchObject({ device: 'speaker', volume: 30 });
    expect((await s.call('set_volume', { volume: 80, device: 'microphone' })).result).toMatchObject({ device: 'microphone', volume: 80 });
    expect((await s.call('get_volume', { device: 'microphone' })).result.volume).toBe(80);
    expect((await s.call('get_volume')).result.volume).toBe(30);
    expect(s.emulator.volume.get('speaker')).toBe(30);
    for (const volume of [-1, 101, 50.5, '50']) expect((await s.call('set_volume', { volume })).error?.data?._tag).toBe('InvalidParams');
    expect(s.emulator.volume.get('speaker')).toBe(30);

    s.emulator.volume.available = false;
    const get = await s.call('get_volume');
    expect(get.error?.data?._tag).toBe('Unsupported');
    expect(get.error.message).toContain('500');
    expect((await s.call('set_volume', { volume: 10, device: 'microphone' })).error?.data?._tag).toBe('Unsupported');
  }, TEST_TIMEOUT_MS);
});

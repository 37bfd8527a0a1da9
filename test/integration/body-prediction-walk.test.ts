// A seeded walk of head, body and goto commands (with and without the body), stops of them and body
// envelopes drawn around where the body is (README "Safety envelope", "Speed limits"): whatever the
// daemon does with the body on its own — pulled within 65° of the head, swinging back toward the
// body target it holds — the body never leaves the envelope in force and never turns faster than
// its limit, and a call refused OutsideEnvelope writes nothing. Over NATS against the emulator, on
// both transports; BODY_WALK_STEPS (default 10) and BODY_WALK_SEED (default 6) lengthen or vary a
// run; BODY_WALK_RECONNECTS=p (default 0) drops the daemon's sockets before a call with chance p
// (drawn apart: the steps stay those of the seed), the daemon still holding its targets. wake_up and
// goto_sleep are left out: the daemon's own sequences are not checked against the envelope (README).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SeededRandom } from '../../src/sim/seeded-random.ts';
import { startBodyScene, type BodyScene } from '../harness/body-scene.ts';
import { excesses, POSE_NOISE } from '../harness/speed-excess.ts';

const deg = (rad: number): number => (rad * 180) / Math.PI;
const round = (value: number): number => Math.round(value * 10) / 10;
/** Steps per transport: each is a move of up to ~2 s; 10 keep the file near 20 s (this file runs alone: TIMED in vitest.config.ts), and seed 6 reaches, at step 7, a swing back toward the body target a stopped goto left. */
const STEPS = Number(process.env.BODY_WALK_STEPS ?? 10);
const SEED = Number(process.env.BODY_WALK_SEED ?? 6);
const RECONNECTS = Number(process.env.BODY_WALK_RECONNECTS ?? 0);
/** The socket drops are drawn from their own sequence, this far from the steps' seed. */
const RECONNECT_SEED_OFFSET = 1_000_003;

/** Refusals a step may meet (anything else fails the walk): the envelope, a stretch too long, a stop, an unreachable pose. */
const EXPECTED_REFUSALS = new Set(['OutsideEnvelope', 'TooFast', 'MotionCancelled', 'MotionNotCompleted']);

type Draw = { kind: 'envelope'; width: [number, number] } | { kind: 'call'; method: string; params: Record<string, unknown>; stopAfterMs?: number };

/** One step drawn from `r`. */
function draw(r: SeededRandom): Draw {
  const x = r.next();
  const yaw = (span: number): number => round(r.between(-span, span));
  if (x < 0.15) return { kind: 'envelope', width: [round(r.between(3, 70)), round(r.between(3, 70))] };
  if (x < 0.4) return { kind: 'call', method: 'look_at_world', params: { yaw: yaw(45), pitch: yaw(10), wait: true } };
  // A goto that does not name the body: the daemon starts the body from its present yaw.
  if (x < 0.45) return { kind: 'call', method: 'look_at_point', params: { x_m: 0.5, y_m: round(r.between(-4, 4)) / 10, z_m: 0, duration_s: round(r.between(0.5, 1.5)), wait: true } };
  if (x < 0.65) return { kind: 'call', method: 'set_body_yaw', params: { yaw_deg: yaw(130), duration_s: r.chance(0.5) ? 0 : round(r.between(0.5, 1.5)), wait: true } };
  if (x < 0.85) return { kind: 'call', method: 'goto_pose', params: { yaw: yaw(45), ...(r.chance(0.6) ? { body_yaw_deg: yaw(130) } : {}), duration_s: round(r.between(0.8, 2)), wait: true } };
  if (x < 0.9) return { kind: 'call', method: 'look_at_world', params: { yaw: yaw(45) }, stopAfterMs: Math.round(r.between(20, 300)) };
  return { kind: 'call', method: 'goto_pose', params: { yaw: yaw(45), body_yaw_deg: yaw(130), duration_s: round(r.between(0.8, 2)) }, stopAfterMs: Math.round(r.between(100, 1500)) };
}

// The two transports' scenes run side by side (this file runs alone: TIMED in vitest.config.ts;
// the checks read each tick's actual Δt, so a busier loop only loosens them); each one's steps in
// one test.
describe.concurrent('both transports', () => {
for (const transport of ['websocket', 'http']) describe(`transport ${transport}`, () => {
  let robot: BodyScene;
  beforeAll(async () => {
    robot = await startBodyScene(`body-walk-${transport}`, transport);
  }, 30_000);
  afterAll(async () => {
    await robot?.stop();
  });

  test(`${STEPS} seeded steps from seed ${SEED}: the body stays inside the envelope in force and under its speed limit; a refusal writes nothing`, async () => {
    const r = new SeededRandom(SEED);
    const drops = new SeededRandom(SEED + RECONNECT_SEED_OFFSET);
    let envelope: [number, number] = [-160, 160];
    await robot.setBodyEnvelope(...envelope);
    const log: string[] = [];
    const outcomes: Record<string, number> = {};
    for (let i = 0; i < STEPS; i++) {
      const step = draw(r);
      const record = robot.scene.driver.emulator!.motionRecord;
      record.clear();
      if (step.kind === 'envelope') {
        const at = robot.body();
        envelope = [round(Math.max(-160, at - step.width[0])), round(Math.min(160, at + step.width[1]))];
        await robot.setBodyEnvelope(...envelope);
        log.push(`${i}: body envelope [${envelope.join(', ')}] around ${round(at)}`);
        continue;
      }
      if (RECONNECTS > 0 && drops.chance(RECONNECTS)) {
        await robot.dropDaemonSockets();
        log.push(`${i}: the daemon's sockets dropped and the driver reconnected (body ${round(robot.body())})`);
        outcomes['sockets dropped'] = (outcomes['sockets dropped'] ?? 0) + 1;
      }
      const pending = robot.call(step.method, step.params);
      if (step.stopAfterMs !== undefined) {
        await new Promise((resolve) => setTimeout(resolve, step.stopAfterMs));
        expect((await robot.call('stop_motion')).result?.status).toBeDefined();
      }
      const reply = await pending;
      await new Promise((resolve) => setTimeout(resolve, 150));
      const tag = reply.error?.data?._tag as string | undefined;
      const outcome = `${step.method} ${tag ?? reply.result?.status}`;
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      log.push(`${i}: ${step.method} ${JSON.stringify(step.params)} → ${tag ?? reply.result?.status} (body ${round(robot.body())})`);
      const where = `\n${log.join('\n')}`;
      if (tag !== undefined) expect(EXPECTED_REFUSALS.has(tag), `${JSON.stringify(reply)}${where}`).toBe(true);
      // (A stop after it may write its hold.)
      if (tag === 'OutsideEnvelope' && step.stopAfterMs === undefined) expect([...record.targets, ...record.moves], where).toEqual([]);
      const outside = record.poses.map((p) => deg(p.bodyYaw)).filter((b) => b < envelope[0] - POSE_NOISE || b > envelope[1] + POSE_NOISE);
      expect(outside, `body outside [${envelope.join(', ')}]${where}`).toEqual([]);
      expect(excesses(record.poses), where).toEqual([]);
    }
    console.log(`body walk (${transport}, seed ${SEED}, ${STEPS} steps): ${JSON.stringify(outcomes)}`);
  }, 120_000 + STEPS * RECONNECTS * 5_000);
});
});

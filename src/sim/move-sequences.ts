// The daemon-side scripted moves `wake_up`, `goto_sleep` and `reset_to_sleep`, step for step as
// RM:src/reachy_mini/daemon/backend/abstract.py runs them (reachy-daemon-api.md §7; timings
// observed in §10.3: wake 2.30 s from boot, 2.08 s from sleep, 0.10 s when awake; sleep 4.01 s
// from init, 5.00 s when asleep). Owns the waits between the gotos; their poses, durations and
// thresholds are src/robot/daemon-poses.ts's, the gotos themselves played by robot-model.ts. A
// sequence aborted through its signal stops mid-step, where the robot is.
import { magicDistance, allClose } from '../robot/pose-math.ts';
import {
  FAR_FROM_INIT_MAGIC, INIT_ANTENNAS, INIT_HEAD_POSE, INIT_TARGET_ATOL, SECONDS_PER_MAGIC_UNIT, SEQUENCE_BODY_YAW, SLEEP_ANTENNAS,
  SLEEP_GOTO_DURATION_S, SLEEP_GOTO_INIT_S, SLEEP_HEAD_POSE, SLEEP_POSE_MAGIC_ATOL, WAKE_UP_ROLL_DURATION_S, WAKE_UP_ROLLED_HEAD_POSE,
} from '../robot/daemon-poses.ts';
import type { RobotModel } from './robot-model.ts';
import type { SimClock } from './sim-clock.ts';

export interface SequenceContext {
  readonly robot: RobotModel;
  readonly clock: SimClock;
  /** The daemon plays these asset names on its speaker (a no-op without media). */
  readonly playSound: (file: string) => void;
  readonly signal?: AbortSignal | undefined;
}

/** `wake_up` first waits this long before deciding anything (s). */
const WAKE_UP_SETTLE_S = 0.1;
/** Pause between reaching init and the wake-up emote (s). */
const WAKE_UP_PAUSE_S = 0.1;
/** Pause after `goto_sleep`'s goto to init (s). */
const SLEEP_PAUSE_AFTER_INIT_S = 0.2;
/** Wait before cutting torque (s); +3 s when already asleep, "so the sound plays fully". */
const SLEEP_SETTLE_S = 2;
const ALREADY_ASLEEP_EXTRA_S = 3;
/** `reset_to_sleep` lift to init: magic × 0.02 s clamped to [0.3, 1.5] s, then a 0.2 s pause. */
const RESET_LIFT_MIN_S = 0.3;
const RESET_LIFT_MAX_S = 1.5;
const RESET_PAUSE_S = 0.2;

function presentHead(ctx: SequenceContext) {
  return ctx.robot.snapshot().headPose;
}

/** Daemon `wake_up`: stands down when motors are on and the targets already sit at init. */
export async function wakeUp(ctx: SequenceContext): Promise<void> {
  const { robot, clock, signal } = ctx;
  await clock.sleep(WAKE_UP_SETTLE_S, signal);
  const targets = robot.targets();
  const awake =
    robot.motorMode === 'enabled'
    && allClose(targets.head, INIT_HEAD_POSE, INIT_TARGET_ATOL)
    && allClose(targets.antennas, INIT_ANTENNAS, INIT_TARGET_ATOL);
  if (awake) return;
  const duration = magicDistance(presentHead(ctx), INIT_HEAD_POSE) * SECONDS_PER_MAGIC_UNIT;
  await robot.goto({ head: INIT_HEAD_POSE, antennas: INIT_ANTENNAS, bodyYaw: SEQUENCE_BODY_YAW, duration, method: 'minjerk' }, signal);
  await clock.sleep(WAKE_UP_PAUSE_S, signal);
  ctx.playSound('wake_up.wav');
  await robot.goto({ head: WAKE_UP_ROLLED_HEAD_POSE, bodyYaw: SEQUENCE_BODY_YAW, duration: WAKE_UP_ROLL_DURATION_S, method: 'minjerk' }, signal);
  await robot.goto({ head: INIT_HEAD_POSE, bodyYaw: SEQUENCE_BODY_YAW, duration: WAKE_UP_ROLL_DURATION_S, method: 'minjerk' }, signal);
}

/** Daemon `goto_sleep`: (init,) sleep pose, settle, then motors **disabled**. */
export async function gotoSleep(ctx: SequenceContext): Promise<void> {
  const { robot, clock, signal } = ctx;
  const head = presentHead(ctx);
  let settle = SLEEP_SETTLE_S;
  if (magicDistance(head, SLEEP_HEAD_POSE) > SLEEP_POSE_MAGIC_ATOL) {
    if (magicDistance(head, INIT_HEAD_POSE) > FAR_FROM_INIT_MAGIC) {
      await robot.goto({ head: INIT_HEAD_POSE, antennas: INIT_ANTENNAS, bodyYaw: SEQUENCE_BODY_YAW, duration: SLEEP_GOTO_INIT_S, method: 'minjerk' }, signal);
      await clock.sleep(SLEEP_PAUSE_AFTER_INIT_S, signal);
    }
    ctx.playSound('go_sleep.wav');
    await robot.goto({ head: SLEEP_HEAD_POSE, antennas: SLEEP_ANTENNAS, bodyYaw: SEQUENCE_BODY_YAW, duration: SLEEP_GOTO_DURATION_S, method: 'minjerk' }, signal);
  } else {
    ctx.playSound('go_sleep.wav');
    settle += ALREADY_ASLEEP_EXTRA_S;
  }
  await clock.sleep(settle, signal);
  robot.setMotorMode('disabled');
}

/** `reset_to_sleep` (daemon stop with goto_sleep): torque on, lift to init, then `goto_sleep`. */
export async function resetToSleep(ctx: SequenceContext): Promise<void> {
  const { robot, clock, signal } = ctx;
  robot.setMotorMode('enabled');
  const lift = magicDistance(presentHead(ctx), INIT_HEAD_POSE) * SECONDS_PER_MAGIC_UNIT;
  const duration = Math.max(RESET_LIFT_MIN_S, Math.min(RESET_LIFT_MAX_S, lift));
  await robot.goto({ head: INIT_HEAD_POSE, antennas: INIT_ANTENNAS, bodyYaw: SEQUENCE_BODY_YAW, duration, method: 'minjerk' }, signal);
  await clock.sleep(RESET_PAUSE_S, signal);
  await gotoSleep(ctx);
}

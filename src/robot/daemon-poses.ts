// Named poses of the daemon backend (RM:src/reachy_mini/daemon/backend/abstract.py, quoted in
// reachy-daemon-api.md §7): the init (awake) pose, the sleep pose and the mockup's boot joints,
// and the durations and thresholds of the gotos its wake_up and goto_sleep run. Owns only these
// constants. The emulator's sequences play them (src/sim/move-sequences.ts); the driver checks the
// envelope (src/safety/sequence-poses.ts) and the speed limits (sequence-speed.ts) against them.
import type { Antennas } from '../protocol/daemon-wire-types.ts';
import { composePose, degToRad, IDENTITY4, type Mat4, rotationFromRpy } from './pose-math.ts';

/** Antenna joint angles `[right, left]`, radians (§5: the protocol order is right, left). */
export type { Antennas };

/** `INIT_HEAD_POSE`: head upright and centred. */
export const INIT_HEAD_POSE: Mat4 = IDENTITY4;
/** `INIT_ANTENNAS_JOINT_POSITIONS`: ~10° off vertical "to reduce shaking". */
export const INIT_ANTENNAS: Antennas = [-0.1745, 0.1745];
/** `SLEEP_HEAD_POSE` as written in the daemon (not exactly orthonormal; ~24.4° pitch down). */
export const SLEEP_HEAD_POSE: Mat4 = [
  0.911, 0.004, 0.413, -0.021,
  -0.004, 1.0, -0.001, 0.001,
  -0.413, -0.001, 0.911, -0.044,
  0, 0, 0, 1,
];
/** `wake_up`'s emote: the head rolls 20° (to the left) and back, at the init pose otherwise. */
export const WAKE_UP_ROLLED_HEAD_POSE: Mat4 = composePose(rotationFromRpy(degToRad(20), 0, 0), [0, 0, 0]);
/** Every goto of the daemon's sequences uses `goto_target`'s default body yaw: recentred to 0. */
export const SEQUENCE_BODY_YAW = 0;
/** `SLEEP_ANTENNAS_JOINT_POSITIONS`: folded back. */
export const SLEEP_ANTENNAS: Antennas = [-3.05, 3.05];
/** `SLEEP_HEAD_JOINT_POSITIONS`: the mockup's boot joints (FK: x −15.2, z −50.4 mm, pitch 30.8°). */
export const SLEEP_HEAD_JOINTS: readonly number[] = [
  0, -0.9848156658225817, 1.2624661884298831, -0.24390294527381684, 0.20555342557667577,
  -1.2363885150358267, 1.0032234352772091,
];

/** `wake_up` stands down when the targets sit at init within this (`INIT_TARGET_ATOL`, matrix and antennas). */
export const INIT_TARGET_ATOL = 0.01;
/** `wake_up`'s goto to init lasts this long per magic unit (mm + deg) of the head's distance: `magic_distance * 20 / 1000` s. */
export const SECONDS_PER_MAGIC_UNIT = 0.02;
/** `wake_up`'s roll goto and the goto back (s each). */
export const WAKE_UP_ROLL_DURATION_S = 0.2;
/** Within this many magic units of the sleep pose, `goto_sleep` moves nothing. */
export const SLEEP_POSE_MAGIC_ATOL = 10;
/** Farther than this from init, `goto_sleep` first goes to init ("thresholds found empirically"), in SLEEP_GOTO_INIT_S. */
export const FAR_FROM_INIT_MAGIC = 30;
export const SLEEP_GOTO_INIT_S = 1;
/** `goto_sleep`'s goto to the sleep pose (s). */
export const SLEEP_GOTO_DURATION_S = 2;

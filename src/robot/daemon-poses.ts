// Named poses of the daemon backend (RM:src/reachy_mini/daemon/backend/abstract.py, quoted in
// reachy-daemon-api.md §7): the init (awake) pose, the sleep pose and the mockup's boot joints.
// Owns only these constants. The emulator's sequences play them (src/sim/move-sequences.ts); the
// driver checks the envelope against them (src/safety/sequence-poses.ts).
import type { Antennas } from '../protocol/daemon-wire-types.ts';
import { degToRad, IDENTITY4, type Mat4 } from './pose-math.ts';

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
/** `wake_up`'s emote: the head rolls this far (to the left) and back, at the init pose otherwise. */
export const WAKE_UP_ROLL_RAD = degToRad(20);
/** Every goto of the daemon's sequences uses `goto_target`'s default body yaw: recentred to 0. */
export const SEQUENCE_BODY_YAW = 0;
/** `SLEEP_ANTENNAS_JOINT_POSITIONS`: folded back. */
export const SLEEP_ANTENNAS: Antennas = [-3.05, 3.05];
/** `SLEEP_HEAD_JOINT_POSITIONS`: the mockup's boot joints (FK: x −15.2, z −50.4 mm, pitch 30.8°). */
export const SLEEP_HEAD_JOINTS: readonly number[] = [
  0, -0.9848156658225817, 1.2624661884298831, -0.24390294527381684, 0.20555342557667577,
  -1.2363885150358267, 1.0032234352772091,
];

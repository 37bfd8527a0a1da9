// Head kinematics of the emulated robot: the daemon's analytical Stewart-platform IK (per-leg
// closed form, NaN = unreachable), a Newton FK built on it, and the only limits the daemon
// enforces — body yaw ±160° and head-vs-body yaw ±65° (reachy-daemon-api.md §6; the rule itself is
// src/robot/body-follow.ts, shared with the driver's checks). Geometry is
// RM:src/reachy_mini/assets/kinematics_data.json, maths is reachy_mini_rust_kinematics `b005fa5`.
// Owns no state and no timing (robot-model.ts); does not clamp pitch/roll/xyz, as the daemon
// does not: an IK with no real solution is reported as unreachable and the caller drops it.
import {
  composePose, type Mat4, mul4, rotationFromRotvec, rotationOf, rotZ, translationOf, degToRad,
  mul3, IDENTITY4,
} from '../robot/pose-math.ts';
import { MAX_BODY_YAW_RAD, MAX_RELATIVE_YAW_RAD, resolveBodyYaw } from '../robot/body-follow.ts';

/** Crank (motor arm) length, metres (kinematics_data.json `motor_arm_length`). */
const MOTOR_ARM_LENGTH = 0.04000000000000001;
/** Rod length, metres (kinematics_data.json `rod_length`). */
const ROD_LENGTH = 0.08499999999999995;
/** Base → head-centre height added before IK and removed after FK; API poses exclude it (§5). */
export const HEAD_Z_OFFSET = 0.177;
/** The daemon's yaw clamps, shared with the driver's checks (src/robot/body-follow.ts). */
export { MAX_BODY_YAW_RAD, MAX_RELATIVE_YAW_RAD, resolveBodyYaw };

interface Branch {
  /** `T_motor_world` of kinematics_data.json (the Rust code inverts the inverse it is given). */
  readonly motorFromWorld: Mat4;
  /** Anchor of the rod on the platform, platform frame. */
  readonly anchor: readonly [number, number, number];
  /** `solution` 0 → −1, 1 → +1: which of the two crank positions the leg uses. */
  readonly solution: 1 | -1;
}

const BRANCHES: readonly Branch[] = [
  {
    motorFromWorld: [
      0.8660247915798898, -0.5000010603626028, -2.298079077119539e-6, -0.009999848080267933,
      4.490195936008854e-6, 3.1810770986818273e-6, 0.999999999984859, -0.07663346037245178,
      -0.500001060347722, -0.8660247915770963, 4.999994360718464e-6, 0.03666015757925319,
      0, 0, 0, 1,
    ],
    anchor: [0.020648178337122566, 0.021763723638894568, 1.0345743467476964e-7],
    solution: -1,
  },
  {
    motorFromWorld: [
      -0.8660211183436269, 0.5000074225224785, 2.298069723064582e-6, -0.01000055227585102,
      -4.490219645842903e-6, -3.181063409649239e-6, -0.999999999984859, 0.07663346037219607,
      -0.5000074225075973, -0.8660211183408337, 5.00001124330122e-6, 0.03666008712637943,
      0, 0, 0, 1,
    ],
    anchor: [0.00852381571767217, 0.028763668526131346, 1.183437210727778e-7],
    solution: 1,
  },
  {
    motorFromWorld: [
      6.326794896519466e-6, 0.9999999999799852, -7.0550646912150425e-12, -0.009999884140839245,
      -1.0196153102346142e-6, 1.3505961633338446e-11, 0.9999999999994795, -0.07663346037438698,
      0.9999999999794655, -6.326794896940104e-6, 1.0196153098685706e-6, 0.036660683387545835,
      0, 0, 0, 1,
    ],
    anchor: [-0.029172011376922807, 0.0069999429399361995, 4.0290270064691214e-8],
    solution: -1,
  },
  {
    motorFromWorld: [
      -3.673205069955933e-6, -0.9999999999932537, -6.767968877969483e-14, -0.010000000000897517,
      1.0196153102837198e-6, -3.6775764393585005e-12, -0.9999999999994795, 0.0766334603742898,
      0.9999999999927336, -3.673205070385213e-6, 1.0196153102903487e-6, 0.03666065685180194,
      0, 0, 0, 1,
    ],
    anchor: [-0.029172040355214434, -0.0069999960097160766, -3.1608172912367394e-8],
    solution: 1,
  },
  {
    motorFromWorld: [
      -0.8660284647694133, -0.4999946981757419, 2.298079429767357e-6, -0.010000231529504576,
      4.490172883391843e-6, -3.1811099293773187e-6, 0.9999999999848591, -0.07663346037246624,
      -0.4999946981608617, 0.8660284647666201, 4.999994384073154e-6, 0.03666016059492482,
      0, 0, 0, 1,
    ],
    anchor: [0.008523809101930114, -0.028763713010385224, -1.4344916837716326e-7],
    solution: -1,
  },
  {
    motorFromWorld: [
      0.8660247915798897, 0.5000010603626025, -2.298069644866714e-6, -0.009999527331574583,
      -4.490196220318687e-6, 3.1810964558725514e-6, -0.9999999999848591, 0.07663346037272492,
      -0.500001060347722, 0.8660247915770967, 5.000011266610794e-6, 0.036660231042625266,
      0, 0, 0, 1,
    ],
    anchor: [0.020648186722822436, -0.02176369606185343, -8.957920105689965e-8],
    solution: 1,
  },
];

/** Newton FK: iterations before giving up (IK-based residual converges in 3–6 from nearby). */
const FK_MAX_ITERATIONS = 30;
/** Newton FK: joint residual (rad, L2) considered converged — far below motor resolution. */
const FK_TOLERANCE_RAD = 1e-11;
/** Newton FK: finite-difference step (m and rad) for the numerical Jacobian of the IK. */
const FK_JACOBIAN_STEP = 1e-7;
/** Newton FK: step halvings tried when a full step lands on an unreachable pose (as the Rust line search). */
const FK_LINE_SEARCH_HALVINGS = 16;
/** Newton FK: residual (rad) still accepted when the iterations run out — 0.06 mrad, below encoder resolution. */
const FK_ACCEPT_RAD = 1e-6;
/** Gaussian elimination: a pivot below this means the Jacobian is singular (a kinematic singularity). */
const SINGULAR_PIVOT = 1e-18;

function wrapAngle(angle: number): number {
  return angle - 2 * Math.PI * Math.floor((angle + Math.PI) / (2 * Math.PI));
}

function withHeadOffset(pose: Mat4): Mat4 {
  const m = [...pose];
  m[11] = (m[11] ?? 0) + HEAD_Z_OFFSET;
  return m;
}

/**
 * Crank angles of the six legs for a platform pose given in the base frame (head offset
 * included), with the base turned by `bodyYaw`. Entries are NaN where the leg cannot reach.
 */
function stewartJoints(platform: Mat4, bodyYaw: number): number[] {
  const target = mul4(composePose(rotZ(-bodyYaw), [0, 0, 0]), platform);
  const rs = MOTOR_ARM_LENGTH;
  const rp = ROD_LENGTH;
  return BRANCHES.map((branch) => {
    const p = mul4(mul4(branch.motorFromWorld, target), composePose(rotationOf(IDENTITY4), branch.anchor));
    const [px, py, pz] = translationOf(p);
    const x = px ** 2 + 2 * px * rs + py ** 2 + pz ** 2 - rp ** 2 + rs ** 2;
    const discriminant =
      -(px ** 4) - 2 * px ** 2 * py ** 2 - 2 * px ** 2 * pz ** 2 + 2 * px ** 2 * rp ** 2 + 2 * px ** 2 * rs ** 2
      - py ** 4 - 2 * py ** 2 * pz ** 2 + 2 * py ** 2 * rp ** 2 + 2 * py ** 2 * rs ** 2
      - pz ** 4 + 2 * pz ** 2 * rp ** 2 - 2 * pz ** 2 * rs ** 2
      - rp ** 4 + 2 * rp ** 2 * rs ** 2 - rs ** 4;
    const y = 2 * py * rs + branch.solution * Math.sqrt(discriminant);
    return wrapAngle(2 * Math.atan2(y, x));
  });
}

/** `[body_yaw, stewart_1..6]`, the daemon's head joint vector (§5). */
export type HeadJoints = readonly number[];

/**
 * Daemon IK (Analytical engine): the head joints for a world-frame head pose and a requested
 * body yaw, or `null` when the pose has no real solution ("Collision detected or head pose not
 * achievable!", the target is then dropped). With `automaticBodyYaw` off the body yaw is used
 * as given, unclamped (`set_automatic_body_yaw false`).
 */
export function inverseKinematics(headPose: Mat4, requestedBodyYaw: number, automaticBodyYaw = true): HeadJoints | null {
  if (!headPose.every(Number.isFinite) || !Number.isFinite(requestedBodyYaw)) return null;
  const bodyYaw = automaticBodyYaw ? resolveBodyYaw(headPose, requestedBodyYaw) : requestedBodyYaw;
  const legs = stewartJoints(withHeadOffset(headPose), bodyYaw);
  if (legs.some((v) => !Number.isFinite(v))) return null;
  return [bodyYaw, ...legs];
}

function jointResidual(pose: Mat4, bodyYaw: number, legs: readonly number[]): number[] | null {
  const solved = stewartJoints(withHeadOffset(pose), bodyYaw);
  if (solved.some((v) => !Number.isFinite(v))) return null;
  return solved.map((v, i) => wrapAngle(v - (legs[i] ?? 0)));
}

function perturb(pose: Mat4, delta: readonly number[]): Mat4 {
  const [x, y, z] = translationOf(pose);
  const rotation = mul3(rotationFromRotvec([delta[3] ?? 0, delta[4] ?? 0, delta[5] ?? 0]), rotationOf(pose));
  return composePose(rotation, [x + (delta[0] ?? 0), y + (delta[1] ?? 0), z + (delta[2] ?? 0)]);
}

/** Solves A·x = b (6×6) by Gaussian elimination with partial pivoting; null when singular. */
function solveLinear(a: number[][], b: number[]): number[] | null {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i] ?? 0]);
  for (let col = 0; col < n; col += 1) {
    let pivot = col;
    for (let r = col + 1; r < n; r += 1) if (Math.abs(m[r]?.[col] ?? 0) > Math.abs(m[pivot]?.[col] ?? 0)) pivot = r;
    const pivotRow = m[pivot];
    const colRow = m[col];
    if (!pivotRow || !colRow || Math.abs(pivotRow[col] ?? 0) < SINGULAR_PIVOT) return null;
    m[pivot] = colRow;
    m[col] = pivotRow;
    for (let r = 0; r < n; r += 1) {
      const row = m[r];
      if (r === col || !row) continue;
      const factor = (row[col] ?? 0) / (pivotRow[col] ?? 1);
      for (let c = col; c <= n; c += 1) row[c] = (row[c] ?? 0) - factor * (pivotRow[c] ?? 0);
    }
  }
  return m.map((row, i) => (row[n] ?? 0) / (row[i] ?? 1));
}

/**
 * FK: the world-frame head pose whose IK gives `joints` (body yaw taken as given), found by
 * Newton iterations from `guess`. Unlike the daemon's persistent 3-iteration solver it always
 * converges to the branch nearest the guess, so it never wedges (§6 FK caveat). Null if it fails.
 */
export function forwardKinematics(joints: HeadJoints, guess: Mat4): Mat4 | null {
  const bodyYaw = joints[0] ?? 0;
  const legs = joints.slice(1);
  if (legs.length !== 6 || !joints.every(Number.isFinite)) return null;
  let pose = guess;
  let residual = jointResidual(pose, bodyYaw, legs);
  if (!residual) return null;
  for (let iteration = 0; iteration < FK_MAX_ITERATIONS; iteration += 1) {
    const norm = Math.hypot(...residual);
    if (norm < FK_TOLERANCE_RAD) return pose;
    const jacobian: number[][] = residual.map(() => new Array<number>(6).fill(0));
    for (let k = 0; k < 6; k += 1) {
      const delta = new Array<number>(6).fill(0);
      delta[k] = FK_JACOBIAN_STEP;
      const shifted = jointResidual(perturb(pose, delta), bodyYaw, legs);
      if (!shifted) return null;
      shifted.forEach((v, i) => {
        const row = jacobian[i];
        if (row) row[k] = (v - (residual?.[i] ?? 0)) / FK_JACOBIAN_STEP;
      });
    }
    const step = solveLinear(jacobian, residual.map((v) => -v));
    if (!step) return null;
    let accepted = false;
    let scale = 1;
    for (let halving = 0; halving <= FK_LINE_SEARCH_HALVINGS && !accepted; halving += 1) {
      const candidate = perturb(pose, step.map((v) => v * scale));
      const next = jointResidual(candidate, bodyYaw, legs);
      if (next && Math.hypot(...next) < norm) {
        pose = candidate;
        residual = next;
        accepted = true;
      }
      scale /= 2;
    }
    if (!accepted) return null;
  }
  return Math.hypot(...residual) < FK_ACCEPT_RAD ? pose : null;
}

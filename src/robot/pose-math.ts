// Rigid-body maths shared by the driver and the emulated daemon: 3×3 rotations and 4×4 homogeneous poses (row-major
// flat arrays, as the daemon's `{"m":[16]}`), the extrinsic-xyz roll/pitch/yaw convention,
// rotation vectors, quaternions and the daemon's "magic distance" (reachy-daemon-api.md §5, §7).
// Owns no robot geometry (kinematics.ts) and no time laws (interpolation.ts). Pure functions.

/** Row-major 3×3 rotation matrix, 9 numbers. */
export type Mat3 = readonly number[];
/** Row-major 4×4 homogeneous transform, 16 numbers; translation at indices 3, 7, 11. */
export type Mat4 = readonly number[];
export type Vec3 = readonly [number, number, number];
/** Quaternion `[w, x, y, z]` (the only quaternion order on the daemon's wire, §5 IMU). */
export type Quat = readonly [number, number, number, number];

/** The daemon's `XYZRPYPose`: metres and radians, R = Rz(yaw)·Ry(pitch)·Rx(roll) (§5). */
export interface XyzRpyPose {
  readonly x: number;
  readonly y: number;
  readonly z: number;
  readonly roll: number;
  readonly pitch: number;
  readonly yaw: number;
}

export const IDENTITY3: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];
export const IDENTITY4: Mat4 = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

/** Below this |cos(pitch)| the roll/yaw split is degenerate (gimbal lock); yaw takes it all. */
const GIMBAL_LOCK_EPSILON = 1e-9;
/** Rotation angles below this are treated as zero when building axis-angle forms. */
const SMALL_ANGLE_EPSILON = 1e-12;

const at = (m: readonly number[], i: number): number => m[i] ?? 0;

export function mul3(a: Mat3, b: Mat3): Mat3 {
  const out: number[] = new Array<number>(9);
  for (let r = 0; r < 3; r += 1) {
    for (let c = 0; c < 3; c += 1) {
      out[r * 3 + c] = at(a, r * 3) * at(b, c) + at(a, r * 3 + 1) * at(b, 3 + c) + at(a, r * 3 + 2) * at(b, 6 + c);
    }
  }
  return out;
}

export function transpose3(a: Mat3): Mat3 {
  return [at(a, 0), at(a, 3), at(a, 6), at(a, 1), at(a, 4), at(a, 7), at(a, 2), at(a, 5), at(a, 8)];
}

export function mul4(a: Mat4, b: Mat4): Mat4 {
  const out: number[] = new Array<number>(16);
  for (let r = 0; r < 4; r += 1) {
    for (let c = 0; c < 4; c += 1) {
      let sum = 0;
      for (let k = 0; k < 4; k += 1) sum += at(a, r * 4 + k) * at(b, k * 4 + c);
      out[r * 4 + c] = sum;
    }
  }
  return out;
}

export function rotationOf(m: Mat4): Mat3 {
  return [at(m, 0), at(m, 1), at(m, 2), at(m, 4), at(m, 5), at(m, 6), at(m, 8), at(m, 9), at(m, 10)];
}

export function translationOf(m: Mat4): Vec3 {
  return [at(m, 3), at(m, 7), at(m, 11)];
}

export function composePose(rotation: Mat3, translation: Vec3): Mat4 {
  const [x, y, z] = translation;
  return [
    at(rotation, 0), at(rotation, 1), at(rotation, 2), x,
    at(rotation, 3), at(rotation, 4), at(rotation, 5), y,
    at(rotation, 6), at(rotation, 7), at(rotation, 8), z,
    0, 0, 0, 1,
  ];
}

export function rotZ(angle: number): Mat3 {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return [c, -s, 0, s, c, 0, 0, 0, 1];
}

/** R = Rz(yaw)·Ry(pitch)·Rx(roll): scipy `from_euler("xyz", [roll, pitch, yaw])` (extrinsic). */
export function rotationFromRpy(roll: number, pitch: number, yaw: number): Mat3 {
  const cr = Math.cos(roll);
  const sr = Math.sin(roll);
  const cp = Math.cos(pitch);
  const sp = Math.sin(pitch);
  const cy = Math.cos(yaw);
  const sy = Math.sin(yaw);
  return [
    cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr,
    sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr,
    -sp, cp * sr, cp * cr,
  ];
}

/** Inverse of {@link rotationFromRpy}: `[roll, pitch, yaw]`, scipy `as_euler("xyz")`. */
export function rpyFromRotation(r: Mat3): Vec3 {
  const sinPitch = Math.max(-1, Math.min(1, -at(r, 6)));
  const pitch = Math.asin(sinPitch);
  if (Math.abs(Math.cos(pitch)) > GIMBAL_LOCK_EPSILON) {
    return [Math.atan2(at(r, 7), at(r, 8)), pitch, Math.atan2(at(r, 3), at(r, 0))];
  }
  return [0, pitch, Math.atan2(-at(r, 1), at(r, 4))];
}

export function poseFromXyzRpy(p: XyzRpyPose): Mat4 {
  return composePose(rotationFromRpy(p.roll, p.pitch, p.yaw), [p.x, p.y, p.z]);
}

export function xyzRpyFromPose(m: Mat4): XyzRpyPose {
  const [x, y, z] = translationOf(m);
  const [roll, pitch, yaw] = rpyFromRotation(rotationOf(m));
  return { x, y, z, roll, pitch, yaw };
}

/** Shepperd's method; the result is normalised, so a slightly skewed matrix maps to a rotation. */
export function quatFromRotation(r: Mat3): Quat {
  const m00 = at(r, 0), m01 = at(r, 1), m02 = at(r, 2);
  const m10 = at(r, 3), m11 = at(r, 4), m12 = at(r, 5);
  const m20 = at(r, 6), m21 = at(r, 7), m22 = at(r, 8);
  const trace = m00 + m11 + m22;
  let w: number, x: number, y: number, z: number;
  if (trace > 0) {
    const s = Math.sqrt(trace + 1) * 2;
    w = s / 4; x = (m21 - m12) / s; y = (m02 - m20) / s; z = (m10 - m01) / s;
  } else if (m00 > m11 && m00 > m22) {
    const s = Math.sqrt(1 + m00 - m11 - m22) * 2;
    w = (m21 - m12) / s; x = s / 4; y = (m01 + m10) / s; z = (m02 + m20) / s;
  } else if (m11 > m22) {
    const s = Math.sqrt(1 + m11 - m00 - m22) * 2;
    w = (m02 - m20) / s; x = (m01 + m10) / s; y = s / 4; z = (m12 + m21) / s;
  } else {
    const s = Math.sqrt(1 + m22 - m00 - m11) * 2;
    w = (m10 - m01) / s; x = (m02 + m20) / s; y = (m12 + m21) / s; z = s / 4;
  }
  const norm = Math.hypot(w, x, y, z);
  const sign = w < 0 ? -1 : 1;
  return [(sign * w) / norm, (sign * x) / norm, (sign * y) / norm, (sign * z) / norm];
}

export function rotationFromQuat(q: Quat): Mat3 {
  const [w, x, y, z] = q;
  return [
    1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
    2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
    2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
  ];
}

/** Nearest proper rotation (scipy's `Rotation.from_matrix` does the same before any use). */
export function orthonormalize(r: Mat3): Mat3 {
  return rotationFromQuat(quatFromRotation(r));
}

export function orthonormalizePose(m: Mat4): Mat4 {
  return composePose(orthonormalize(rotationOf(m)), translationOf(m));
}

/** Rodrigues: rotation of |v| radians about v/|v|. */
export function rotationFromRotvec(v: Vec3): Mat3 {
  const angle = Math.hypot(v[0], v[1], v[2]);
  if (angle < SMALL_ANGLE_EPSILON) return IDENTITY3;
  const half = angle / 2;
  const s = Math.sin(half) / angle;
  return rotationFromQuat([Math.cos(half), v[0] * s, v[1] * s, v[2] * s]);
}

export function rotvecFromRotation(r: Mat3): Vec3 {
  const [w, x, y, z] = quatFromRotation(r);
  const sinHalf = Math.hypot(x, y, z);
  if (sinHalf < SMALL_ANGLE_EPSILON) return [0, 0, 0];
  const angle = 2 * Math.atan2(sinHalf, w);
  const k = angle / sinHalf;
  return [x * k, y * k, z * k];
}

/** Angle (rad) of P·Qᵀ, via the trace, clamped like the daemon's `delta_angle_between_mat_rot`. */
export function angleBetween(p: Mat3, q: Mat3): number {
  const rel = mul3(p, transpose3(q));
  const cos = (at(rel, 0) + at(rel, 4) + at(rel, 8) - 1) / 2;
  return Math.acos(Math.max(-1, Math.min(1, cos)));
}

/** "Magic" distance: translation in mm plus rotation in degrees (RM:utils/interpolation.py). */
export function magicDistance(a: Mat4, b: Mat4): number {
  const [ax, ay, az] = translationOf(a);
  const [bx, by, bz] = translationOf(b);
  const translationMm = Math.hypot(ax - bx, ay - by, az - bz) * 1000;
  const rotationDeg = (angleBetween(rotationOf(a), rotationOf(b)) * 180) / Math.PI;
  return translationMm + rotationDeg;
}

/** Nested 4×4 list, the shape of `head_pose` pushes on `/ws/sdk` (§2). */
export function nestedRows(m: Mat4): number[][] {
  return [0, 1, 2, 3].map((r) => [at(m, r * 4), at(m, r * 4 + 1), at(m, r * 4 + 2), at(m, r * 4 + 3)]);
}

export function allClose(a: readonly number[], b: readonly number[], atol: number): boolean {
  return a.length === b.length && a.every((v, i) => Math.abs(v - at(b, i)) <= atol);
}

export const degToRad = (deg: number): number => (deg * Math.PI) / 180;
export const radToDeg = (rad: number): number => (rad * 180) / Math.PI;

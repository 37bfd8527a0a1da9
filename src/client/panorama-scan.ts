// A panorama scan over the mesh: the reference's `capture_panorama_scan` (reference-driver.md §6.1:
// home, body steps → pitches → head yaws, drift checks, one capture per pose) through the driver's
// RPCs, with §12 item 18's fixes: moves sent with `wait: true`, the lease held for the whole scan,
// and an abort (Ctrl-C) that stops the robot and keeps what was taken. Each pose commands the body to
// its step b and the head to world yaw b + y (the daemon keeps the head in the world frame,
// reachy-daemon-api.md §5), skipping poses outside the advertised ranges. Owns the sequence and the
// frame records; not argv (panorama-command.ts), the plan (panorama-plan.ts) nor images and files.
import type { JsonObject } from './device-record.ts';
import type { InvokeResult } from './mesh-client.ts';
import { MECHANICAL_POSE_RANGES, planScan, skippedPosesWarning, type PlannedPose, type PoseRanges, type ScanPlan } from './panorama-plan.ts';
import { wrapDeg } from './panorama-projection.ts';
import { pictureSignature, signatureDistance, STABLE_PICTURE_DIFF } from './picture-stability.ts';
import { isRecord } from '../protocol/json-object.ts';

/** One device call: what MeshClient.invoke answers (injected, so tests can fake the device). */
export type DeviceCall = (fn: string, params: JsonObject) => Promise<InvokeResult>;

export interface PanoramaScanOptions {
  readonly yawSteps: readonly number[];
  readonly pitchSteps: readonly number[];
  readonly bodyYawSteps: readonly number[];
  readonly bodyMoveDurationS: number;
  readonly rollDeg: number;
  readonly settleS: number;
  readonly encoding: 'jpeg' | 'thumbnail';
  readonly maxEdge?: number | undefined;
  readonly quality?: number | undefined;
  readonly owner: string;
  readonly alignHeadHomeAtStart: boolean;
  /** Undefined: max(settleS, 0.35), as the reference. */
  readonly homeSettleS?: number | undefined;
  readonly verifyBodyPose: boolean;
  readonly bodyDriftToleranceDeg: number;
  /** What the device accepts (its advertised ranges: the safety envelope); undefined: the driver's mechanical ranges. */
  readonly ranges?: PoseRanges | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((event: ScanProgress) => void) | undefined;
}

/** Head steps of the reference (§6.1 step 4): yaws relative to the body step, pitches clamped to these. */
export const HEAD_YAW_LIMIT_DEG = 45;
export const HEAD_PITCH_LIMIT_DEG = 30;
/** ±2.8 rad: the body range the reference's full-range body steps span (§6.2 `default_body_yaw_steps`). */
export const BODY_YAW_FULL_RANGE_DEG = (2.8 * 180) / Math.PI;
/** Body range of `default_body_yaw_steps(full_range=False)`. */
export const BODY_YAW_SHORT_RANGE_DEG = 120;
/** The reference's home settle floor (§6.1 `home_settle_s`). */
export const HOME_SETTLE_FLOOR_S = 0.35;
/**
 * The lease a scan holds, renewed every LEASE_RENEW_MS: long enough that a slow capture never
 * lets it lapse, short enough that a scan killed without cleanup frees the robot within 10 s.
 */
export const SCAN_LEASE_TTL_S = 10;
export const LEASE_RENEW_MS = 3_000;
/** The smallest max_age_ms capture_video_frame takes (src/media/frame-freshness.ts FRAME_AGE_RANGE). */
const MIN_FRAME_AGE_MS = 50;
/** How long a frame may wait for a picture at rest: a camera seconds behind (a loaded machine) still gets there. */
const STABLE_TIMEOUT_MS = 5_000;
/** Between two compared pictures: a few camera frames apart, so a picture still in motion shows it. */
const STABLE_GAP_MS = 100;
/** Wait before asking again when the camera has no picture new enough yet. */
const FRESH_FRAME_RETRY_MS = 50;
/** A head further than this from its target did not get there (an unreachable pose the daemon dropped). */
export const HEAD_REACH_TOLERANCE_DEG = 1;

/** Defaults of the library function (§6.1 table). */
export const LIBRARY_DEFAULTS = {
  bodyMoveDurationS: 0.5,
  rollDeg: 0,
  settleS: 0.35,
  encoding: 'jpeg',
  owner: 'panorama',
  alignHeadHomeAtStart: true,
  verifyBodyPose: true,
  bodyDriftToleranceDeg: 3.0,
} as const;

/** `count` evenly spaced values over [lo, hi] (one value: the middle). */
export function linspace(lo: number, hi: number, count: number): number[] {
  if (count <= 1) return [(lo + hi) / 2];
  return Array.from({ length: count }, (_, i) => lo + ((hi - lo) * i) / (count - 1));
}

export const defaultYawSteps = (count = 5): number[] => linspace(-HEAD_YAW_LIMIT_DEG, HEAD_YAW_LIMIT_DEG, count);
export const defaultPitchSteps = (count = 3): number[] => linspace(-HEAD_PITCH_LIMIT_DEG, HEAD_PITCH_LIMIT_DEG, count);
/** §6.2: fewer than 2 → [0]; else a linspace over ±160.43° (or ±120°). */
export function defaultBodyYawSteps(count = 3, fullRange = true): number[] {
  if (count < 2) return [0];
  const range = fullRange ? BODY_YAW_FULL_RANGE_DEG : BODY_YAW_SHORT_RANGE_DEG;
  return linspace(-range, range, count);
}

/** §6.2 `recommended_steps_for_360(overlap_deg=15)`: (body count, head count) = (6, 4). */
export function recommendedStepsFor360(overlapDeg = 15): { bodySteps: number; headSteps: number } {
  const bodyStride = Math.max(10, 90 - overlapDeg);
  const headStride = Math.max(10, bodyStride / 2);
  return {
    bodySteps: Math.max(3, Math.ceil((2 * BODY_YAW_FULL_RANGE_DEG) / bodyStride) + 1),
    headSteps: Math.max(3, Math.ceil((2 * HEAD_YAW_LIMIT_DEG) / headStride) + 1),
  };
}

/** A call's outcome as the reference's `unwrap_invoke_response` shapes it: the result object, or `{status:"error", reason, tag}`. */
export type CallReply = Record<string, unknown>;

export interface PanoramaFrame {
  readonly index: number;
  readonly bodyYawDeg: number;
  readonly pitchDeg: number;
  /** The head step, relative to the body step (the reference's `yaw`). */
  readonly yawDeg: number;
  /** The head's world yaw commanded: body step + head step. */
  readonly worldYawCommandedDeg: number;
  readonly rollDeg: number;
  readonly look: CallReply;
  /** The capture reply without its picture (`data_b64`). */
  readonly capture: CallReply;
  readonly jpeg: Buffer | null;
  readonly bodyYawCommandedDeg: number;
  readonly bodyYawObservedDeg: number | null;
  readonly bodyDriftAfterMoveDeg: number | null;
  readonly bodyDriftAfterLookDeg: number | null;
  /** The head's pose when the frame was taken (world frame; observed from get_joints, else the commanded one). */
  readonly head: { readonly yawDeg: number; readonly pitchDeg: number; readonly rollDeg: number; readonly observed: boolean };
  /** The head's world yaw (the head pose is in the world frame): where the frame looks. */
  readonly worldYawDeg: number;
  readonly ok: boolean;
  /** Time of the move (answered when done) and of the capture, ms. */
  readonly lookMs: number;
  readonly captureMs: number;
}

export type ScanProgress =
  | { readonly kind: 'start'; readonly total: number }
  | { readonly kind: 'frame'; readonly done: number; readonly total: number; readonly frame: PanoramaFrame }
  | { readonly kind: 'warning'; readonly message: string }
  | { readonly kind: 'end'; readonly done: number; readonly total: number; readonly aborted: boolean };

export interface PanoramaScanResult {
  readonly frames: readonly PanoramaFrame[];
  readonly plannedFrames: number;
  /** The plan's poses outside the device's ranges, not taken. */
  readonly skippedPoses: readonly PlannedPose[];
  /** The ranges the plan was bounded by. */
  readonly ranges: PoseRanges;
  readonly bodyDriftWarnings: readonly string[];
  readonly warnings: readonly string[];
  readonly aborted: boolean;
  /** Why the scan could not start or had to end (lease refused, robot unreachable); null otherwise. */
  readonly failure: string | null;
  /** The daemon's `camera_specs_name` (for the intrinsics), '' when unknown. */
  readonly cameraSpecsName: string;
  readonly startedAt: string;
  readonly durationS: number;
  /** Whether the lease was released at the end (false when it could not be). */
  readonly leaseReleased: boolean;
  readonly encoding: string;
  readonly owner: string;
}

/** §6.3 `unwrap_invoke_response`, with the error's stable tag kept. */
export function unwrap(result: InvokeResult): CallReply {
  if (!result.ok) {
    const data = result.error._tag === 'RpcError' && isRecord(result.error.data) ? result.error.data : {};
    const tag = typeof data['_tag'] === 'string' ? data['_tag'] : result.error._tag;
    return { status: 'error', reason: result.error.message, tag, ...(isRecord(data) ? { data } : {}) };
  }
  return isRecord(result.value) ? result.value : { status: 'success', result: result.value };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

function bodyYawOf(reply: CallReply): number | null {
  if (typeof reply['yaw_deg'] === 'number') return reply['yaw_deg'];
  if (typeof reply['yaw_rad'] === 'number') return (reply['yaw_rad'] * 180) / Math.PI;
  return null;
}

const clamp = (value: number, limit: number) => Math.max(-limit, Math.min(limit, value));

/** A move is done when its reply says so: `completed` with wait, `accepted`/`already_*` otherwise (the reference's `accepted`). */
export function moveSucceeded(reply: CallReply): boolean {
  return reply['status'] === 'completed' || reply['status'] === 'accepted' || reply['status'] === 'already_awake';
}

class ScanRun {
  readonly #call: DeviceCall;
  readonly #o: PanoramaScanOptions;
  readonly frames: PanoramaFrame[] = [];
  readonly bodyDriftWarnings: string[] = [];
  readonly warnings: string[] = [];
  readonly plan: ScanPlan;
  readonly planned: number;
  #lock: number | null = null;
  #renewTimer: NodeJS.Timeout | null = null;
  #stop: Promise<CallReply> | null = null;
  readonly #onAbort = () => void this.stopMotion();
  cameraSpecsName = '';

  constructor(call: DeviceCall, options: PanoramaScanOptions) {
    this.#call = call;
    this.#o = options;
    this.plan = planScan(options, options.ranges ?? MECHANICAL_POSE_RANGES);
    this.planned = this.plan.poses.length;
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** Ctrl-C: stop_motion at once (a move in flight ends now, not when it would have finished); sent once. */
  stopMotion(): Promise<CallReply> {
    this.#stop ??= this.call('stop_motion', { owner: this.#o.owner });
    return this.#stop;
  }

  get aborted(): boolean {
    return this.#o.signal?.aborted === true;
  }

  async call(fn: string, params: JsonObject): Promise<CallReply> {
    return unwrap(await this.#call(fn, params));
  }

  warn(message: string, drift = false): void {
    (drift ? this.bodyDriftWarnings : this.warnings).push(message);
    this.#o.onProgress?.({ kind: 'warning', message });
  }

  /** Takes the lease (refused: the scan does not start), renews it while the scan runs, reads the camera and wakes the robot if asleep. */
  async begin(): Promise<string | null> {
    const lease = await this.call('acquire_lease', { owner: this.#o.owner, ttl_s: SCAN_LEASE_TTL_S });
    if (lease['status'] === 'error') return `could not take the motion lease: ${String(lease['reason'])}`;
    this.#renewTimer = setInterval(() => void this.call('acquire_lease', { owner: this.#o.owner, ttl_s: SCAN_LEASE_TTL_S }), LEASE_RENEW_MS);
    const status = await this.call('get_status', {});
    const daemon = isRecord(status['daemon']) && isRecord(status['daemon']['status']) ? status['daemon']['status'] : {};
    this.cameraSpecsName = typeof daemon['camera_specs_name'] === 'string' ? daemon['camera_specs_name'] : '';
    const driverState = isRecord(status['driver_state']) ? status['driver_state'] : {};
    if (driverState['power_state'] === 'asleep') {
      this.warn('the robot was asleep: woken up for the scan');
      const woke = await this.call('wake_up', { owner: this.#o.owner, wait: true });
      if (!moveSucceeded(woke)) return `could not wake the robot: ${String(woke['reason'])}`;
    }
    return null;
  }

  async readBodyYaw(): Promise<number | null> {
    return bodyYawOf(await this.call('get_body_yaw', {}));
  }

  async home(): Promise<void> {
    const o = this.#o;
    if (o.alignHeadHomeAtStart) {
      await this.call('look_at_world', { pitch: 0, roll: o.rollDeg, yaw: 0, owner: o.owner, wait: true });
      await sleep((o.homeSettleS ?? Math.max(o.settleS, HOME_SETTLE_FLOOR_S)) * 1000, o.signal);
      if (o.verifyBodyPose) this.#lock = await this.readBodyYaw();
    }
  }

  /** set_body_yaw with wait; a speed-limit refusal is retried once at the shortest allowed duration. */
  async moveBody(yawDeg: number): Promise<void> {
    const o = this.#o;
    const params = { yaw_deg: yawDeg, duration_s: o.bodyMoveDurationS, owner: o.owner, wait: true };
    let reply = await this.call('set_body_yaw', params);
    const data = isRecord(reply['data']) ? reply['data'] : {};
    if (reply['tag'] === 'TooFast' && typeof data['shortest_duration_s'] === 'number') {
      this.warn(`body move to ${yawDeg.toFixed(1)}° needs ${data['shortest_duration_s']} s under the speed limit (asked ${o.bodyMoveDurationS} s)`);
      reply = await this.call('set_body_yaw', { ...params, duration_s: data['shortest_duration_s'] });
    }
    if (!moveSucceeded(reply)) this.warn(`body move to ${yawDeg.toFixed(1)}° failed: ${String(reply['reason'])}`);
    await sleep(o.settleS * 1000, o.signal);
  }

  /** Turns the body to its step (also the only step, 0: a body left elsewhere would turn every view) and checks where it went. */
  async bodyStep(commanded: number): Promise<number | null> {
    const o = this.#o;
    await this.moveBody(commanded);
    if (!o.verifyBodyPose) return null;
    const observed = await this.readBodyYaw();
    if (observed !== null) {
      const drift = Math.abs(wrapDeg(commanded - observed));
      if (drift > o.bodyDriftToleranceDeg) this.warn(`body move to ${signed(commanded, 1)}° observed ${signed(observed, 1)}° (drift ${drift.toFixed(1)}°)`, true);
      this.#lock = observed;
    } else this.#lock = commanded;
    return Math.abs(wrapDeg(commanded - this.#lock));
  }

  /** The present head pose (world frame, degrees) and body yaw, from get_joints; nulls when not reported. */
  async readPose(): Promise<{ head: { roll: number; pitch: number; yaw: number } | null; bodyYaw: number | null }> {
    const joints = await this.call('get_joints', {});
    const pose = isRecord(joints['head_pose']) ? joints['head_pose'] : null;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    const head = pose && num(pose['yaw']) !== null && num(pose['pitch']) !== null ? { roll: num(pose['roll']) ?? 0, pitch: num(pose['pitch'])!, yaw: num(pose['yaw'])! } : null;
    return { head, bodyYaw: num(joints['body_yaw_deg']) };
  }

  /**
   * A picture of the head at rest: captures (received at least `settle_s` after the move's reply,
   * the camera pipeline's latency allowance) until two successive pictures agree
   * (picture-stability.ts), since the newest picture can still be one taken during the move.
   * After STABLE_TIMEOUT_MS: the last picture received after the move, or the last answer, with a warning.
   */
  async captureAfter(doneAt: number, label: string): Promise<CallReply> {
    const o = this.#o;
    const params = { encoding: o.encoding, ...(o.maxEdge === undefined ? {} : { max_edge: o.maxEdge }), ...(o.quality === undefined ? {} : { quality: o.quality }) };
    let freshFrom = doneAt + o.settleS * 1000;
    let previous: { signature: Uint8Array; capturedAt: unknown; reply: CallReply } | null = null;
    let reply: CallReply = {};
    const deadline = freshFrom + STABLE_TIMEOUT_MS;
    while (performance.now() < deadline && !this.aborted) {
      const wait = freshFrom + MIN_FRAME_AGE_MS - performance.now();
      if (wait > 0) await sleep(wait, o.signal);
      reply = await this.call('capture_video_frame', { ...params, max_age_ms: Math.max(MIN_FRAME_AGE_MS, Math.floor(performance.now() - freshFrom)) });
      if (reply['tag'] === 'FrameTooOld') {
        await sleep(FRESH_FRAME_RETRY_MS, o.signal);
        continue;
      }
      if (reply['status'] !== 'success' || typeof reply['data_b64'] !== 'string') return reply;
      if (previous && reply['captured_at'] === previous.capturedAt) continue;
      const signature = await pictureSignature(Buffer.from(reply['data_b64'], 'base64'));
      if (previous && signatureDistance(previous.signature, signature) < STABLE_PICTURE_DIFF) return reply;
      previous = { signature, capturedAt: reply['captured_at'], reply };
      freshFrom = performance.now() + STABLE_GAP_MS - MIN_FRAME_AGE_MS;
    }
    if (!this.aborted) this.warn(`${label}: no picture at rest within ${STABLE_TIMEOUT_MS / 1000} s (the camera is slow or the view keeps changing); the last picture taken after the move is used`);
    // The last picture received after the move (not checked against a second one) beats none.
    return previous?.reply ?? reply;
  }

  async pose(planned: PlannedPose, driftAfterMove: number | null): Promise<PanoramaFrame> {
    const o = this.#o;
    const commanded = planned.bodyYawDeg;
    const pitch = clamp(planned.pitchDeg, HEAD_PITCH_LIMIT_DEG);
    const yaw = planned.worldYawDeg;
    const before = o.verifyBodyPose ? await this.readBodyYaw() : null;
    const lookStart = performance.now();
    const look = await this.call('look_at_world', { pitch, roll: o.rollDeg, yaw, owner: o.owner, wait: true });
    const doneAt = performance.now();
    await sleep(o.settleS * 1000, o.signal);
    const present = await this.readPose();
    const after = o.verifyBodyPose ? present.bodyYaw : null;
    let driftAfterLook: number | null = null;
    if (before !== null && after !== null) {
      driftAfterLook = Math.abs(wrapDeg(before - after));
      if (driftAfterLook > o.bodyDriftToleranceDeg) {
        this.warn(`head look pitch=${signed(pitch, 0)} yaw=${signed(yaw, 0)} moved body ${signed(before, 1)}° → ${signed(after, 1)}° (Δ${driftAfterLook.toFixed(1)}°)`, true);
        this.#lock = after;
      }
    }
    const head = present.head ?? { roll: o.rollDeg, pitch, yaw };
    if (present.head && Math.max(Math.abs(wrapDeg(head.yaw - yaw)), Math.abs(head.pitch - pitch)) > HEAD_REACH_TOLERANCE_DEG) {
      this.warn(`head look pitch=${signed(pitch, 0)} yaw=${signed(yaw, 0)} reached pitch ${signed(head.pitch, 1)} yaw ${signed(head.yaw, 1)} (the daemon could not reach the target); the frame is placed where the head was`);
    }
    const captureStart = performance.now();
    const capture = await this.captureAfter(doneAt, `frame ${this.frames.length} (pitch ${signed(pitch, 0)} yaw ${signed(yaw, 0)})`);
    const captureMs = performance.now() - captureStart;
    const { data_b64: data, ...captureMeta } = capture;
    const jpeg = capture['status'] === 'success' && typeof data === 'string' ? Buffer.from(data, 'base64') : null;
    const reference = this.#lock ?? commanded;
    return {
      index: this.frames.length,
      bodyYawDeg: after ?? reference,
      pitchDeg: pitch,
      yawDeg: planned.headStepDeg,
      worldYawCommandedDeg: yaw,
      rollDeg: o.rollDeg,
      head: { yawDeg: wrapDeg(head.yaw), pitchDeg: head.pitch, rollDeg: head.roll, observed: present.head !== null },
      look,
      capture: captureMeta,
      jpeg,
      bodyYawCommandedDeg: commanded,
      bodyYawObservedDeg: after ?? reference,
      bodyDriftAfterMoveDeg: driftAfterMove,
      bodyDriftAfterLookDeg: driftAfterLook,
      worldYawDeg: wrapDeg(head.yaw),
      ok: jpeg !== null && moveSucceeded(look),
      lookMs: doneAt - lookStart,
      captureMs,
    };
  }

  /** After the last frame or an abort: stop motion if aborted, stop renewing, give the lease back. */
  async end(): Promise<boolean> {
    if (this.#renewTimer) clearInterval(this.#renewTimer);
    this.#renewTimer = null;
    this.#o.signal?.removeEventListener('abort', this.#onAbort);
    if (this.aborted) await this.stopMotion();
    const released = await this.call('release_lease', { owner: this.#o.owner });
    return released['status'] !== 'error';
  }
}

function signed(value: number, digits: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
}

/** Runs the scan; never throws for a device-side failure (those are in the frames, warnings or `failure`). */
export async function capturePanoramaScan(call: DeviceCall, options: PanoramaScanOptions): Promise<PanoramaScanResult> {
  const run = new ScanRun(call, options);
  const started = Date.now();
  options.onProgress?.({ kind: 'start', total: run.planned });
  let failure: string | null = null;
  let leaseReleased = false;
  try {
    failure = await run.begin();
    if (failure === null) await sweep(run, options);
  } finally {
    leaseReleased = await run.end().catch(() => false);
  }
  options.onProgress?.({ kind: 'end', done: run.frames.length, total: run.planned, aborted: run.aborted });
  return {
    frames: run.frames,
    plannedFrames: run.planned,
    skippedPoses: run.plan.skipped,
    ranges: run.plan.ranges,
    bodyDriftWarnings: run.bodyDriftWarnings,
    warnings: run.warnings,
    aborted: run.aborted,
    failure,
    cameraSpecsName: run.cameraSpecsName,
    startedAt: new Date(started).toISOString(),
    durationS: (Date.now() - started) / 1000,
    leaseReleased,
    encoding: options.encoding,
    owner: options.owner,
  };
}

async function sweep(run: ScanRun, options: PanoramaScanOptions): Promise<void> {
  const skipped = skippedPosesWarning(run.plan);
  if (skipped) run.warn(skipped);
  if (run.plan.poses.length === 0) return;
  await run.home();
  // Body yaws in plan order (a clamped pose keeps the body under its head, so it may add one); a
  // body step with no pose left is not moved to.
  for (const body of new Set(run.plan.poses.map((p) => p.bodyYawDeg))) {
    const poses = run.plan.poses.filter((p) => p.bodyYawDeg === body);
    if (run.aborted) return;
    const driftAfterMove = await run.bodyStep(body);
    for (const pose of poses) {
      if (run.aborted) return;
      const frame = await run.pose(pose, driftAfterMove);
      run.frames.push(frame);
      options.onProgress?.({ kind: 'frame', done: run.frames.length, total: run.planned, frame });
    }
  }
}

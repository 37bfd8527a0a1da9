// The panorama's command line and scan sequence against a scripted device (no broker): the
// reference CLI's defaults (reference-driver.md §6.3) and --full-360, usage errors, the order of
// calls (lease, home, body step, wait:true look, pose read, captures until two agree, release), a speed-limit
// refusal of a body move retried at the shortest allowed duration, body drift warnings, an abort
// that stops the robot and releases the lease, the world-yaw coverage of §6.2, and the plan on the
// daemon's world-frame head: the body to its step, the head to world yaw body + head step, poses
// outside the advertised ranges skipped with one warning.
import sharp from 'sharp';
import { beforeAll, describe, expect, test } from 'vitest';
import { parsePanoramaArgs, PanoramaUsageError, splitPanoramaArgv } from '../../src/client/panorama-args.ts';
import { BODY_YAW_FULL_RANGE_DEG, capturePanoramaScan, type DeviceCall, type PanoramaScanOptions } from '../../src/client/panorama-scan.ts';
import { worldYawCoverage } from '../../src/client/panorama-manifest.ts';
import { advertisedPoseRanges, MECHANICAL_POSE_RANGES, planScan, skippedPosesWarning, type PoseRanges } from '../../src/client/panorama-plan.ts';
import type { DeviceFunction } from '../../src/client/device-record.ts';
import type { InvokeResult } from '../../src/client/mesh-client.ts';
import { RpcError } from '../../src/client/errors.ts';

describe('command line', () => {
  test('the reference CLI defaults: 5 yaws × 3 pitches × 5 body yaws, settle 0.5 s, body move 0.8 s, jpeg 640 q82', () => {
    const { output, waitTimeoutS, scan } = parsePanoramaArgs([]);
    expect([output, waitTimeoutS]).toEqual(['./panorama-out', 60]);
    expect(scan.yawSteps).toEqual([-45, -22.5, 0, 22.5, 45]);
    expect(scan.pitchSteps).toEqual([-30, 0, 30]);
    expect(scan.bodyYawSteps).toHaveLength(5);
    expect(scan.bodyYawSteps[0]).toBeCloseTo(-BODY_YAW_FULL_RANGE_DEG, 6);
    expect(scan).toMatchObject({ settleS: 0.5, bodyMoveDurationS: 0.8, encoding: 'jpeg', maxEdge: 640, quality: 82, owner: 'panorama', alignHeadHomeAtStart: true, verifyBodyPose: true, bodyDriftToleranceDeg: 3 });
  });

  test('--full-360 is 6 body steps × 4 head yaws; --body-yaw-steps 1 keeps the body at 0', () => {
    const full = parsePanoramaArgs(['--full-360']).scan;
    expect([full.bodyYawSteps.length, full.yawSteps.length]).toEqual([6, 4]);
    expect(parsePanoramaArgs(['--body-yaw-steps', '1']).scan.bodyYawSteps).toEqual([0]);
    expect(parsePanoramaArgs(['--no-verify-body', '--no-align-head-home', '--home-settle-s', '0.2']).scan).toMatchObject({ verifyBodyPose: false, alignHeadHomeAtStart: false, homeSettleS: 0.2 });
  });

  test('bad values are usage errors (exit 2)', () => {
    for (const argv of [['--yaw-steps', '1'], ['--encoding', 'raw'], ['--quality', '0'], ['--settle-s', 'soon'], ['--owner', 'a b'], ['--bogus']]) {
      expect(() => parsePanoramaArgs(argv), argv.join(' ')).toThrow(PanoramaUsageError);
    }
  });

  test('the panorama flags are split from the connection flags', () => {
    expect(splitPanoramaArgv(['robot-1', '--yaw-steps', '3', '--tenant', 'lab', '--output=out', '--full-360', '--json'])).toEqual({
      own: ['--yaw-steps', '3', '--output=out', '--full-360'],
      rest: ['robot-1', '--tenant', 'lab', '--json'],
    });
  });
});

/** A real (tiny, grey) JPEG: the scan compares successive pictures before taking one. */
let JPEG_B64 = '';
beforeAll(async () => {
  JPEG_B64 = (await sharp({ create: { width: 8, height: 6, channels: 3, background: '#808080' } }).jpeg().toBuffer()).toString('base64');
});

/** A scripted device: answers like the driver, records every call. */
function fakeDevice(options: { bodyYawAfterLook?: number; tooFastOnce?: boolean; leaseHeld?: boolean; onCall?: (fn: string) => void } = {}) {
  const calls: { fn: string; params: Record<string, unknown> }[] = [];
  let bodyYaw = 0;
  let tooFast = options.tooFastOnce ?? false;
  const ok = (value: unknown): InvokeResult => ({ ok: true, value, requestId: 'r' });
  const refuse = (tag: string, data: Record<string, unknown> = {}): InvokeResult => ({ ok: false, requestId: 'r', error: new RpcError({ message: tag, code: -32000, data: { _tag: tag, ...data }, subject: 's', method: 'm' }) });
  const call: DeviceCall = async (fn, params) => {
    calls.push({ fn, params });
    options.onCall?.(fn);
    switch (fn) {
      case 'acquire_lease':
        return options.leaseHeld ? refuse('LeaseHeld') : ok({ status: 'acquired' });
      case 'get_status':
        return ok({ daemon: { status: { camera_specs_name: 'wireless' } }, driver_state: { power_state: 'awake' } });
      case 'set_body_yaw':
        if (tooFast) {
          tooFast = false;
          return refuse('TooFast', { shortest_duration_s: 1.6 });
        }
        bodyYaw = params['yaw_deg'] as number;
        return ok({ status: 'completed' });
      case 'look_at_world':
        if (options.bodyYawAfterLook !== undefined && params['yaw'] !== 0) bodyYaw = options.bodyYawAfterLook;
        return ok({ status: 'completed' });
      case 'get_body_yaw':
        return ok({ status: 'success', yaw_deg: bodyYaw });
      case 'get_joints':
        return ok({ status: 'success', body_yaw_deg: bodyYaw, head_pose: null });
      case 'capture_video_frame':
        return ok({ status: 'success', width: 8, height: 6, data_b64: JPEG_B64, captured_at: new Date(Date.now() + calls.length).toISOString() });
      default:
        return ok({ status: 'stopped' });
    }
  };
  return { call, calls };
}

/** A device whose envelope allows any head world yaw (what an operator would set for a 360° scan). */
const WIDE: PoseRanges = { headYaw: { min: -180, max: 180 }, headPitch: { min: -30, max: 30 }, bodyYaw: MECHANICAL_POSE_RANGES.bodyYaw, source: 'advertised' };

const OPTIONS: PanoramaScanOptions = {
  yawSteps: [-45, 45], pitchSteps: [0], bodyYawSteps: [0], bodyMoveDurationS: 0.5, rollDeg: 0, settleS: 0,
  encoding: 'jpeg', maxEdge: 640, quality: 82, owner: 'panorama', alignHeadHomeAtStart: true, homeSettleS: 0, verifyBodyPose: true, bodyDriftToleranceDeg: 3,
};

describe('scan sequence', () => {
  test('lease, status, home, the body to its only step (0) and read, then per pose: body read, wait:true look, pose read, two agreeing captures; release at the end', async () => {
    const device = fakeDevice();
    const scan = await capturePanoramaScan(device.call, OPTIONS);
    expect(device.calls.map((c) => c.fn)).toEqual([
      'acquire_lease', 'get_status', 'look_at_world', 'get_body_yaw', 'set_body_yaw', 'get_body_yaw',
      'get_body_yaw', 'look_at_world', 'get_joints', 'capture_video_frame', 'capture_video_frame',
      'get_body_yaw', 'look_at_world', 'get_joints', 'capture_video_frame', 'capture_video_frame',
      'release_lease',
    ]);
    expect(device.calls[4]!.params).toMatchObject({ yaw_deg: 0, owner: 'panorama', wait: true });
    expect(device.calls[7]!.params).toMatchObject({ yaw: -45, pitch: 0, owner: 'panorama', wait: true });
    expect(device.calls[9]!.params).toMatchObject({ encoding: 'jpeg', max_edge: 640, quality: 82 });
    expect(device.calls[9]!.params['max_age_ms']).toBeGreaterThanOrEqual(50);
    expect(scan).toMatchObject({ aborted: false, failure: null, leaseReleased: true, cameraSpecsName: 'wireless', plannedFrames: 2 });
    expect(scan.frames.map((f) => [f.worldYawDeg, f.ok, f.head.observed])).toEqual([[-45, true, false], [45, true, false]]);
  });

  test('a body move refused as too fast is retried at the shortest allowed duration, with a warning', async () => {
    const device = fakeDevice({ tooFastOnce: true });
    const scan = await capturePanoramaScan(device.call, { ...OPTIONS, bodyYawSteps: [-60, 60], yawSteps: [0], ranges: WIDE });
    const moves = device.calls.filter((c) => c.fn === 'set_body_yaw').map((c) => [c.params['yaw_deg'], c.params['duration_s'], c.params['wait']]);
    expect(moves).toEqual([[-60, 0.5, true], [-60, 1.6, true], [60, 0.5, true]]);
    expect(scan.warnings.some((w) => w.includes('1.6 s'))).toBe(true);
    expect(scan.bodyDriftWarnings).toEqual([]);
  });

  test('a look that moves the body past the tolerance is a body drift warning', async () => {
    const device = fakeDevice({ bodyYawAfterLook: 20 });
    const scan = await capturePanoramaScan(device.call, OPTIONS);
    expect(scan.bodyDriftWarnings[0]).toMatch(/head look pitch=\+0 yaw=-45 moved body \+0\.0° → \+20\.0°/);
    expect(scan.frames[0]!.bodyDriftAfterLookDeg).toBe(20);
  });

  test('the lease held by someone else: nothing moves, the scan says why', async () => {
    const device = fakeDevice({ leaseHeld: true });
    const scan = await capturePanoramaScan(device.call, OPTIONS);
    expect(scan.failure).toMatch(/lease/);
    expect(scan.frames).toEqual([]);
    expect(device.calls.some((c) => c.fn === 'look_at_world')).toBe(false);
  });

  test('an abort mid-scan sends stop_motion at once, ends the sweep and releases the lease', async () => {
    const abort = new AbortController();
    let captures = 0;
    const device = fakeDevice({ onCall: (fn) => fn === 'capture_video_frame' && ++captures === 1 && abort.abort() });
    const scan = await capturePanoramaScan(device.call, { ...OPTIONS, yawSteps: [-45, 0, 45], signal: abort.signal });
    const fns = device.calls.map((c) => c.fn);
    expect(fns.filter((f) => f === 'stop_motion')).toHaveLength(1);
    expect(fns.at(-1)).toBe('release_lease');
    expect(fns.filter((f) => f === 'look_at_world').length).toBe(2);
    expect(scan).toMatchObject({ aborted: true, leaseReleased: true });
    expect(scan.frames).toHaveLength(1);
  });
});

describe('world yaw coverage (§6.2)', () => {
  const frame = (worldYawDeg: number) => ({ worldYawDeg, ok: true }) as never;
  test('18 frames 20° apart cover the ring; fewer than two frames cover nothing', () => {
    expect(worldYawCoverage(Array.from({ length: 18 }, (_, i) => frame(i * 20)))).toMatchObject({ sample_count: 18, span_deg: 340, largest_gap_deg: 20, likely_full_360: true, world_yaw_model: 'body_plus_head_world_frame' });
    expect(worldYawCoverage([frame(10)])).toMatchObject({ sample_count: 1, span_deg: 0, largest_gap_deg: 360, likely_full_360: false });
    expect(worldYawCoverage([frame(-45), frame(45)])).toMatchObject({ span_deg: 90, largest_gap_deg: 270 });
  });
});

describe('the plan on the world-frame head (body step + head step)', () => {
  const FULL = parsePanoramaArgs(['--full-360', '--pitch-steps', '1']).scan;

  test('ranges come from the advertised schemas (the envelope); none advertised: the mechanical ones', () => {
    const fn = (name: string, properties: Record<string, unknown>): DeviceFunction => ({ name, description: '', parameters: { type: 'object', properties }, labels: null, tags: [] });
    const ranges = advertisedPoseRanges([fn('look_at_world', { yaw: { minimum: -30, maximum: 20 }, pitch: { minimum: -10, maximum: 30 } }), fn('set_body_yaw', { yaw_deg: { minimum: -90, maximum: 90 } })]);
    expect(ranges).toEqual({ headYaw: { min: -30, max: 20 }, headPitch: { min: -10, max: 30 }, bodyYaw: { min: -90, max: 90 }, source: 'advertised' });
    expect(advertisedPoseRanges([])).toBe(MECHANICAL_POSE_RANGES);
  });

  test('a head yaw range of ±180°: --full-360 commands the body to b, then the head to world yaw b + y; the frames cover the ring', async () => {
    const device = fakeDevice();
    const scan = await capturePanoramaScan(device.call, { ...OPTIONS, ...FULL, settleS: 0, ranges: WIDE });
    expect(scan.skippedPoses).toEqual([]);
    expect(scan.warnings.filter((w) => w.includes('skipped'))).toEqual([]);
    expect(scan.frames).toHaveLength(24);
    const moves = device.calls.filter((c) => c.fn === 'set_body_yaw' || c.fn === 'look_at_world').slice(1);
    for (const [b, body] of FULL.bodyYawSteps.entries()) {
      const group = moves.slice(b * 5, b * 5 + 5);
      expect(group[0]).toMatchObject({ fn: 'set_body_yaw', params: { yaw_deg: body, wait: true } });
      const yaws = group.slice(1).map((c) => c.params['yaw'] as number);
      expect(group.slice(1).every((c) => c.fn === 'look_at_world' && c.params['wait'] === true)).toBe(true);
      FULL.yawSteps.forEach((y, i) => expect(yaws[i]).toBeCloseTo(((((body + y + 180) % 360) + 360) % 360) - 180, 9));
    }
    // The reference's 6 × 4 plan leaves 30° between some frame centres (its own 25° rule says "not
    // likely full"; the 87.6° field of view still covers the ring); 6 body × 5 head steps pass the rule.
    expect(worldYawCoverage(scan.frames)).toMatchObject({ sample_count: 24, largest_gap_deg: 30, likely_full_360: false });
    const five = planScan(parsePanoramaArgs(['--body-yaw-steps', '6', '--yaw-steps', '5', '--pitch-steps', '1']).scan, WIDE);
    expect(worldYawCoverage(five.poses.map((p) => ({ worldYawDeg: p.worldYawDeg, ok: true }) as never))).toMatchObject({ sample_count: 30, likely_full_360: true });
  });

  test('the mechanical ±45°: --full-360 keeps the 4 poses inside, looks at the range edges for the rest (body kept under the head), skips repeated views, and says once why', async () => {
    const device = fakeDevice();
    const scan = await capturePanoramaScan(device.call, { ...OPTIONS, ...FULL, settleS: 0 });
    expect(scan.skippedPoses).toHaveLength(18);
    expect(scan.frames.map((f) => Math.round(f.worldYawDeg * 10) / 10)).toEqual([45, -45, -17.1, 12.9, -12.9, 17.1]);
    expect(device.calls.filter((c) => c.fn === 'look_at_world').every((c) => Math.abs(c.params['yaw'] as number) <= 45)).toBe(true);
    expect(device.calls.filter((c) => c.fn === 'set_body_yaw').map((c) => Math.round(c.params['yaw_deg'] as number))).toEqual([-15, -105, -32, 32]);
    const skipped = scan.warnings.filter((w) => w.includes('skipped'));
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatch(/2 poses look at the nearest edge of the head-yaw range instead, 18 of 24 are skipped/);
    expect(skipped[0]).toMatch(/head yaw -45°…45°/);
    expect(skipped[0]).toMatch(/world yaw -45°…45°/);
    expect(skipped[0]).toMatch(/already the driver's mechanical head-yaw range/);
  });

  test('a narrower envelope: the warning says how the operator widens it', () => {
    const narrow: PoseRanges = { ...MECHANICAL_POSE_RANGES, headYaw: { min: -30, max: 30 }, source: 'advertised' };
    const plan = planScan({ bodyYawSteps: [-40, 0, 40], pitchSteps: [0], yawSteps: [-45, 0, 45] }, narrow);
    // -40 - 45 = -85 and 0 + 45 = 45 look at the range's edges (body within 60° of the head); the rest repeat a view.
    expect(plan.poses.map((p) => [p.bodyYawDeg, p.headStepDeg, p.worldYawDeg])).toEqual([[-40, -45, -30], [-40, 45, 5], [0, 0, 0], [0, 45, 30], [40, -45, -5]]);
    const warning = skippedPosesWarning(plan)!;
    expect(warning).toMatch(/2 poses look at the nearest edge of the head-yaw range instead, 4 of 9 are skipped/);
    expect(warning).toMatch(/head yaw -30°…30°/);
    expect(warning).toMatch(/--envelope FILE or the settings file's safety_envelope \(axis head_yaw_deg\)/);
  });
});

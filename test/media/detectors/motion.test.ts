// Motion: a static 720p scene with fresh per-byte sensor noise must not read as motion (the
// reference's byte-difference metric reads ≈1.0 on the same frames); a bright square moving across
// it gives exactly one motion_detected and, after it stops and the release frames pass, exactly one
// motion_ended, with ts from the injected clock and seq increasing. Also: first frame, resolution
// changes, auto-exposure steps, pixel formats, malformed frames, and a fast-check property.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  downsampleLuma,
  MOTION_ATTACK_FRAMES,
  MOTION_DEFAULT_THRESHOLD,
  MOTION_RELEASE_FRAMES,
  MotionDetector,
  type MotionEvent,
  type PixelFormat,
  type VideoFrame,
} from '../../../src/media/detectors/motion.ts';
import { NoisyCamera, referenceByteDelta } from './signals.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const FRAME_MS = 33;
const at = (frame: number) => T0 + frame * FRAME_MS;
const iso = (frame: number) => new Date(at(frame)).toISOString();
const SENSOR_SIGMA = 5;

describe('sensor noise is not motion', () => {
  test('100 frames of a static noisy 720p scene: no event, magnitude far below the threshold; the reference reads ≈1.0', () => {
    const camera = new NoisyCamera(11, SENSOR_SIGMA);
    const detector = new MotionDetector();
    const events: MotionEvent[] = [];
    const magnitudes: number[] = [];
    const reference: number[] = [];
    let previous: VideoFrame | null = null;
    for (let i = 0; i < 100; i++) {
      const frame = camera.frame();
      const e = detector.update(frame, at(i));
      if (e !== null) events.push(e);
      if (previous !== null) {
        magnitudes.push(detector.measure().magnitude);
        reference.push(referenceByteDelta(previous.data, frame.data));
      }
      previous = frame;
    }
    expect(events).toEqual([]);
    const m = detector.measure();
    expect(m.state).toBe('inactive');
    expect(m.grid_width).toBe(80);
    expect(m.grid_height).toBe(45);
    expect(m.confidence).toBe(1);
    // Box-averaging 256 px leaves a tiny frame-to-frame σ; the per-cell threshold is the floor.
    expect(m.noise_sigma).toBeGreaterThan(0);
    expect(m.noise_sigma).toBeLessThan(0.75);
    expect(m.pixel_threshold).toBe(3);
    expect(Math.max(...magnitudes)).toBeLessThan(MOTION_DEFAULT_THRESHOLD / 20);
    // The reference's metric on the same frames: nearly every byte differs.
    const referenceMean = reference.reduce((a, b) => a + b, 0) / reference.length;
    expect(Math.min(...reference)).toBeGreaterThan(0.9);
    expect(referenceMean).toBeGreaterThan(0.9);
  });

  test('a much noisier sensor (σ = 20) raises the per-cell threshold instead of reading as motion', () => {
    const camera = new NoisyCamera(12, 20, 640, 360);
    const detector = new MotionDetector();
    for (let i = 0; i < 40; i++) expect(detector.update(camera.frame(), at(i))).toBeNull();
    const m = detector.measure();
    expect(m.magnitude).toBeLessThan(MOTION_DEFAULT_THRESHOLD / 10);
    expect(m.noise_sigma).toBeGreaterThan(0.75);
  });

  test('an auto-exposure step (every pixel +25) is a global shift, not motion', () => {
    const camera = new NoisyCamera(13, SENSOR_SIGMA, 640, 360);
    const detector = new MotionDetector();
    for (let i = 0; i < 10; i++) detector.update(camera.frame(), at(i));
    for (let i = 10; i < 20; i++) expect(detector.update(camera.frame(undefined, i % 2 === 0 ? 25 : 0), at(i))).toBeNull();
    expect(detector.measure().magnitude).toBeLessThan(MOTION_DEFAULT_THRESHOLD / 10);
    expect(Math.abs(detector.measure().global_shift)).toBeGreaterThan(15);
  });
});

describe('a moving object', () => {
  test('one motion_detected when it starts moving, one motion_ended after it stops and the release frames pass', () => {
    const camera = new NoisyCamera(21, SENSOR_SIGMA);
    const detector = new MotionDetector();
    const START = 20; // first frame at a new position
    const MOVES = 24; // 40 px per frame: x = 0 … 960
    const events: MotionEvent[] = [];
    const during: number[] = [];
    for (let i = 0; i < 80; i++) {
      const x = Math.min(Math.max(i - START + 1, 0), MOVES) * 40;
      const e = detector.update(camera.frame({ x, y: 200, side: 320, level: 245 }), at(i));
      if (e !== null) events.push(e);
      if (i >= START && i < START + MOVES) during.push(detector.measure().magnitude);
    }
    expect(Math.min(...during)).toBeGreaterThan(MOTION_DEFAULT_THRESHOLD);
    expect(events).toHaveLength(2);
    const [on, off] = events as [MotionEvent, MotionEvent];
    expect(on).toMatchObject({ kind: 'motion_detected', source: 'camera', state: 'active', threshold: 0.02, release_threshold: 0.01, seq: 1 });
    expect(on.ts).toBe(iso(START + MOTION_ATTACK_FRAMES - 1));
    expect(on.magnitude).toBeGreaterThan(0.02);
    expect(off).toMatchObject({ kind: 'motion_ended', source: 'camera', state: 'inactive', seq: 2 });
    // Last moving frame: START + MOVES − 1; then MOTION_RELEASE_FRAMES still frames.
    expect(off.ts).toBe(iso(START + MOVES - 1 + MOTION_RELEASE_FRAMES));
    expect(off.magnitude).toBeLessThan(0.01);
    for (const e of events) {
      expect(e.confidence).toBeGreaterThan(0.5);
      expect(e.confidence).toBeLessThanOrEqual(1);
    }
    expect(detector.measure().state).toBe('inactive');
  });

  test('confidence is higher for a larger moving area', () => {
    const run = (side: number) => {
      const camera = new NoisyCamera(22, SENSOR_SIGMA, 640, 360);
      const detector = new MotionDetector();
      let detected: MotionEvent | null = null;
      for (let i = 0; i < 8; i++) detected ??= detector.update(camera.frame({ x: i * 24, y: 20, side, level: 245 }), at(i));
      return { detected, measured: detector.measure() };
    };
    const small = run(96);
    const large = run(300);
    expect(small.detected?.kind).toBe('motion_detected');
    expect(large.detected?.kind).toBe('motion_detected');
    expect(large.detected!.confidence).toBeGreaterThan(small.detected!.confidence);
    expect(large.measured.confidence).toBeGreaterThan(small.measured.confidence);
  });
});

describe('baselines and inputs', () => {
  const flat = (width: number, height: number, format: PixelFormat, value: number): VideoFrame => {
    const channels = format === 'gray' ? 1 : format === 'rgb' || format === 'bgr' ? 3 : 4;
    return { width, height, format, data: new Uint8Array(width * height * channels).fill(value) };
  };

  test('the first frame sets the baseline: no event, inactive, magnitude 0', () => {
    const detector = new MotionDetector();
    expect(detector.update(flat(64, 48, 'gray', 0), at(0))).toBeNull();
    expect(detector.measure()).toMatchObject({ magnitude: 0, state: 'inactive', frames: 1, grid_width: 64, grid_height: 48 });
  });

  test('a resolution change resets the baseline instead of reading as motion', () => {
    const detector = new MotionDetector({ attackFrames: 1 });
    const small = new NoisyCamera(31, SENSOR_SIGMA, 640, 360);
    const large = new NoisyCamera(32, SENSOR_SIGMA, 1280, 720);
    for (let i = 0; i < 5; i++) expect(detector.update(small.frame(), at(i))).toBeNull();
    expect(detector.update(large.frame({ x: 0, y: 0, side: 700, level: 255 }), at(5))).toBeNull();
    expect(detector.measure()).toMatchObject({ magnitude: 0, grid_width: 80, grid_height: 45 });
    expect(detector.update(large.frame({ x: 0, y: 0, side: 700, level: 255 }), at(6))).toBeNull();
    // Once the new baseline is set, real change is seen again.
    expect(detector.update(large.frame(), at(7))?.kind).toBe('motion_detected');
  });

  test('luma: gray, RGB, BGR and RGBA frames of the same scene give the same grid', () => {
    const w = 32;
    const h = 16;
    const rgb = new Uint8Array(w * h * 3);
    const bgr = new Uint8Array(w * h * 3);
    const rgba = new Uint8Array(w * h * 4);
    const gray = new Uint8Array(w * h);
    for (let p = 0; p < w * h; p++) {
      const [r, g, b] = [(p * 7) % 256, (p * 13) % 256, (p * 29) % 256];
      rgb.set([r, g, b], p * 3);
      bgr.set([b, g, r], p * 3);
      rgba.set([r, g, b, 255], p * 4);
      gray[p] = 0.299 * r + 0.587 * g + 0.114 * b;
    }
    const a = downsampleLuma({ width: w, height: h, format: 'rgb', data: rgb }, 8)!;
    const b = downsampleLuma({ width: w, height: h, format: 'bgr', data: bgr }, 8)!;
    const c = downsampleLuma({ width: w, height: h, format: 'rgba', data: rgba }, 8)!;
    const d = downsampleLuma({ width: w, height: h, format: 'gray', data: gray }, 8)!;
    expect([a.width, a.height, a.cell]).toEqual([8, 4, 4]);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    expect(Array.from(c.data)).toEqual(Array.from(a.data));
    a.data.forEach((v, i) => expect(Math.abs(v - d.data[i]!)).toBeLessThan(1)); // gray bytes were truncated
  });

  test('malformed frames are counted and ignored; the baseline survives', () => {
    const detector = new MotionDetector();
    detector.update(flat(16, 16, 'rgb', 10), at(0));
    const bad: VideoFrame[] = [
      { width: 16, height: 16, format: 'rgb', data: new Uint8Array(10) },
      { width: 0, height: 16, format: 'gray', data: new Uint8Array(256) },
      { width: 1.5, height: 2, format: 'gray', data: new Uint8Array(256) },
      { width: 4, height: 4, format: 'yuv' as PixelFormat, data: new Uint8Array(256) },
    ];
    for (const f of bad) expect(detector.update(f, at(1))).toBeNull();
    expect(detector.measure()).toMatchObject({ frames: 1, rejected_frames: 4 });
    detector.update(flat(16, 16, 'rgb', 10), at(2));
    expect(detector.measure().magnitude).toBe(0);
  });

  test('a uniform brightness change (a light switching on) is not motion; a local one is', () => {
    const detector = new MotionDetector({ attackFrames: 1 });
    detector.update(flat(16, 16, 'gray', 0), at(0));
    expect(detector.update(flat(16, 16, 'gray', 200), at(1))).toBeNull();
    const half = flat(16, 16, 'gray', 200);
    half.data.fill(90, 0, 16 * 6);
    expect(detector.update(half, at(2))?.kind).toBe('motion_detected');
    expect(detector.measure().magnitude).toBeCloseTo(6 / 16, 6);
  });

  test('reset() while active ends motion once and forgets the baseline', () => {
    const detector = new MotionDetector({ attackFrames: 1 });
    detector.update(flat(16, 16, 'gray', 0), at(0));
    const changed = flat(16, 16, 'gray', 0);
    changed.data.fill(200, 0, 16 * 4);
    expect(detector.update(changed, at(1))?.kind).toBe('motion_detected');
    expect(detector.reset(at(2))).toMatchObject({ kind: 'motion_ended', seq: 2, ts: iso(2) });
    expect(detector.reset(at(3))).toBeNull();
    expect(detector.update(flat(16, 16, 'gray', 0), at(4))).toBeNull();
  });
});

describe('property', () => {
  const formats: PixelFormat[] = ['gray', 'rgb', 'bgr', 'rgba', 'bgra'];
  const channels = { gray: 1, rgb: 3, bgr: 3, rgba: 4, bgra: 4 } as const;
  const shapeArb = fc.record({
    width: fc.integer({ min: -2, max: 24 }),
    height: fc.integer({ min: -2, max: 18 }),
    format: fc.constantFrom(...formats),
  });
  const contentArb = fc.record({
    shape: fc.nat({ max: 5 }), // mostly the first shapes: same-size runs, with occasional size changes
    fill: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constant(-1), fc.constant(-1)), // −1: random bytes
    seed: fc.integer(),
    shortBy: fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 50 })),
  });
  type Shape = { width: number; height: number; format: PixelFormat };
  type Content = { shape: number; fill: number; seed: number; shortBy: number };
  const toFrame = (shapes: Shape[], c: Content): VideoFrame => {
    const { width, height, format } = shapes[Math.min(c.shape, shapes.length - 1) % shapes.length]!;
    const size = Math.max(0, Math.max(0, width) * Math.max(0, height) * channels[format] - c.shortBy);
    const data = new Uint8Array(size);
    let s = c.seed >>> 0;
    for (let i = 0; i < size; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      data[i] = c.fill >= 0 ? c.fill : s >>> 24;
    }
    return { width, height, format, data };
  };
  const framesArb = fc
    .tuple(
      fc.array(shapeArb, { minLength: 1, maxLength: 3 }),
      fc.array(fc.tuple(contentArb, fc.double({ min: -1e17, max: 1e17, noNaN: true })), { maxLength: 40 }),
    )
    .map(([shapes, contents]) => contents.map(([c, now]) => [toFrame(shapes, c), now] as const));

  test('never throws on arbitrary frames; events alternate detected/ended with increasing seq and ts', () => {
    let transitions = 0;
    fc.assert(
      fc.property(
        framesArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        (frames, threshold, attackFrames, releaseFrames) => {
          const detector = new MotionDetector({ threshold, attackFrames, releaseFrames });
          const events: MotionEvent[] = [];
          for (const [frame, now] of frames) {
            const e = detector.update(frame, now);
            if (e !== null) events.push(e);
            const m = detector.measure();
            expect(m.magnitude).toBeGreaterThanOrEqual(0);
            expect(m.magnitude).toBeLessThanOrEqual(1);
            expect(m.confidence).toBeGreaterThanOrEqual(0);
            expect(m.confidence).toBeLessThanOrEqual(1);
          }
          const last = detector.reset(0);
          if (last !== null) events.push(last);
          transitions += events.length;
          events.forEach((e, i) => {
            expect(e.kind).toBe(i % 2 === 0 ? 'motion_detected' : 'motion_ended');
            expect(e.seq).toBe(i + 1);
            expect(Number.isNaN(Date.parse(e.ts))).toBe(false);
            if (i > 0) expect(Date.parse(e.ts)).toBeGreaterThanOrEqual(Date.parse(events[i - 1]!.ts));
          });
          expect(detector.measure().state).toBe('inactive');
        },
      ),
      { numRuns: 200, seed: 20260101 },
    );
    expect(transitions).toBeGreaterThan(50);
  });
});

// Audio activity: calibrated noise floor, attack/release hysteresis, one event per state change with
// ts from the injected clock and a per-detector seq, measure() on demand, confidence in the reported
// state. Signals are deterministic (seeded noise, exact tones), fed in 20 ms chunks like a microphone.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  AUDIO_ATTACK_MS,
  AUDIO_RELEASE_MS,
  AudioActivityDetector,
  type AudioEvent,
  NOISE_MARGIN,
} from '../../../src/media/detectors/audio-activity.ts';
import { addSine, msToSamples, noise, SAMPLE_RATE, seededGaussian } from './signals.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const CHUNK = msToSamples(20);

/** Pushes `signal` chunk by chunk; `nowMs` = capture time of the newest sample; drains every update. */
function feed(detector: AudioActivityDetector, signal: Float32Array, clock: { samples: number }): AudioEvent[] {
  const events: AudioEvent[] = [];
  for (let i = 0; i < signal.length; i += CHUNK) {
    const chunk = signal.subarray(i, Math.min(signal.length, i + CHUNK));
    detector.push(chunk);
    clock.samples += chunk.length;
    const now = T0 + (clock.samples * 1000) / SAMPLE_RATE;
    for (let e = detector.update(now); e !== null; e = detector.update(now)) events.push(e);
  }
  return events;
}

const iso = (ms: number) => new Date(T0 + ms).toISOString();

describe('noise floor calibration', () => {
  test('quiet silence calibrates the floor and never fires', () => {
    const d = new AudioActivityDetector();
    const events = feed(d, noise(seededGaussian(1), 0.001, msToSamples(3000)), { samples: 0 });
    expect(events).toEqual([]);
    const m = d.measure();
    expect(m.calibrated).toBe(true);
    expect(m.state).toBe('inactive');
    expect(m.noise_floor).toBeGreaterThan(0.0009);
    expect(m.noise_floor).toBeLessThan(0.0011);
    expect(m.threshold).toBe(0.05); // the floor × margin (0.003) is below the configured 0.05
    expect(m.release_threshold).toBe(0.025);
    expect(m.rms).toBeCloseTo(0.001, 3);
    expect(m.confidence).toBe(1); // 50× below the threshold: certainly inactive
  });

  test('loud steady noise raises the threshold instead of reading as activity', () => {
    // The reference (rms >= 0.02) would report "active" on every call for this room.
    const d = new AudioActivityDetector({ threshold: 0.02 });
    const events = feed(d, noise(seededGaussian(2), 0.04, msToSamples(4000)), { samples: 0 });
    expect(events).toEqual([]);
    const m = d.measure();
    expect(m.rms).toBeGreaterThan(0.02);
    expect(m.noise_floor).toBeGreaterThan(0.036);
    expect(m.noise_floor).toBeLessThan(0.042);
    expect(m.threshold).toBeCloseTo(m.noise_floor * NOISE_MARGIN, 5);
    expect(m.state).toBe('inactive');
  });

  test('nothing is reported before the floor is calibrated', () => {
    const d = new AudioActivityDetector();
    const signal = new Float32Array(msToSamples(300));
    addSine(signal, 0, signal.length, 0.3, 440);
    expect(feed(d, signal, { samples: 0 })).toEqual([]);
    expect(d.measure().calibrated).toBe(false);
  });
});

describe('attack and release', () => {
  const A = 0.2;
  function toneScenario(amplitude: number, seed = 3) {
    // 1 s of quiet noise, 1 s of 440 Hz tone (+ noise), 1.5 s of quiet noise.
    const signal = noise(seededGaussian(seed), 0.001, msToSamples(3500));
    addSine(signal, msToSamples(1000), msToSamples(1000), amplitude, 440);
    return signal;
  }

  test('a 440 Hz tone gives one detected after the attack time and one ended after the release time', () => {
    const d = new AudioActivityDetector();
    const clock = { samples: 0 };
    const signal = toneScenario(A);
    const before = feed(d, signal.subarray(0, msToSamples(1500)), clock);
    // On demand, mid-tone: the RMS of a sine of amplitude A is A/√2.
    const mid = d.measure();
    expect(mid.rms).toBeCloseTo(A / Math.SQRT2, 3);
    expect(mid.state).toBe('active');
    expect(mid.window_ms).toBe(120);
    const after = feed(d, signal.subarray(msToSamples(1500)), clock);
    const events = [...before, ...after];

    expect(events).toHaveLength(2);
    const [on, off] = events as [AudioEvent, AudioEvent];
    expect(on).toMatchObject({
      kind: 'audio_activity_detected',
      source: 'microphone',
      state: 'active',
      threshold: 0.05,
      release_threshold: 0.025,
      duration_ms: AUDIO_ATTACK_MS,
      seq: 1,
      ts: iso(1000 + AUDIO_ATTACK_MS),
    });
    expect(on.rms).toBeCloseTo(A / Math.SQRT2, 2);
    expect(off).toMatchObject({
      kind: 'audio_activity_ended',
      source: 'microphone',
      state: 'inactive',
      threshold: 0.05,
      duration_ms: 1000,
      seq: 2,
      ts: iso(2000 + AUDIO_RELEASE_MS),
    });
    expect(off.rms).toBeLessThan(0.002);
    for (const e of events) {
      expect(e.confidence).toBeGreaterThan(0.5);
      expect(e.confidence).toBeLessThanOrEqual(1);
    }
    expect(d.measure().state).toBe('inactive');
  });

  test('one big push yields the same events, drained by repeated update() calls', () => {
    const d = new AudioActivityDetector();
    const signal = toneScenario(A);
    d.push(signal);
    const now = T0 + 3500;
    const events: AudioEvent[] = [];
    for (let e = d.update(now); e !== null; e = d.update(now)) events.push(e);
    expect(events.map((e) => [e.kind, e.seq, e.ts])).toEqual([
      ['audio_activity_detected', 1, iso(1000 + AUDIO_ATTACK_MS)],
      ['audio_activity_ended', 2, iso(2000 + AUDIO_RELEASE_MS)],
    ]);
  });

  test('clicks shorter than the attack time never fire (a detector without attack would)', () => {
    // 30 ms bursts at 0.8 (16× the threshold), at offsets not aligned to the 10 ms frames.
    const signal = noise(seededGaussian(4), 0.001, msToSamples(4000));
    for (let k = 0; k < 12; k++) addSine(signal, 16_000 + 1_237 + k * 3_911, msToSamples(30), 0.8, 1000);
    const d = new AudioActivityDetector();
    expect(feed(d, signal, { samples: 0 })).toEqual([]);
    const noAttack = new AudioActivityDetector({ attackMs: 10 });
    expect(feed(noAttack, signal, { samples: 0 }).length).toBeGreaterThan(0);
  });

  test('a tone dipping into the hysteresis band stays one activity', () => {
    // 0.2 amplitude, then 0.05 (rms 0.035: below the 0.05 threshold, above the 0.025 release) for 600 ms.
    const signal = noise(seededGaussian(5), 0.001, msToSamples(3500));
    addSine(signal, msToSamples(1000), msToSamples(500), 0.2, 440);
    addSine(signal, msToSamples(1500), msToSamples(600), 0.05, 440);
    addSine(signal, msToSamples(2100), msToSamples(300), 0.2, 440);
    const events = feed(new AudioActivityDetector(), signal, { samples: 0 });
    expect(events.map((e) => e.kind)).toEqual(['audio_activity_detected', 'audio_activity_ended']);
    expect(events[1]?.duration_ms).toBe(1400);
  });

  test('reset() while active ends the activity once', () => {
    const d = new AudioActivityDetector();
    feed(d, toneScenario(A).subarray(0, msToSamples(1500)), { samples: 0 });
    const ended = d.reset(T0 + 1600);
    expect(ended).toMatchObject({ kind: 'audio_activity_ended', seq: 2, ts: iso(1600), duration_ms: 500 });
    expect(d.reset(T0 + 1700)).toBeNull();
  });
});

describe('confidence (in the reported state)', () => {
  test('is in [0, 1] and higher the farther the value is from the boundary', () => {
    const loud = new AudioActivityDetector();
    const quiet = new AudioActivityDetector();
    const mk = (amplitude: number) => {
      const s = noise(seededGaussian(6), 0.001, msToSamples(1500));
      addSine(s, msToSamples(1000), msToSamples(500), amplitude, 440);
      return s;
    };
    const [loudOn] = feed(loud, mk(0.2), { samples: 0 });
    const [quietOn] = feed(quiet, mk(0.08), { samples: 0 }); // rms 0.057, just above 0.05
    expect(loudOn?.state).toBe('active');
    expect(quietOn?.state).toBe('active');
    expect(loudOn!.confidence).toBeGreaterThan(quietOn!.confidence);
    expect(loud.measure().confidence).toBeGreaterThan(quiet.measure().confidence);

    // Inactive: silence is certain; a hum just under the threshold is not.
    const silent = new AudioActivityDetector();
    feed(silent, noise(seededGaussian(7), 0.001, msToSamples(1000)), { samples: 0 });
    const hum = new AudioActivityDetector({ threshold: 0.05 });
    const humSignal = noise(seededGaussian(8), 0.001, msToSamples(1000));
    addSine(humSignal, msToSamples(800), msToSamples(200), 0.06, 100); // rms 0.042 < 0.05
    feed(hum, humSignal, { samples: 0 });
    expect(hum.measure().state).toBe('inactive');
    expect(silent.measure().confidence).toBe(1);
    expect(hum.measure().confidence).toBeGreaterThan(0.5);
    expect(hum.measure().confidence).toBeLessThan(0.6);
  });
});

describe('property', () => {
  const segment = fc.oneof(
    fc.record({ kind: fc.constant('silence' as const), ms: fc.integer({ min: 10, max: 800 }) }),
    fc.record({ kind: fc.constant('tone' as const), ms: fc.integer({ min: 10, max: 800 }), amplitude: fc.double({ min: 0, max: 1, noNaN: true }) }),
    fc.record({ kind: fc.constant('junk' as const), samples: fc.float32Array({ maxLength: 700 }) }),
  );

  test('never throws on arbitrary input; events alternate detected/ended with increasing seq and ts', () => {
    let transitions = 0;
    fc.assert(
      fc.property(
        fc.array(segment, { maxLength: 25 }),
        fc.array(fc.double({ min: -1e17, max: 1e17, noNaN: true }), { minLength: 1, maxLength: 8 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (segments, clocks, threshold) => {
          const d = new AudioActivityDetector({ threshold });
          const events: AudioEvent[] = [];
          const gauss = seededGaussian(9);
          let tick = 0;
          for (const seg of segments) {
            const samples =
              seg.kind === 'junk'
                ? seg.samples
                : seg.kind === 'silence'
                  ? noise(gauss, 0.001, msToSamples(seg.ms))
                  : (() => {
                      const s = new Float32Array(msToSamples(seg.ms));
                      addSine(s, 0, s.length, seg.amplitude, 440);
                      return s;
                    })();
            d.push(samples);
            const now = clocks[tick++ % clocks.length]!;
            for (let e = d.update(now); e !== null; e = d.update(now)) events.push(e);
            const m = d.measure(tick * 7);
            for (const v of [m.rms, m.noise_floor, m.threshold, m.release_threshold, m.confidence]) expect(Number.isFinite(v)).toBe(true);
            expect(m.confidence).toBeGreaterThanOrEqual(0);
            expect(m.confidence).toBeLessThanOrEqual(1);
          }
          const last = d.reset(1e18);
          if (last !== null) events.push(last);
          transitions += events.length;
          events.forEach((e, i) => {
            expect(e.kind).toBe(i % 2 === 0 ? 'audio_activity_detected' : 'audio_activity_ended');
            expect(e.seq).toBe(i + 1);
            expect(e.confidence).toBeGreaterThanOrEqual(0);
            expect(e.confidence).toBeLessThanOrEqual(1);
            if (i > 0) expect(Date.parse(e.ts)).toBeGreaterThanOrEqual(Date.parse(events[i - 1]!.ts));
          });
          expect(d.measure().state).toBe('inactive');
        },
      ),
      { numRuns: 150, seed: 20260101 },
    );
    expect(transitions).toBeGreaterThan(50); // the property exercised real state changes
  });
});

// The rate-limit syntax and token buckets (src/rpc/rate-limits.ts) on an injected clock: the
// defaults, class=off / none, malformed specs refused with the reason; a bucket holds one second of
// its rate, refills continuously, names the wait, keeps callers and classes apart, and marks only
// the first refusal of a burst (refusals less than a second apart) for the audit trail.
import { describe, expect, test } from 'vitest';
import { DEFAULT_RATE_LIMITS, parseRateLimits, RATE_BURST_QUIET_MS, RateLimiter, rateClassOf } from '../../src/rpc/rate-limits.ts';

describe('--rate-limit', () => {
  test('classes left out keep their defaults; off and none lift limits', () => {
    expect(parseRateLimits('motion=5/s')).toEqual({ ok: true, limits: { ...DEFAULT_RATE_LIMITS, motion: 5 } });
    expect(parseRateLimits('audio=off, capture=2.5/s')).toEqual({ ok: true, limits: { ...DEFAULT_RATE_LIMITS, audio: null, capture: 2.5 } });
    expect(parseRateLimits('none')).toEqual({ ok: true, limits: { motion: null, audio: null, capture: null } });
  });

  test('malformed specs are refused with the reason', () => {
    expect(parseRateLimits('motion=5')).toMatchObject({ ok: false, problem: expect.stringContaining('class=N/s') });
    expect(parseRateLimits('scan=1/s')).toMatchObject({ ok: false, problem: expect.stringContaining('unknown class') });
    expect(parseRateLimits('motion=0/s')).toMatchObject({ ok: false, problem: expect.stringContaining('above 0') });
  });

  test('stops, reads and leases have no class', () => {
    expect(['stop_motion', 'emergency_stop', 'get_status', 'acquire_lease', 'push_audio_sample'].map(rateClassOf)).toEqual([null, null, null, null, null]);
    expect(['look_at_world', 'play_audio_file', 'capture_video_frame'].map(rateClassOf)).toEqual(['motion', 'audio', 'capture']);
  });
});

describe('RateLimiter', () => {
  test('a bucket holds one second of its rate, then refills at the rate and names the wait', () => {
    let now = 0;
    const limiter = new RateLimiter({ motion: 10, audio: null, capture: 2 }, () => now);
    for (let i = 0; i < 10; i++) expect(limiter.take('a', 'motion')).toEqual({ ok: true });
    expect(limiter.take('a', 'motion')).toEqual({ ok: false, retryAfterMs: 100, limitPerS: 10, firstInBurst: true });
    now = 50;
    expect(limiter.take('a', 'motion')).toMatchObject({ ok: false, retryAfterMs: 50, firstInBurst: false });
    now = 100;
    expect(limiter.take('a', 'motion')).toEqual({ ok: true });
    // Other callers and classes have their own buckets; an unlimited class always passes.
    expect(limiter.take('b', 'motion')).toEqual({ ok: true });
    expect(limiter.take('a', 'capture')).toEqual({ ok: true });
    for (let i = 0; i < 100; i++) expect(limiter.take('a', 'audio')).toEqual({ ok: true });
  });

  test('refusals less than a second apart are one burst; after a quiet second the next refusal starts a new one', () => {
    let now = 0;
    const limiter = new RateLimiter({ motion: 1, audio: null, capture: null }, () => now);
    expect(limiter.take('a', 'motion').ok).toBe(true);
    expect(limiter.take('a', 'motion')).toMatchObject({ ok: false, firstInBurst: true });
    for (let t = 100; t < 900; t += 100) {
      now = t;
      expect(limiter.take('a', 'motion')).toMatchObject({ ok: false, firstInBurst: false });
    }
    now = 800 + RATE_BURST_QUIET_MS + 1;
    expect(limiter.take('a', 'motion').ok).toBe(true);
    expect(limiter.take('a', 'motion')).toMatchObject({ ok: false, firstInBurst: true });
  });

  test('a rate under one a second lets one call through every 1/rate seconds (it refused every call before)', () => {
    let now = 0;
    const limiter = new RateLimiter({ motion: 0.5, audio: null, capture: null }, () => now);
    expect(limiter.take('a', 'motion')).toEqual({ ok: true });
    expect(limiter.take('a', 'motion')).toEqual({ ok: false, retryAfterMs: 2_000, limitPerS: 0.5, firstInBurst: true });
    now = 1_999;
    expect(limiter.take('a', 'motion').ok).toBe(false);
    now = 2_000;
    expect(limiter.take('a', 'motion')).toEqual({ ok: true });
    now = 10_000;
    expect(limiter.take('a', 'motion')).toEqual({ ok: true });
    expect(limiter.take('a', 'motion').ok).toBe(false);
  });
});

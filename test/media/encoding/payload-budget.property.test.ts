// Property (fast-check, bounded runs): whatever the frame size, layout, content, encoding, max_edge
// and quality, a successful payload fits the budget and reports its own exact JSON length; the only
// failure is a typed PayloadTooLarge that really is over it. Output never exceeds max_edge nor the
// input size. No timing here: the benchmark lives in bench/run.ts.
import fc from 'fast-check';
import { Result } from 'effect';
import { expect, test } from 'vitest';
import {
  encodeVideoFrame,
  MAX_EDGE_RANGE,
  MAX_RPC_PAYLOAD_BYTES,
  QUALITY_RANGE,
  type VideoFrameInput,
} from '../../../src/media/encoding/frame-encoding.ts';
import { fillNoise, gradientFrame, jsonBytes } from './frames.ts';

/** Bounded so the file stays a few seconds on a 2-core box (frames up to 1600×1200×4 of noise; ~1 s here). */
const RUNS = 60;

const tiny = fc.integer({ min: 1, max: 64 });
/** Mostly camera-sized frames (where the budget bites), plus tiny and extreme-aspect edge cases. */
const sizeArb = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.integer({ min: 640, max: 1600 }), fc.integer({ min: 360, max: 1200 })) },
  { weight: 1, arbitrary: fc.tuple(tiny, tiny) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 1600 }), tiny) },
  { weight: 1, arbitrary: fc.tuple(tiny, fc.integer({ min: 1, max: 1200 })) },
);

const frameArb = fc
  .record({
    size: sizeArb,
    layout: fc.constantFrom<1 | 3 | 4 | 'i420'>(1, 3, 4, 'i420'),
    content: fc.constantFrom('noise', 'gradient'),
    seed: fc.integer({ min: 1, max: 0x7fffffff }),
  })
  .map(({ size: [width, height], layout, content, seed }): VideoFrameInput => {
    if (layout === 'i420') {
      const data = Buffer.alloc(width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2));
      if (content === 'noise') fillNoise(data, seed);
      else data.fill(128);
      return { pixelFormat: 'i420', data, width, height };
    }
    if (content === 'gradient') return gradientFrame(width, height, layout);
    return { data: fillNoise(Buffer.alloc(width * height * layout), seed), width, height, channels: layout };
  });

const requestArb = fc.record(
  {
    encoding: fc.constantFrom('jpeg' as const, 'thumbnail' as const, 'raw' as const),
    maxEdge: fc.integer({ min: MAX_EDGE_RANGE.min, max: MAX_EDGE_RANGE.max }),
    quality: fc.integer({ min: QUALITY_RANGE.min, max: QUALITY_RANGE.max }),
    allowOversizeRaw: fc.boolean(),
    ageMs: fc.double({ min: 0, max: 10_000, noNaN: true }),
  },
  { requiredKeys: ['encoding'] },
);

test('every successful payload is ≤ the budget and reports its exact JSON length', async () => {
  let successes = 0;
  let refusals = 0;
  let large = 0;
  await fc.assert(
    fc.asyncProperty(frameArb, requestArb, fc.option(fc.integer({ min: 2_000, max: MAX_RPC_PAYLOAD_BYTES }), { nil: undefined }), async (frame, request, budget) => {
      const limit = budget ?? MAX_RPC_PAYLOAD_BYTES;
      if (frame.width * frame.height >= 640 * 360) large += 1;
      // The operator switch is off: an oversize raw request from the call alone must not pass.
      const result = await encodeVideoFrame(frame, request, { allowOversizeRaw: false, maxPayloadBytes: budget });
      if (Result.isFailure(result)) {
        expect(result.failure._tag).toBe('PayloadTooLarge');
        if (result.failure._tag === 'PayloadTooLarge') {
          expect(result.failure.rpcJsonBytes).toBeGreaterThan(limit);
          expect(result.failure.maxPayloadBytes).toBe(limit);
        }
        refusals += 1;
        return;
      }
      const payload = result.success;
      const actual = jsonBytes(payload);
      expect(payload.rpc_json_bytes).toBe(actual);
      expect(actual).toBeLessThanOrEqual(limit);
      expect(actual).toBeLessThanOrEqual(MAX_RPC_PAYLOAD_BYTES);
      expect('nats_payload_warning' in payload).toBe(false);
      if (payload.encoding !== 'raw') {
        const maxEdge = request.maxEdge ?? (payload.encoding === 'jpeg' ? 640 : 320);
        expect(Math.max(payload.width, payload.height)).toBeLessThanOrEqual(Math.max(maxEdge, 1));
        expect(payload.width).toBeLessThanOrEqual(frame.width);
        expect(payload.height).toBeLessThanOrEqual(frame.height);
        expect(Buffer.from(payload.data_b64, 'base64').length).toBe(payload.byte_size);
      }
      successes += 1;
    }),
    { numRuns: RUNS },
  );
  // Both branches must have been exercised for the property to mean anything.
  expect(successes).toBeGreaterThan(0);
  expect(refusals).toBeGreaterThan(0);
  expect(large).toBeGreaterThan(0);
});

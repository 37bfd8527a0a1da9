// capture_video_frame's max_age_ms (issue 12 §6): a frozen producer leaves an old picture on the
// link; past max_age_ms the capture answers FrameTooOld {age_ms, max_age_ms}, a fresh one passes.
// Checks the decision (src/media/frame-freshness.ts), its JSON-RPC error and the parameter's
// default and bounds; not the capture's wait for a picture (src/actors/media-frame-calls.ts).
import { Result } from 'effect';
import { describe, expect, test } from 'vitest';
import { DEFAULT_MAX_FRAME_AGE_MS, FRAME_AGE_RANGE, frameTooOld } from '../../src/media/frame-freshness.ts';
import { toJsonRpcError } from '../../src/errors.ts';
import { captureVideoFrame } from '../../src/rpc/media-functions.ts';

describe('frame freshness', () => {
  test('a picture within max_age_ms passes; one past it is FrameTooOld with its age and the bound', () => {
    const receivedAt = 1_000_000;
    expect(frameTooOld(receivedAt, receivedAt + 40, DEFAULT_MAX_FRAME_AGE_MS)).toBeNull();
    expect(frameTooOld(receivedAt, receivedAt + DEFAULT_MAX_FRAME_AGE_MS, DEFAULT_MAX_FRAME_AGE_MS)).toBeNull();
    const stale = frameTooOld(receivedAt, receivedAt + 5_000, DEFAULT_MAX_FRAME_AGE_MS);
    expect(stale).toMatchObject({ _tag: 'FrameTooOld', age_ms: 5_000, max_age_ms: DEFAULT_MAX_FRAME_AGE_MS });
    expect(toJsonRpcError(stale!, 'capture_video_frame').data).toMatchObject({ _tag: 'FrameTooOld', age_ms: 5_000, max_age_ms: 2_000 });
  });

  test('the caller\'s max_age_ms is the bound; a receive time in the future counts as age 0', () => {
    expect(frameTooOld(0, 300, 200)).toMatchObject({ age_ms: 300, max_age_ms: 200 });
    expect(frameTooOld(0, 300, 500)).toBeNull();
    expect(frameTooOld(1_000, 900, 50)).toBeNull();
  });

  test('capture_video_frame advertises max_age_ms with its default and bounds, and decodes only values inside them', () => {
    expect(captureVideoFrame.params.jsonSchema.properties.max_age_ms).toMatchObject({ default: DEFAULT_MAX_FRAME_AGE_MS, minimum: FRAME_AGE_RANGE.min, maximum: FRAME_AGE_RANGE.max });
    const decoded = captureVideoFrame.params.decode({});
    expect(Result.isSuccess(decoded) && decoded.success.max_age_ms).toBe(DEFAULT_MAX_FRAME_AGE_MS);
    expect(Result.isFailure(captureVideoFrame.params.decode({ max_age_ms: FRAME_AGE_RANGE.min - 1 }))).toBe(true);
    expect(Result.isFailure(captureVideoFrame.params.decode({ max_age_ms: FRAME_AGE_RANGE.max + 1 }))).toBe(true);
  });
});

// capture_video_frame payloads (reference-driver.md §5.1, §12 item 5 fixed): sizes and aspect of the
// decoded JPEGs, quality and sharp settings, grey/RGBA/I420 inputs, honest rpc_json_bytes, the
// 900 000-byte budget with its typed refusal, and the two-key raw override.
import { Result } from 'effect';
import sharp, { type Metadata } from 'sharp';
import { describe, expect, test } from 'vitest';
import {
  encodeVideoFrame,
  fitWithin,
  MAX_RPC_PAYLOAD_BYTES,
  rpcJsonBytesFor,
  type EncodeFrameRequest,
  type FrameEncoderSettings,
  type FrameEncodingError,
  type JpegFramePayload,
  type RawFramePayload,
  type VideoFrameInput,
  type VideoFramePayload,
} from '../../../src/media/encoding/frame-encoding.ts';
import { i420ToRgb } from '../../../src/media/encoding/i420.ts';
import { flatI420, gradientFrame, gradientI420, jsonBytes, noiseFrame } from './frames.ts';

async function ok(frame: VideoFrameInput, request: EncodeFrameRequest, settings?: FrameEncoderSettings): Promise<VideoFramePayload> {
  const result = await encodeVideoFrame(frame, request, settings);
  if (Result.isFailure(result)) throw new Error(`expected success, got ${result.failure._tag}: ${result.failure.message}`);
  return result.success;
}

async function fails(frame: VideoFrameInput, request: EncodeFrameRequest, settings?: FrameEncoderSettings): Promise<FrameEncodingError> {
  const result = await encodeVideoFrame(frame, request, settings);
  if (Result.isSuccess(result)) throw new Error(`expected a failure, got ${result.success.encoding} (${result.success.rpc_json_bytes} bytes)`);
  return result.failure;
}

async function jpegOf(payload: VideoFramePayload): Promise<{ payload: JpegFramePayload; bytes: Buffer; meta: Metadata }> {
  expect(payload.encoding).not.toBe('raw');
  const jpeg = payload as JpegFramePayload;
  const bytes = Buffer.from(jpeg.data_b64, 'base64');
  return { payload: jpeg, bytes, meta: await sharp(bytes).metadata() };
}

const HD = gradientFrame(1280, 720, 3);

describe('jpeg and thumbnail sizes', () => {
  test('1280×720 jpeg → 640×360 at the preset quality 82', async () => {
    const { payload, bytes, meta } = await jpegOf(await ok(HD, { encoding: 'jpeg' }));
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 640, 360]);
    expect(payload).toMatchObject({ status: 'success', kind: 'video_frame', encoding: 'jpeg', format: 'jpeg', width: 640, height: 360, jpeg_quality: 82 });
    expect(payload.byte_size).toBe(bytes.length);
    expect(meta.chromaSubsampling).toBe('4:2:0');
    expect(meta.isProgressive).toBe(false);
  });

  test('1280×720 thumbnail → 320×180 at quality 75', async () => {
    const { payload, meta } = await jpegOf(await ok(HD, { encoding: 'thumbnail' }));
    expect([meta.width, meta.height]).toEqual([320, 180]);
    expect(payload).toMatchObject({ encoding: 'thumbnail', width: 320, height: 180, jpeg_quality: 75 });
  });

  test('max_edge 100 → 100×56 (sides floored, aspect kept)', async () => {
    const { payload, meta } = await jpegOf(await ok(HD, { encoding: 'jpeg', maxEdge: 100 }));
    expect([meta.width, meta.height, payload.width, payload.height]).toEqual([100, 56, 100, 56]);
  });

  test('portrait frames are bounded by their height', async () => {
    const { meta } = await jpegOf(await ok(gradientFrame(720, 1280, 3), { encoding: 'jpeg' }));
    expect([meta.width, meta.height]).toEqual([360, 640]);
  });

  test('small inputs and large max_edge are never upscaled', async () => {
    const small = await jpegOf(await ok(gradientFrame(200, 100, 3), { encoding: 'jpeg' }));
    expect([small.meta.width, small.meta.height]).toEqual([200, 100]);
    const tiny = await jpegOf(await ok(gradientFrame(4, 4, 1), { encoding: 'thumbnail' }));
    expect([tiny.meta.width, tiny.meta.height]).toEqual([4, 4]);
    const big = await jpegOf(await ok(HD, { encoding: 'jpeg', maxEdge: 4096 }));
    expect([big.meta.width, big.meta.height]).toEqual([1280, 720]);
  });

  test('fitWithin floors each side with a minimum of 1', () => {
    expect(fitWithin(1280, 720, 100)).toEqual({ width: 100, height: 56 });
    expect(fitWithin(4000, 3, 16)).toEqual({ width: 16, height: 1 });
    expect(fitWithin(16, 16, 16)).toEqual({ width: 16, height: 16 });
  });
});

describe('quality and encoder settings', () => {
  test('the bytes are exactly sharp with the documented settings (optimiseCoding off, 4:2:0, lanczos3)', async () => {
    const { bytes } = await jpegOf(await ok(HD, { encoding: 'jpeg', quality: 60 }));
    const bare = await sharp(HD.data, { raw: { width: 1280, height: 720, channels: 3 } })
      .resize(640, 360, { fit: 'fill', kernel: 'lanczos3' })
      .jpeg({ quality: 60, optimiseCoding: false, chromaSubsampling: '4:2:0' })
      .toBuffer();
    expect(bytes.equals(bare)).toBe(true);
  });

  test('requested quality is used and reported, 100 included (no silent clamp to 95)', async () => {
    const noisy = noiseFrame(320, 240, 3, 7);
    const sizes: number[] = [];
    for (const quality of [10, 50, 95, 100]) {
      const { payload } = await jpegOf(await ok(noisy, { encoding: 'jpeg', quality }));
      expect(payload.jpeg_quality).toBe(quality);
      sizes.push(payload.byte_size);
    }
    expect(sizes).toEqual([...sizes].sort((a, b) => a - b));
    expect(new Set(sizes).size).toBe(sizes.length);
  });

  test('a lower quality than the preset gives a smaller thumbnail of the same size', async () => {
    const noisy = noiseFrame(640, 480, 3, 3);
    const preset = await jpegOf(await ok(noisy, { encoding: 'thumbnail' }));
    const low = await jpegOf(await ok(noisy, { encoding: 'thumbnail', quality: 20 }));
    expect([low.meta.width, low.meta.height]).toEqual([preset.meta.width, preset.meta.height]);
    expect(low.payload.byte_size).toBeLessThan(preset.payload.byte_size);
  });
});

describe('input layouts', () => {
  test('greyscale input gives a one-channel JPEG', async () => {
    const { meta } = await jpegOf(await ok(gradientFrame(1280, 720, 1), { encoding: 'jpeg' }));
    expect([meta.width, meta.height, meta.channels, meta.space]).toEqual([640, 360, 1, 'b-w']);
  });

  test('RGBA input drops alpha and encodes the same pixels as RGB', async () => {
    const rgb = gradientFrame(1280, 720, 3);
    const rgba = gradientFrame(1280, 720, 4);
    const a = await jpegOf(await ok(rgba, { encoding: 'jpeg' }));
    const b = await jpegOf(await ok(rgb, { encoding: 'jpeg' }));
    expect([a.meta.channels, a.meta.hasAlpha]).toEqual([3, false]);
    expect(a.bytes.equals(b.bytes)).toBe(true);
  });

  test('I420 input is converted (BT.601 limited range) and resized', async () => {
    // (81, 90, 240) is BT.601 studio-swing pure red.
    const { meta, bytes } = await jpegOf(await ok(flatI420(1280, 720, 81, 90, 240), { encoding: 'jpeg' }));
    expect([meta.width, meta.height, meta.channels]).toEqual([640, 360, 3]);
    const { channels } = await sharp(bytes).stats();
    expect(channels[0]!.mean).toBeGreaterThan(240);
    expect(channels[1]!.mean).toBeLessThan(15);
    expect(channels[2]!.mean).toBeLessThan(15);
  });

  test('I420 downscaled at half resolution matches converting the full frame first', async () => {
    // 1280×720 → 640×360 takes the half-resolution path; the reference is full conversion then RGB.
    const i420 = gradientI420(1280, 720);
    const rgb = { data: i420ToRgb(i420.data, 1280, 720), width: 1280, height: 720, channels: 3 as const };
    for (const request of [{ encoding: 'jpeg' as const }, { encoding: 'thumbnail' as const }, { encoding: 'jpeg' as const, maxEdge: 100 }]) {
      const fast = await jpegOf(await ok(i420, request));
      const full = await jpegOf(await ok(rgb, request));
      expect([fast.meta.width, fast.meta.height]).toEqual([full.meta.width, full.meta.height]);
      const a = await sharp(fast.bytes).raw().toBuffer();
      const b = await sharp(full.bytes).raw().toBuffer();
      let sum = 0;
      for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] as number) - (b[i] as number));
      expect(sum / a.length).toBeLessThan(2);
    }
  });

  test('I420 to a size above half the input converts at full resolution', async () => {
    const { meta } = await jpegOf(await ok(gradientI420(1280, 720), { encoding: 'jpeg', maxEdge: 1000 }));
    expect([meta.width, meta.height]).toEqual([1000, 562]);
  });

  test('I420 with odd sides (chroma rounded up) encodes', async () => {
    const { meta } = await jpegOf(await ok(flatI420(33, 17, 128, 128, 128), { encoding: 'thumbnail' }));
    expect([meta.width, meta.height]).toEqual([33, 17]);
  });

  test('I420 raw is sent as interleaved RGB [h, w, 3]', async () => {
    const payload = (await ok(flatI420(64, 48, 235, 128, 128), { encoding: 'raw' })) as RawFramePayload;
    expect(payload.shape).toEqual([48, 64, 3]);
    const bytes = Buffer.from(payload.data_b64, 'base64');
    expect(bytes.length).toBe(64 * 48 * 3);
    expect(bytes.every((b) => b === 255)).toBe(true);
  });
});

describe('rpc_json_bytes', () => {
  test('equals the UTF-8 length of the compact JSON, for every encoding and optional field', async () => {
    const frame = gradientFrame(96, 64, 3);
    const extras = { capturedAt: Date.UTC(2025, 0, 2, 3, 4, 5, 678), ageMs: 41.6, target: 'simulated-é' };
    for (const encoding of ['jpeg', 'thumbnail', 'raw'] as const) {
      for (const request of [{ encoding }, { encoding, ...extras }]) {
        const payload = await ok(frame, request);
        expect(payload.rpc_json_bytes).toBe(jsonBytes(payload));
        expect(Object.keys(payload).at(-1)).toBe('rpc_json_bytes');
      }
    }
    const withExtras = await ok(frame, { encoding: 'jpeg', ...extras });
    expect(withExtras).toMatchObject({ captured_at: '2025-01-02T03:04:05.678Z', age_ms: 42, target: 'simulated-é' });
  });

  test('the fixed point holds across a digit boundary', () => {
    for (let base = 99_960; base < 100_010; base++) {
      const total = rpcJsonBytesFor(base);
      expect(total).toBe(base + ',"rpc_json_bytes":'.length + String(total).length);
    }
  });
});

describe('the 900 000-byte budget', () => {
  const RAW_HD = noiseFrame(1280, 720, 3, 11);

  test('raw 1280×720×3 is refused with its size and the alternatives', async () => {
    const error = await fails(RAW_HD, { encoding: 'raw' });
    expect(error._tag).toBe('PayloadTooLarge');
    if (error._tag !== 'PayloadTooLarge') return;
    const base64 = (4 * 1280 * 720 * 3) / 3;
    expect(error.rpcJsonBytes).toBeGreaterThan(base64);
    expect(error.rpcJsonBytes).toBeLessThan(base64 + 400);
    expect(error).toMatchObject({ encoding: 'raw', maxPayloadBytes: MAX_RPC_PAYLOAD_BYTES, alternatives: ['jpeg', 'thumbnail'] });
    expect(error.message).toContain(String(error.rpcJsonBytes));
  });

  test('oversize raw needs both the operator switch and the call', async () => {
    for (const [operator, call] of [[false, false], [true, false], [false, true]] as const) {
      const error = await fails(RAW_HD, { encoding: 'raw', allowOversizeRaw: call }, { allowOversizeRaw: operator });
      expect(error._tag).toBe('PayloadTooLarge');
    }
    const payload = (await ok(RAW_HD, { encoding: 'raw', allowOversizeRaw: true }, { allowOversizeRaw: true })) as RawFramePayload;
    expect(payload.nats_payload_warning).toMatch(/exceeds the 900000-byte/);
    expect(payload.rpc_json_bytes).toBe(jsonBytes(payload));
    expect(payload.rpc_json_bytes).toBeGreaterThan(MAX_RPC_PAYLOAD_BYTES);
    expect(Buffer.from(payload.data_b64, 'base64').equals(RAW_HD.data)).toBe(true);
  });

  test('a small raw frame under budget is accepted without a warning, bytes intact', async () => {
    const frame = noiseFrame(64, 48, 4, 5);
    const payload = (await ok(frame, { encoding: 'raw', allowOversizeRaw: true }, { allowOversizeRaw: true })) as RawFramePayload;
    expect(payload).toMatchObject({ encoding: 'raw', dtype: 'uint8', shape: [48, 64, 4], width: 64, height: 48, byte_size: 64 * 48 * 4 });
    expect(payload.nats_payload_warning).toBeUndefined();
    expect(Buffer.from(payload.data_b64, 'base64').equals(frame.data)).toBe(true);
  });

  test('a JPEG still over budget (max_edge 4096, q100 noise) is refused, never sent', async () => {
    const error = await fails(noiseFrame(1600, 1200, 3, 9), { encoding: 'jpeg', maxEdge: 4096, quality: 100 });
    expect(error).toMatchObject({ _tag: 'PayloadTooLarge', encoding: 'jpeg', alternatives: ['jpeg', 'thumbnail'] });
    if (error._tag === 'PayloadTooLarge') expect(error.rpcJsonBytes).toBeGreaterThan(MAX_RPC_PAYLOAD_BYTES);
  });

  test('a tighter operator budget applies; a looser one cannot raise the cap', async () => {
    const error = await fails(HD, { encoding: 'jpeg' }, { allowOversizeRaw: false, maxPayloadBytes: 1_000 });
    expect(error).toMatchObject({ _tag: 'PayloadTooLarge', maxPayloadBytes: 1_000 });
    const raw = await fails(RAW_HD, { encoding: 'raw' }, { allowOversizeRaw: false, maxPayloadBytes: 10_000_000 });
    expect(raw).toMatchObject({ _tag: 'PayloadTooLarge', maxPayloadBytes: MAX_RPC_PAYLOAD_BYTES });
    for (const nonsense of [Number.NaN, 0, -5]) {
      const refused = await fails(RAW_HD, { encoding: 'raw' }, { allowOversizeRaw: false, maxPayloadBytes: nonsense });
      expect(refused).toMatchObject({ _tag: 'PayloadTooLarge', maxPayloadBytes: MAX_RPC_PAYLOAD_BYTES });
    }
  });
});

describe('parameter assertions (the schema checks first; these hold without it)', () => {
  test.each([
    ['max_edge', { encoding: 'jpeg', maxEdge: 15 }],
    ['max_edge', { encoding: 'jpeg', maxEdge: 4097 }],
    ['max_edge', { encoding: 'thumbnail', maxEdge: 100.5 }],
    ['max_edge', { encoding: 'jpeg', maxEdge: Number.NaN }],
    ['quality', { encoding: 'jpeg', quality: 0 }],
    ['quality', { encoding: 'jpeg', quality: 101 }],
    ['encoding', { encoding: 'png' }],
  ] as const)('%s refused: %o', async (parameter, request) => {
    const error = await fails(HD, request as EncodeFrameRequest);
    expect(error._tag).toBe('InvalidParams');
    if (error._tag === 'InvalidParams') expect(error.issues.map((i) => i.parameter)).toEqual([parameter]);
  });

  test('the range bounds themselves are accepted', async () => {
    await ok(HD, { encoding: 'jpeg', maxEdge: 16, quality: 1 });
    await ok(HD, { encoding: 'thumbnail', maxEdge: 4096, quality: 100 });
  });
});

describe('captures at once never share a converted picture (scratch buffers)', () => {
  test('three I420 captures in flight each encode their own picture: the bytes of one at a time', async () => {
    const pictures = [flatI420(640, 360, 40, 128, 128), flatI420(640, 360, 200, 90, 240), gradientI420(640, 360)];
    const request = { encoding: 'thumbnail' } as const;
    const alone: string[] = [];
    for (const picture of pictures) alone.push(((await ok(picture, request)) as JpegFramePayload).data_b64);
    const together = await Promise.all(pictures.map((picture) => ok(picture, request)));
    expect(together.map((p) => (p as JpegFramePayload).data_b64)).toEqual(alone);
    expect(new Set(alone).size).toBe(3);
  });
});

// Turns one decoded camera frame (grey/RGB/RGBA bytes, or planar I420) into the
// `capture_video_frame` reply: `jpeg` / `thumbnail` through sharp, or `raw` base64, each with an
// honest `rpc_json_bytes` and a hard 900 000-byte budget (`PayloadTooLarge`). Owns presets, parameter
// checks, resizing, JPEG settings and the size guard, in buffers lent by scratch-buffers.ts; not
// fetching or decoding frames, the RPC schema, the envelope, nor the typed failures (frame-errors.ts).
// reference-driver.md §5.1 (§12 item 5 fixed); ecosystem.md §5.3; reachy-daemon-api.md §9.3.
import * as Result from 'effect/Result';
import type { KernelEnum } from 'sharp';
import { HandlerFailed, InvalidParams } from '../../errors.ts';
import { FRAME_ENCODINGS, InvalidFrame, PayloadTooLarge, TOO_LARGE_ALTERNATIVES, type FrameEncoding } from './frame-errors.ts';
import { DEFAULT_YUV_MATRIX, i420ByteLength, i420ToRgb, i420ToRgbHalf, i420ToRgbQuarter, quarterConvertible, type YuvMatrix } from './i420.ts';
import { createScratchBuffers } from './scratch-buffers.ts';

/**
 * sharp (libvips, a native addon) is loaded by the first JPEG, not at start-up: importing it costs
 * ~160 ms and ~15 MB of RSS that a driver without media, or one never asked for a frame, does not pay.
 */
let sharpLoading: Promise<typeof import('sharp').default> | undefined;
function loadSharp(): Promise<typeof import('sharp').default> {
  sharpLoading ??= import('sharp').then((module) => module.default);
  return sharpLoading;
}

export { FRAME_ENCODINGS, InvalidFrame, PayloadTooLarge, type FrameEncoding };

/**
 * Largest reply the driver sends over Device Connect RPC, in bytes of compact JSON. The reference's
 * `DEFAULT_MAX_RPC_PAYLOAD_BYTES`: portal NATS brokers cap messages at about 1 MiB, and the
 * JSON-RPC envelope and headers need the rest.
 */
export const MAX_RPC_PAYLOAD_BYTES = 900_000;

/** Reference presets (§5.1): a still an agent can look at, and a cheap preview. */
export const ENCODING_PRESETS = {
  jpeg: { maxEdge: 640, quality: 82 },
  thumbnail: { maxEdge: 320, quality: 75 },
} as const satisfies Record<Exclude<FrameEncoding, 'raw'>, { maxEdge: number; quality: number }>;

/** `max_edge` range: below 16 px nothing is recognisable; 4096 covers the 3840-wide camera modes. */
export const MAX_EDGE_RANGE = { min: 16, max: 4096 } as const;
/** `quality` range: libjpeg's own 1–100 (the reference's silent clamp to 95 is gone). */
export const QUALITY_RANGE = { min: 1, max: 100 } as const;

/**
 * Largest accepted input side: twice the widest camera mode (3840×2592, daemon-api §9.3). Anything
 * larger is a caller bug, and the cap bounds a raw buffer at 8192² × 4 bytes.
 */
export const MAX_INPUT_EDGE = 8192;

/**
 * JPEG settings on the hot path (ecosystem §5.3, measured): Huffman optimisation off halves the
 * encode time for ~5 % more bytes; 4:2:0 is the camera's own chroma and the smallest output;
 * never progressive or mozjpeg's size-optimising mode (3–20× slower).
 */
export const JPEG_OPTIMISE_CODING = false;
export const JPEG_CHROMA_SUBSAMPLING = '4:2:0';

/**
 * Resize kernel: Lanczos-3, as the reference's Pillow LANCZOS, so stills (panoramas, detection)
 * stay sharp; measured +0.7 ms over `linear` for 1280×720 → 640×360 on the 2-core box.
 */
export const RESIZE_KERNEL: keyof KernelEnum = 'lanczos3';

/** Raw frames go out as they are stored in memory: unsigned bytes, rows of interleaved channels. */
const RAW_DTYPE = 'uint8';

/** The converted pixels of captures in progress, lent and taken back (scratch-buffers.ts: no page faults per capture). */
const scratch = createScratchBuffers();

export type FrameEncodingError = PayloadTooLarge | InvalidFrame | InvalidParams | HandlerFailed;

/** Rows of `width` pixels with `channels` interleaved bytes each: 1 grey, 3 RGB, 4 RGBA. */
export interface InterleavedFrame {
  readonly pixelFormat?: 'interleaved';
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3 | 4;
}

/** Planar Y, U, V (chroma planes ceil(w/2) × ceil(h/2)), as H.264 decoders produce. */
export interface I420Frame {
  readonly pixelFormat: 'i420';
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly matrix?: YuvMatrix;
}

export type VideoFrameInput = InterleavedFrame | I420Frame;

export interface EncodeFrameRequest {
  readonly encoding: FrameEncoding;
  /** Longest output side for jpeg/thumbnail (never upscaled); ignored for raw. Default: preset. */
  readonly maxEdge?: number | undefined;
  /** JPEG quality for jpeg/thumbnail; ignored for raw. Default: preset. */
  readonly quality?: number | undefined;
  /** The call asks for a raw frame over the budget; honoured only if the operator allows it too. */
  readonly allowOversizeRaw?: boolean | undefined;
  /** Wall-clock capture time (`Date.now()` ms); becomes `captured_at` (ISO-8601). */
  readonly capturedAt?: number | undefined;
  /** Frame age when encoding started; becomes `age_ms`. */
  readonly ageMs?: number | undefined;
  /** Where the frame came from (`"simulated"` in sim), copied like the reference does. */
  readonly target?: string | undefined;
}

export interface FrameEncoderSettings {
  /** Operator switch (development only): lets a call ask for raw frames over the budget. */
  readonly allowOversizeRaw: boolean;
  /** A tighter budget for small brokers or tests; never above MAX_RPC_PAYLOAD_BYTES. */
  readonly maxPayloadBytes?: number | undefined;
}

interface PayloadTail {
  readonly captured_at?: string;
  readonly age_ms?: number;
  readonly target?: string;
  readonly nats_payload_warning?: string;
  /** UTF-8 length of this payload's compact JSON, this field included. */
  readonly rpc_json_bytes: number;
}

export interface JpegFramePayload extends PayloadTail {
  readonly status: 'success';
  readonly kind: 'video_frame';
  readonly encoding: 'jpeg' | 'thumbnail';
  readonly format: 'jpeg';
  readonly width: number;
  readonly height: number;
  /** The quality actually used. */
  readonly jpeg_quality: number;
  readonly byte_size: number;
  readonly data_b64: string;
}

export interface RawFramePayload extends PayloadTail {
  readonly status: 'success';
  readonly kind: 'video_frame';
  readonly encoding: 'raw';
  readonly dtype: typeof RAW_DTYPE;
  /** [height, width, channels], numpy order as in the reference. */
  readonly shape: readonly [number, number, number];
  readonly width: number;
  readonly height: number;
  readonly byte_size: number;
  readonly data_b64: string;
}

export type VideoFramePayload = JpegFramePayload | RawFramePayload;

const DEFAULT_SETTINGS: FrameEncoderSettings = { allowOversizeRaw: false };

/** Checks the geometry and the buffer length; nothing touches the pixels before this passes. */
export function validateFrame(frame: VideoFrameInput): Result.Result<void, InvalidFrame> {
  const pixelFormat = frame.pixelFormat ?? 'interleaved';
  const channels = pixelFormat === 'i420' ? 3 : (frame as InterleavedFrame).channels;
  const actualBytes = frame.data instanceof Uint8Array ? frame.data.byteLength : 0;
  const fail = (problem: string, expectedBytes: number | null) =>
    Result.fail(new InvalidFrame({ message: `invalid video frame: ${problem}`, pixelFormat, width: frame.width, height: frame.height, channels, expectedBytes, actualBytes }));
  if (!(frame.data instanceof Uint8Array)) return fail('data must be a Uint8Array of pixel bytes', null);
  for (const [name, side] of [['width', frame.width], ['height', frame.height]] as const) {
    if (!Number.isInteger(side) || side < 1 || side > MAX_INPUT_EDGE) return fail(`${name} ${side} is not an integer in [1, ${MAX_INPUT_EDGE}]`, null);
  }
  if (pixelFormat !== 'i420' && pixelFormat !== 'interleaved') return fail(`unknown pixel format ${String(pixelFormat)}`, null);
  if (pixelFormat === 'interleaved' && channels !== 1 && channels !== 3 && channels !== 4) {
    return fail(`channels ${channels} is not 1 (grey), 3 (RGB) or 4 (RGBA)`, null);
  }
  const expectedBytes = pixelFormat === 'i420' ? i420ByteLength(frame.width, frame.height) : frame.width * frame.height * channels;
  if (actualBytes !== expectedBytes) {
    const geometry = pixelFormat === 'i420' ? `I420 ${frame.width}×${frame.height}` : `${frame.width}×${frame.height}×${channels}`;
    return fail(`${actualBytes} bytes do not match ${geometry} (${expectedBytes} bytes)`, expectedBytes);
  }
  return Result.succeed(undefined);
}

/** Output size for a longest side of `maxEdge`: aspect kept, sides floored (min 1), never upscaled. */
export function fitWithin(width: number, height: number, maxEdge: number): { width: number; height: number } {
  const longest = Math.max(width, height);
  if (longest <= maxEdge) return { width, height };
  const scale = maxEdge / longest;
  return { width: Math.max(1, Math.floor(width * scale)), height: Math.max(1, Math.floor(height * scale)) };
}

const RPC_JSON_BYTES_KEY = ',"rpc_json_bytes":';

/**
 * `rpc_json_bytes` for a payload whose compact JSON (without that field) is `baseBytes` long: the
 * field is appended last, so the answer is the fixed point of N = base + key + digits(N).
 */
export function rpcJsonBytesFor(baseBytes: number): number {
  let digits = 1;
  for (;;) {
    const total = baseBytes + RPC_JSON_BYTES_KEY.length + digits;
    const needed = String(total).length;
    if (needed === digits) return total;
    digits = needed;
  }
}

/** Base64 length of `n` bytes (padded); base64 needs no JSON escaping. */
function base64Length(n: number): number {
  return 4 * Math.ceil(n / 3);
}

/**
 * Size of the payload `skeleton` once its empty `data_b64` holds `dataBytes` bytes of base64 and
 * `rpc_json_bytes` is appended. Computed without materialising the base64, so refusals are cheap.
 */
function measure(skeleton: Record<string, unknown>, dataBytes: number): number {
  return rpcJsonBytesFor(Buffer.byteLength(JSON.stringify(skeleton), 'utf8') + base64Length(dataBytes));
}

function invalidParam(parameter: string, problem: string): InvalidParams {
  return new InvalidParams({ message: `Invalid params: ${parameter} ${problem}`, issues: [{ parameter, problem }] });
}

function assertRange(parameter: string, value: number, range: { readonly min: number; readonly max: number }): InvalidParams | undefined {
  if (Number.isInteger(value) && value >= range.min && value <= range.max) return undefined;
  return invalidParam(parameter, `must be an integer in [${range.min}, ${range.max}] (got ${String(value)})`);
}

function tail(request: EncodeFrameRequest): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (request.capturedAt !== undefined && Number.isFinite(request.capturedAt)) fields['captured_at'] = new Date(request.capturedAt).toISOString();
  if (request.ageMs !== undefined && Number.isFinite(request.ageMs)) fields['age_ms'] = Math.max(0, Math.round(request.ageMs));
  if (request.target !== undefined) fields['target'] = request.target;
  return fields;
}

function tooLarge(encoding: FrameEncoding, rpcJsonBytes: number, maxPayloadBytes: number, hint: string): PayloadTooLarge {
  return new PayloadTooLarge({
    message: `encoded frame too large for Device Connect RPC (${rpcJsonBytes} bytes of JSON > ${maxPayloadBytes} limit); ${hint}, or fetch video over a side channel`,
    encoding,
    rpcJsonBytes,
    maxPayloadBytes,
    alternatives: TOO_LARGE_ALTERNATIVES,
  });
}

/** A raw payload's base64: I420 becomes RGB first (in a lent buffer), since raw consumers expect [h, w, c]. */
function rawBase64(frame: VideoFrameInput): string {
  if (frame.pixelFormat !== 'i420') return asBuffer(frame.data).toString('base64');
  const rgb = i420ToRgb(frame.data, frame.width, frame.height, frame.matrix ?? DEFAULT_YUV_MATRIX, scratch.borrow(frame.width * frame.height * 3));
  try {
    return rgb.toString('base64');
  } finally {
    scratch.giveBack(rgb);
  }
}

/** Pixels sharp reads; `lent` is the scratch buffer to give back once sharp is done with them. */
interface JpegSource {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3 | 4;
  readonly lent?: Buffer;
}

/**
 * Pixels sharp starts from for a JPEG of `target` size. An I420 frame going to a quarter of its size
 * or less (a thumbnail) is converted at quarter resolution (4×4 box), one going to half or less at
 * half resolution (2×2 box, i420.ts): a fraction of the conversion work and of sharp's input, and no
 * Lanczos pass when the box lands on the target (bench: 720p I420 → jpeg 640 went from 10.9 to 3.2 ms
 * p50 on 2 cores; a 320 thumbnail's sharp time from ~1.8 to ~0.7 ms).
 */
function jpegSource(frame: VideoFrameInput, target: { width: number; height: number }): JpegSource {
  if (frame.pixelFormat !== 'i420') return { data: frame.data, width: frame.width, height: frame.height, channels: frame.channels };
  const matrix = frame.matrix ?? DEFAULT_YUV_MATRIX;
  const fits = (k: number) => target.width * k <= frame.width && target.height * k <= frame.height;
  const scale = fits(4) && quarterConvertible(frame.data, frame.width, frame.height) ? 4 : fits(2) && frame.width % 2 === 0 && frame.height % 2 === 0 ? 2 : 1;
  const [width, height] = [frame.width / scale, frame.height / scale];
  const lent = scratch.borrow(width * height * 3);
  const convert = scale === 4 ? i420ToRgbQuarter : scale === 2 ? i420ToRgbHalf : i420ToRgb;
  return { data: convert(frame.data, frame.width, frame.height, matrix, lent), width, height, channels: 3, lent };
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Encodes `frame` as `request.encoding`. Success is the reply payload, at most the budget in compact
 * JSON; failures are typed: InvalidFrame (geometry vs bytes), InvalidParams (encoding, max_edge,
 * quality out of range), PayloadTooLarge (over budget and not allowed), HandlerFailed (sharp threw).
 */
export async function encodeVideoFrame(
  frame: VideoFrameInput,
  request: EncodeFrameRequest,
  settings: FrameEncoderSettings = DEFAULT_SETTINGS,
): Promise<Result.Result<VideoFramePayload, FrameEncodingError>> {
  const checked = validateFrame(frame);
  if (Result.isFailure(checked)) return Result.fail(checked.failure);
  if (!(FRAME_ENCODINGS as ReadonlyArray<string>).includes(request.encoding)) {
    return Result.fail(invalidParam('encoding', `must be one of ${FRAME_ENCODINGS.join(', ')} (got ${String(request.encoding)})`));
  }
  // Only ever tighter than the hard cap; a nonsensical setting (NaN, ≤ 0) falls back to the cap.
  const tighter = settings.maxPayloadBytes;
  const maxPayloadBytes = tighter !== undefined && Number.isInteger(tighter) && tighter > 0 ? Math.min(tighter, MAX_RPC_PAYLOAD_BYTES) : MAX_RPC_PAYLOAD_BYTES;
  const rangeError =
    (request.maxEdge !== undefined ? assertRange('max_edge', request.maxEdge, MAX_EDGE_RANGE) : undefined) ??
    (request.quality !== undefined ? assertRange('quality', request.quality, QUALITY_RANGE) : undefined);
  if (rangeError) return Result.fail(rangeError);

  if (request.encoding === 'raw') return encodeRaw(frame, request, settings, maxPayloadBytes);
  return encodeJpeg(frame, request.encoding, request, maxPayloadBytes);
}

/**
 * Warning on an over-budget raw frame sent because operator and call both allowed it. It names no
 * byte count, so it does not change the `rpc_json_bytes` it sits next to.
 */
const OVERSIZE_RAW_WARNING =
  `raw frame exceeds the ${MAX_RPC_PAYLOAD_BYTES}-byte Device Connect RPC budget (see rpc_json_bytes); portal NATS limits (~1 MiB) may drop it; prefer encoding=jpeg or thumbnail`;

function encodeRaw(
  frame: VideoFrameInput,
  request: EncodeFrameRequest,
  settings: FrameEncoderSettings,
  maxPayloadBytes: number,
): Result.Result<RawFramePayload, PayloadTooLarge> {
  const channels = frame.pixelFormat === 'i420' ? 3 : frame.channels;
  const byteSize = frame.width * frame.height * channels;
  const skeleton: Record<string, unknown> = {
    status: 'success',
    kind: 'video_frame',
    encoding: 'raw',
    dtype: RAW_DTYPE,
    shape: [frame.height, frame.width, channels],
    width: frame.width,
    height: frame.height,
    byte_size: byteSize,
    data_b64: '',
    ...tail(request),
  };
  let rpcJsonBytes = measure(skeleton, byteSize);
  if (rpcJsonBytes > maxPayloadBytes) {
    // Both must agree: the operator's dev switch and the call's own request (§12 item 5).
    if (!(settings.allowOversizeRaw && request.allowOversizeRaw === true)) {
      return Result.fail(tooLarge('raw', rpcJsonBytes, maxPayloadBytes, `use encoding 'jpeg' or 'thumbnail'`));
    }
    skeleton['nats_payload_warning'] = OVERSIZE_RAW_WARNING;
    rpcJsonBytes = measure(skeleton, byteSize);
  }
  return Result.succeed({ ...skeleton, data_b64: rawBase64(frame), rpc_json_bytes: rpcJsonBytes } as RawFramePayload);
}

async function encodeJpeg(
  frame: VideoFrameInput,
  encoding: 'jpeg' | 'thumbnail',
  request: EncodeFrameRequest,
  maxPayloadBytes: number,
): Promise<Result.Result<JpegFramePayload, FrameEncodingError>> {
  const preset = ENCODING_PRESETS[encoding];
  const quality = request.quality ?? preset.quality;
  const target = fitWithin(frame.width, frame.height, request.maxEdge ?? preset.maxEdge);
  const source = jpegSource(frame, target);
  const channels = source.channels;
  let jpeg: Buffer;
  let width: number;
  let height: number;
  try {
    const sharp = await loadSharp();
    let pipeline = sharp(asBuffer(source.data), { raw: { width: source.width, height: source.height, channels } });
    if (channels === 4) pipeline = pipeline.removeAlpha();
    // libvips would widen one band to sRGB on output; keep grey frames a one-channel JPEG (as Pillow's L).
    if (channels === 1) pipeline = pipeline.toColourspace('b-w');
    if (target.width !== source.width || target.height !== source.height) {
      pipeline = pipeline.resize(target.width, target.height, { fit: 'fill', kernel: RESIZE_KERNEL });
    }
    const out = await pipeline
      .jpeg({ quality, optimiseCoding: JPEG_OPTIMISE_CODING, chromaSubsampling: JPEG_CHROMA_SUBSAMPLING })
      .toBuffer({ resolveWithObject: true });
    jpeg = out.data;
    width = out.info.width;
    height = out.info.height;
  } catch (error) {
    return Result.fail(new HandlerFailed({ message: `JPEG encoding failed: ${error instanceof Error ? error.message : String(error)}` }));
  } finally {
    // sharp has read the pixels (or failed): the next capture may write into them.
    if (source.lent) scratch.giveBack(source.lent);
  }
  const skeleton = {
    status: 'success',
    kind: 'video_frame',
    encoding,
    format: 'jpeg',
    width,
    height,
    jpeg_quality: quality,
    byte_size: jpeg.length,
    data_b64: '',
    ...tail(request),
  } as const;
  const rpcJsonBytes = measure(skeleton, jpeg.length);
  if (rpcJsonBytes > maxPayloadBytes) {
    return Result.fail(tooLarge(encoding, rpcJsonBytes, maxPayloadBytes, `use a smaller max_edge or a lower quality, or encoding 'thumbnail'`));
  }
  return Result.succeed({ ...skeleton, data_b64: jpeg.toString('base64'), rpc_json_bytes: rpcJsonBytes } as JpegFramePayload);
}

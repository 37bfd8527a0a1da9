// Copies a decoded node-av picture out of FFmpeg's memory as tightly packed planar I420 (Y w×h,
// then U and V ⌈w/2⌉×⌈h/2⌉ each, no line padding), the layout frame-encoding.ts takes. Every
// layout goes through swscale into a picture of the converter's own (plain yuv420p by swscale's
// unscaled copy; full-range yuvj420p, 4:2:2/4:4:4, NV12 converted), whose planes are then copied
// without stride padding. Owns the conversion, its cached scaler and picture; it does not decode
// (video-decoder.ts) nor keep pictures.
import * as Result from 'effect/Result';
import {
  AV_PIX_FMT_YUV420P,
  AVCOL_SPC_BT470BG,
  AVCOL_SPC_BT709,
  AVCOL_SPC_SMPTE170M,
  type AVPixelFormat,
  Frame,
  SWS_BILINEAR,
  SoftwareScaleContext,
} from 'node-av';
import { MediaTransportFailed } from '../../media/media-link.ts';
import type { YuvMatrix } from '../../media/encoding/i420.ts';

export interface PackedI420 {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** Set when the stream says which YUV matrix it uses. */
  readonly matrix?: YuvMatrix;
  /** Hands `data` back for reuse by a later picture (see VideoDecoder.picture); optional to call. */
  readonly release?: () => void;
}

export function i420Size(width: number, height: number): number {
  return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
}

function matrixOf(frame: Frame): YuvMatrix | undefined {
  const space = frame.colorSpace;
  if (space === AVCOL_SPC_BT709) return 'bt709';
  if (space === AVCOL_SPC_BT470BG || space === AVCOL_SPC_SMPTE170M) return 'bt601';
  return undefined;
}

function failed(message: string): Result.Result<never, MediaTransportFailed> {
  return Result.fail(new MediaTransportFailed({ stage: 'decode', message }));
}

/** A yuv420p picture's planes and line sizes as JavaScript views of FFmpeg's memory. */
interface Planes {
  readonly data: ReadonlyArray<Buffer>;
  readonly strides: ReadonlyArray<number>;
}

/**
 * Copies a yuv420p picture's planes into `into` without line padding (what toBuffer does into a new
 * buffer). False when the layout is not the expected one (the caller then falls back to toBuffer).
 */
function copyPlanes(planes: Planes, width: number, height: number, into: Buffer): boolean {
  if (planes.data.length < 3) return false;
  const sides = [[width, height], [Math.ceil(width / 2), Math.ceil(height / 2)], [Math.ceil(width / 2), Math.ceil(height / 2)]] as const;
  let offset = 0;
  for (let p = 0; p < 3; p++) {
    const [w, h] = sides[p] as readonly [number, number];
    const plane = planes.data[p] as Buffer;
    const stride = planes.strides[p] ?? 0;
    if (stride < w || plane.length < stride * (h - 1) + w) return false;
    if (stride === w) into.set(plane.subarray(0, w * h), offset);
    else for (let row = 0; row < h; row++) into.set(plane.subarray(row * stride, row * stride + w), offset + row * w);
    offset += w * h;
  }
  return true;
}

/**
 * Converts pictures to packed I420 through one swscale context and one picture of its own, kept for
 * the last input geometry; a yuv420p input is copied by swscale's unscaled path. Why not read the
 * decoder's picture directly: every `Frame.data` read makes node-av wrap each plane in a new
 * Buffer, and V8 counts those 1.38 MB (720p) as external memory until a full collection — a
 * mark-compact every ~46 pictures while captures ran (issue 11). The own picture's planes are
 * wrapped once, when it is allocated, and swscale writes into that same memory every time.
 */
export class I420Converter {
  #scaler: { ctx: SoftwareScaleContext; out: Frame; key: string; planes: Planes | null } | null = null;

  /** Copies `frame` out as packed I420, into `into` when given and of the right size. */
  convert(frame: Frame, into?: Buffer): Result.Result<PackedI420, MediaTransportFailed> {
    const { width, height } = frame;
    if (width <= 0 || height <= 0) return failed(`decoded picture has no size (${width}×${height})`);
    const copied = this.#intoOwnPicture(frame);
    if (Result.isFailure(copied)) return Result.fail(copied.failure);
    const source = copied.success;
    const planes = this.#scaler?.planes ?? null;
    let data: Buffer;
    try {
      data = into !== undefined && into.length === i420Size(width, height) && planes !== null && copyPlanes(planes, width, height, into) ? into : source.toBuffer();
    } catch (error) {
      return failed(`copying the decoded picture failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    const expected = i420Size(width, height);
    if (data.length !== expected) return failed(`decoded picture is ${data.length} bytes, I420 ${width}×${height} needs ${expected}`);
    const matrix = matrixOf(frame);
    return Result.succeed(matrix === undefined ? { data, width, height } : { data, width, height, matrix });
  }

  #intoOwnPicture(frame: Frame): Result.Result<Frame, MediaTransportFailed> {
    const { width, height } = frame;
    const format = frame.format as AVPixelFormat;
    const key = `${width}x${height}:${format}`;
    if (this.#scaler?.key !== key) {
      this.close();
      const ctx = new SoftwareScaleContext();
      ctx.getContext(width, height, format, width, height, AV_PIX_FMT_YUV420P, SWS_BILINEAR);
      const ret = ctx.initContext();
      if (ret < 0) {
        ctx.freeContext();
        return failed(`swscale cannot convert pixel format ${format} to yuv420p (${ret})`);
      }
      const out = new Frame();
      out.alloc();
      out.width = width;
      out.height = height;
      out.format = AV_PIX_FMT_YUV420P;
      const allocated = out.getBuffer(0);
      if (allocated < 0) {
        ctx.freeContext();
        out.free();
        return failed(`allocating the I420 picture failed (${allocated})`);
      }
      const data = out.data;
      this.#scaler = { ctx, out, key, planes: data === null ? null : { data, strides: [...out.linesize] } };
    }
    const scaler = this.#scaler;
    if (scaler === null) return failed('no scaler');
    const ret = scaler.ctx.scaleFrameSync(scaler.out, frame);
    if (ret < 0) return failed(`swscale failed (${ret})`);
    return Result.succeed(scaler.out);
  }

  close(): void {
    if (this.#scaler === null) return;
    this.#scaler.ctx.freeContext();
    this.#scaler.out.free();
    this.#scaler = null;
  }
}

// Copies a decoded node-av picture out of FFmpeg's memory as tightly packed planar I420 (Y w×h,
// then U and V ⌈w/2⌉×⌈h/2⌉ each, no line padding), the layout frame-encoding.ts takes. Plain
// yuv420p is copied plane by plane without stride padding (av_image_copy_to_buffer, align 1);
// any other layout (full-range yuvj420p, 4:2:2/4:4:4, NV12) goes through swscale first. Owns the
// conversion and its cached scaler; it does not decode (video-decoder.ts) nor keep pictures.
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

/** Converts pictures to packed I420; keeps one swscale context for the last input geometry. */
export class I420Converter {
  #scaler: { ctx: SoftwareScaleContext; out: Frame; key: string } | null = null;

  convert(frame: Frame): Result.Result<PackedI420, MediaTransportFailed> {
    const { width, height } = frame;
    if (width <= 0 || height <= 0) return failed(`decoded picture has no size (${width}×${height})`);
    let source = frame;
    if (frame.format !== AV_PIX_FMT_YUV420P) {
      const rescaled = this.#rescale(frame);
      if (Result.isFailure(rescaled)) return Result.fail(rescaled.failure);
      source = rescaled.success;
    }
    let data: Buffer;
    try {
      data = source.toBuffer();
    } catch (error) {
      return failed(`copying the decoded picture failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    const expected = i420Size(width, height);
    if (data.length !== expected) return failed(`decoded picture is ${data.length} bytes, I420 ${width}×${height} needs ${expected}`);
    const matrix = matrixOf(frame);
    return Result.succeed(matrix === undefined ? { data, width, height } : { data, width, height, matrix });
  }

  #rescale(frame: Frame): Result.Result<Frame, MediaTransportFailed> {
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
      this.#scaler = { ctx, out, key };
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

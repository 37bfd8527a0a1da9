// The wireless robot's video encoder, emulated with node-av's libx264: I420 in, one Annex-B access
// unit out per frame, constrained baseline level 3.1, two slices per frame, SPS/PPS in-band before
// every IDR, an IDR every 60 frames, no B-frames, zero latency, ~5 Mbit/s at 720p30
// (reachy-daemon-api.md §9.1 v4l2h264enc settings, h264-webrtc.md §2). `encode(frame, forceIdr)`
// makes the next picture an IDR (what a PLI asks for). Owns the codec context; not timing and not
// RTP. Options go through `setOption` on the context: passing a node-av `Dictionary` to `open2`
// crashed the process at exit (double free, measured with node-av 6.1.1).
import * as Data from 'effect/Data';
import * as Result from 'effect/Result';
import { Codec, CodecContext, FFmpegError, Frame, Packet, Rational } from 'node-av';
import { AVERROR_EAGAIN, AV_PICTURE_TYPE_I, AV_PICTURE_TYPE_NONE, AV_PIX_FMT_YUV420P, FF_ENCODER_LIBX264 } from 'node-av/constants';

/** Frames between IDRs: the robot's I-frame period (v4l2h264enc, §9.1). */
export const H264_KEYFRAME_INTERVAL = 60;
/** Slices per picture, as the spec's pre-encoded stream (h264-webrtc.md §2): consumers must join them. */
export const H264_SLICES = 2;
/** The robot's bitrate at 1280×720@30 (§9.1). */
export const H264_REFERENCE_BITRATE = 5_000_000;
const REFERENCE_PIXEL_RATE = 1280 * 720 * 30;
/** Floor for small test streams: below ~300 kbit/s x264 starts smearing the counter strip. */
export const H264_MIN_BITRATE = 300_000;
/** Level 3.1: 1280×720@30 fits (3600 macroblocks × 30 = 108 000 MB/s), as profile-level-id 42e01f says. */
export const H264_LEVEL = '3.1';
/**
 * x264 speed preset: `ultrafast` costs ~3 ms per 720p frame on the 2-core CI box, so a 30 fps
 * stream takes ~10 % of a core; quality is irrelevant for a test pattern.
 */
export const X264_PRESET = 'ultrafast';
/**
 * x264 details: fixed GOP (no scene-cut IDRs), one thread (deterministic, two slices by `slices`),
 * SPS/PPS before each IDR, and only errors logged (its info lines would fill stderr at every pump start).
 */
export const X264_PARAMS = `keyint=${H264_KEYFRAME_INTERVAL}:min-keyint=${H264_KEYFRAME_INTERVAL}:scenecut=0:repeat-headers=1:threads=1:log=0`;

export class H264EncoderFailed extends Data.TaggedError('H264EncoderFailed')<{
  readonly message: string;
  readonly stage: 'find-codec' | 'configure' | 'open' | 'send-frame' | 'receive-packet' | 'closed';
  /** FFmpeg's negative AVERROR code, 0 when the failure is not FFmpeg's. */
  readonly code: number;
}> {}

export interface H264EncoderOptions {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** Defaults to the robot's 5 Mbit/s scaled by pixel rate (see `defaultH264Bitrate`). */
  readonly bitrate?: number;
}

/** 5 Mbit/s at 720p30, scaled with the pixel rate so smaller test streams keep the quality per pixel. */
export function defaultH264Bitrate(width: number, height: number, fps: number): number {
  return Math.max(H264_MIN_BITRATE, Math.round((H264_REFERENCE_BITRATE * width * height * fps) / REFERENCE_PIXEL_RATE));
}

export interface EncodedAccessUnit {
  /** Annex-B bytes (start codes included). */
  readonly data: Uint8Array;
  readonly keyframe: boolean;
}

export class H264Encoder {
  readonly width: number;
  readonly height: number;
  readonly #context: CodecContext;
  readonly #frame: Frame;
  readonly #packet: Packet;
  #pts = 0n;
  #closed = false;

  private constructor(options: H264EncoderOptions, context: CodecContext) {
    this.width = options.width;
    this.height = options.height;
    this.#context = context;
    this.#frame = new Frame();
    this.#frame.alloc();
    this.#frame.width = options.width;
    this.#frame.height = options.height;
    this.#frame.format = AV_PIX_FMT_YUV420P;
    this.#frame.allocBuffer();
    this.#packet = new Packet();
    this.#packet.alloc();
  }

  static open(options: H264EncoderOptions): Result.Result<H264Encoder, H264EncoderFailed> {
    const codec = Codec.findEncoderByName(FF_ENCODER_LIBX264);
    if (!codec) return Result.fail(new H264EncoderFailed({ message: 'node-av has no libx264 encoder', stage: 'find-codec', code: 0 }));
    const context = new CodecContext();
    context.allocContext3(codec);
    context.width = options.width;
    context.height = options.height;
    context.pixelFormat = AV_PIX_FMT_YUV420P;
    context.timeBase = new Rational(1, options.fps);
    context.framerate = new Rational(options.fps, 1);
    context.gopSize = H264_KEYFRAME_INTERVAL;
    context.maxBFrames = 0;
    context.threadCount = 1;
    context.bitRate = BigInt(options.bitrate ?? defaultH264Bitrate(options.width, options.height, options.fps));
    const settings: Readonly<Record<string, string>> = {
      preset: X264_PRESET,
      tune: 'zerolatency',
      profile: 'baseline',
      level: H264_LEVEL,
      slices: String(H264_SLICES),
      // A picture forced to type I becomes an IDR (not a recovery-point I-frame).
      'forced-idr': '1',
      'x264-params': X264_PARAMS,
    };
    for (const [name, value] of Object.entries(settings)) {
      const code = context.setOption(name, value);
      if (code < 0) {
        context.freeContext();
        return Result.fail(new H264EncoderFailed({ message: `libx264 option ${name}=${value}: ${FFmpegError.strerror(code)}`, stage: 'configure', code }));
      }
    }
    const code = context.open2Sync(codec, null);
    if (code < 0) {
      context.freeContext();
      return Result.fail(new H264EncoderFailed({ message: `libx264 open: ${FFmpegError.strerror(code)}`, stage: 'open', code }));
    }
    return Result.succeed(new H264Encoder(options, context));
  }

  /**
   * Encodes one I420 frame (width×height×1.5 bytes). Zero latency: the access unit of this very
   * frame comes back (null only if the encoder held it, which zerolatency does not do).
   */
  encode(i420: Uint8Array, forceIdr: boolean): Result.Result<EncodedAccessUnit | null, H264EncoderFailed> {
    if (this.#closed) return Result.fail(new H264EncoderFailed({ message: 'encoder closed', stage: 'closed', code: 0 }));
    const frame = this.#frame;
    let code = frame.makeWritable();
    if (code >= 0) code = frame.fromBuffer(Buffer.from(i420.buffer, i420.byteOffset, i420.byteLength));
    if (code < 0) return Result.fail(new H264EncoderFailed({ message: `frame copy: ${FFmpegError.strerror(code)}`, stage: 'send-frame', code }));
    frame.pts = this.#pts++;
    frame.pictType = forceIdr ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    code = this.#context.sendFrameSync(frame);
    if (code < 0) return Result.fail(new H264EncoderFailed({ message: `send frame: ${FFmpegError.strerror(code)}`, stage: 'send-frame', code }));
    const chunks: Buffer[] = [];
    let keyframe = false;
    for (;;) {
      code = this.#context.receivePacketSync(this.#packet);
      if (code === AVERROR_EAGAIN) break; // nothing more for now
      if (code < 0) return Result.fail(new H264EncoderFailed({ message: `receive packet: ${FFmpegError.strerror(code)}`, stage: 'receive-packet', code }));
      const data = this.#packet.data;
      if (data) chunks.push(Buffer.from(data));
      keyframe ||= this.#packet.isKeyframe;
      this.#packet.unref();
    }
    if (chunks.length === 0) return Result.succeed(null);
    return Result.succeed({ data: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks), keyframe });
  }

  /** Frees the native codec context and buffers; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#frame.free();
    this.#packet.free();
    this.#context.freeContext();
  }
}

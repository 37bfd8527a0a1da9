// One in-process video decoder (node-av's libavcodec, h264-webrtc.md §1, §3.1) for H.264 Annex-B
// access units or VP8 frames, driven through the synchronous low-level calls (CodecContext
// sendPacketSync/receiveFrameSync: ~1 ms per 720p frame, no thread-pool round trip). It keeps the
// newest decoded picture inside FFmpeg and copies it out as packed I420 only when asked. Owns the
// codec context, the picture and their release; it does not choose what to decode (lazy-video.ts
// walks the GOP) and never sees RTP. Usable on its own (the offline H.264 test, the benchmark).
import * as Result from 'effect/Result';
import { AV_LOG_FATAL, AVERROR_EAGAIN, AVERROR_EOF, Codec, CodecContext, FF_DECODER_H264, FF_DECODER_VP8, type FFDecoderCodec, FFmpegError, Frame, Log, Packet } from 'node-av';
import { MediaTransportFailed } from '../../media/media-link.ts';
import type { VideoCodec } from '../../media/rtp/video-frame.ts';
import { I420Converter, type PackedI420 } from './frame-to-i420.ts';

/**
 * Decoder threads. One: with frame threading libavcodec holds pictures back by (threads − 1)
 * frames, which a lazy "newest picture now" decode cannot wait for, and the work runs on the
 * calling thread anyway (~1 ms per 720p frame, h264-webrtc.md §3.1).
 */
export const DECODER_THREADS = 1;
/**
 * FFmpeg's own log level, process-wide. libavcodec prints a line per concealed macroblock on every
 * lossy frame straight to stderr, around the project's logger; failures reach us as return codes
 * and are logged (or returned) by the callers, so only fatal messages are left on.
 */
export const FFMPEG_LOG_LEVEL = AV_LOG_FATAL;

const DECODER_NAMES: Readonly<Record<VideoCodec, FFDecoderCodec>> = { h264: FF_DECODER_H264, vp8: FF_DECODER_VP8 };

let logLevelSet = false;

function describe(code: number): string {
  try {
    return `${FFmpegError.strerror(code)} (${code})`;
  } catch {
    return String(code);
  }
}

function decodeFailure(message: string): MediaTransportFailed {
  return new MediaTransportFailed({ stage: 'decode', message });
}

export class VideoDecoder {
  readonly codec: VideoCodec;
  readonly #context: CodecContext;
  readonly #packet = new Packet();
  #work = new Frame();
  #latest = new Frame();
  readonly #converter = new I420Converter();
  #hasPicture = false;
  /** The packed copy of `#latest`, made at most once per picture. */
  #copied: PackedI420 | null = null;
  #decodedFrames = 0;
  #closed = false;

  private constructor(codec: VideoCodec, context: CodecContext) {
    this.codec = codec;
    this.#context = context;
    this.#packet.alloc();
    this.#work.alloc();
    this.#latest.alloc();
  }

  /** Opens a decoder for `codec`. */
  static open(codec: VideoCodec): Result.Result<VideoDecoder, MediaTransportFailed> {
    if (!logLevelSet) {
      Log.setLevel(FFMPEG_LOG_LEVEL);
      logLevelSet = true;
    }
    const found = Codec.findDecoderByName(DECODER_NAMES[codec]);
    if (found === null) return Result.fail(decodeFailure(`this node-av build has no ${DECODER_NAMES[codec]} decoder`));
    const context = new CodecContext();
    context.allocContext3(found);
    context.threadCount = DECODER_THREADS;
    const ret = context.open2Sync(found, null);
    if (ret < 0) {
      context.freeContext();
      return Result.fail(decodeFailure(`opening the ${codec} decoder failed: ${describe(ret)}`));
    }
    return Result.succeed(new VideoDecoder(codec, context));
  }

  /** Pictures produced since the decoder was opened. */
  get decodedFrames(): number {
    return this.#decodedFrames;
  }

  /** True once a picture was decoded since the last `reset()`. */
  get hasPicture(): boolean {
    return this.#hasPicture;
  }

  /**
   * Feeds one access unit (H.264 Annex-B) or frame (VP8). Answers how many pictures came out
   * (0 or 1 here). A corrupt unit fails with stage 'decode'; the decoder stays usable.
   */
  decode(data: Uint8Array): Result.Result<number, MediaTransportFailed> {
    if (this.#closed) return Result.fail(decodeFailure('the decoder is closed'));
    const packet = this.#packet;
    packet.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const sent = this.#context.sendPacketSync(packet);
    packet.unref();
    let pictures = this.#drain();
    if (sent === AVERROR_EAGAIN) {
      // Not expected with one thread (every send is drained at once); retry after draining.
      packet.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const again = this.#context.sendPacketSync(packet);
      packet.unref();
      pictures += this.#drain();
      if (again < 0) return Result.fail(decodeFailure(`the ${this.codec} decoder refused a frame: ${describe(again)}`));
    } else if (sent < 0) {
      return Result.fail(decodeFailure(`the ${this.codec} decoder refused a frame: ${describe(sent)}`));
    }
    return Result.succeed(pictures);
  }

  /** The newest picture as packed I420 (copied once per picture), or null before the first. */
  picture(): Result.Result<PackedI420, MediaTransportFailed> | null {
    if (this.#closed || !this.#hasPicture) return null;
    if (this.#copied !== null) return Result.succeed(this.#copied);
    const converted = this.#converter.convert(this.#latest);
    if (Result.isSuccess(converted)) this.#copied = converted.success;
    return converted;
  }

  /** Forgets the reference pictures and the newest picture: the next input must be a keyframe. */
  reset(): void {
    if (this.#closed) return;
    this.#context.flushBuffers();
    this.#latest.unref();
    this.#hasPicture = false;
    this.#copied = null;
  }

  /** Frees FFmpeg's memory; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#converter.close();
    this.#latest.free();
    this.#work.free();
    this.#packet.free();
    this.#context.freeContext();
    this.#copied = null;
    this.#hasPicture = false;
  }

  #drain(): number {
    let pictures = 0;
    for (;;) {
      const ret = this.#context.receiveFrameSync(this.#work);
      if (ret === AVERROR_EAGAIN || ret === AVERROR_EOF || ret < 0) break;
      // Keep the newest: swap the holders and drop the older picture.
      const previous = this.#latest;
      this.#latest = this.#work;
      this.#work = previous;
      this.#work.unref();
      this.#hasPicture = true;
      this.#copied = null;
      this.#decodedFrames++;
      pictures++;
    }
    return pictures;
  }
}

// Test helper: decodes received video (H.264 Annex-B access units or VP8 frames) with node-av's
// FFmpeg decoders and returns each picture's size and luma plane, so tests can check what the
// emulator's producer really sent. Frames are decoded in order from the first one given (start at a
// keyframe).
import { Codec, CodecContext, Frame, Packet } from 'node-av';
import { AVERROR_EAGAIN, AV_CODEC_ID_H264, AV_CODEC_ID_VP8 } from 'node-av/constants';

export interface DecodedPicture {
  readonly width: number;
  readonly height: number;
  /** Luma rows without stride padding. */
  readonly luma: Uint8Array;
}

export function decodeVideo(codec: 'h264' | 'vp8', frames: readonly Uint8Array[]): DecodedPicture[] {
  const decoder = Codec.findDecoder(codec === 'h264' ? AV_CODEC_ID_H264 : AV_CODEC_ID_VP8);
  if (!decoder) throw new Error(`node-av has no ${codec} decoder`);
  const context = new CodecContext();
  context.allocContext3(decoder);
  context.threadCount = 1;
  const opened = context.open2Sync(decoder, null);
  if (opened < 0) throw new Error(`decoder open failed: ${opened}`);
  const packet = new Packet();
  packet.alloc();
  const frame = new Frame();
  frame.alloc();
  const pictures: DecodedPicture[] = [];
  const drain = (): void => {
    for (;;) {
      const code = context.receiveFrameSync(frame);
      if (code === AVERROR_EAGAIN || code < 0) return;
      const planes = frame.data;
      const stride = frame.linesize[0] ?? frame.width;
      const plane = planes?.[0];
      const luma = new Uint8Array(frame.width * frame.height);
      if (plane) for (let y = 0; y < frame.height; y++) luma.set(plane.subarray(y * stride, y * stride + frame.width), y * frame.width);
      pictures.push({ width: frame.width, height: frame.height, luma });
      frame.unref();
    }
  };
  try {
    for (const data of frames) {
      packet.data = Buffer.from(data);
      const sent = context.sendPacketSync(packet);
      packet.unref();
      if (sent < 0 && sent !== AVERROR_EAGAIN) throw new Error(`decode failed: ${sent}`);
      drain();
    }
    context.sendPacketSync(null);
    drain();
  } finally {
    frame.free();
    packet.free();
    context.freeContext();
  }
  return pictures;
}

/** Mean absolute luma difference of two pictures of the same size. */
export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return sum / a.length;
}

/** Pixels whose luma differs by more than `threshold` levels (coding noise stays well under 16). */
export function changedPixels(a: Uint8Array, b: Uint8Array, threshold = 16): number {
  let count = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs((a[i] ?? 0) - (b[i] ?? 0)) > threshold) count++;
  return count;
}

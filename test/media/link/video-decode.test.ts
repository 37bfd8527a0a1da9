// The decode path without WebRTC (wrtc cannot send H.264): the robot-like H.264 stream from
// libx264 (constrained baseline, two slices, SPS/PPS repeated before each IDR slice, FU-A) through
// createH264Depacketizer into the lazy decoder, and VP8 from libvpx at an odd size for the packed
// I420 copy. Checks pictures against the test pattern, that decoding starts at the last keyframe
// and only feeds new frames, joining mid-GOP, waiting for a first keyframe, serialised requests,
// the decode-ahead window after a request, corrupt input and close.
import { type AVPixelFormat, AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV444P, Codec, CodecContext, type FFEncoderCodec, FF_ENCODER_LIBVPX_VP8, FF_ENCODER_LIBX264, Frame, Packet, Rational } from 'node-av';
import { Result } from 'effect';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LazyVideo } from '../../../src/adapters/media-link/lazy-video.ts';
import { i420Size } from '../../../src/adapters/media-link/frame-to-i420.ts';
import { VideoDecoder } from '../../../src/adapters/media-link/video-decoder.ts';
import { createH264Depacketizer } from '../../../src/media/rtp/h264-depacketizer.ts';
import { openH264TestEncoder, rtph264payPackets, splitAnnexB } from '../../harness/h264-test-encoder.ts';
import { PATTERN, patternI420, regionMean } from '../../harness/test-pattern.ts';
import { framePackets, packetizeVp8 } from '../rtp/rtp-test-packetizer.ts';

const WIDTH = 320;
const HEIGHT = 240;
const GOP = 30;
const FRAMES = 90;
const PT = 102;
/** 90 kHz RTP clock at 30 fps. */
const TICKS_PER_FRAME = 3_000;
const TOLERANCE = 10;

/** The robot-like stream, encoded once: RTP packets per frame. */
const h264Frames: Uint8Array[][] = (() => {
  const encoder = openH264TestEncoder({ width: WIDTH, height: HEIGHT, keyframeInterval: GOP, slices: 2 });
  const aus: Uint8Array[] = [];
  for (let k = 0; k < FRAMES; k++) aus.push(...encoder.encode(patternI420(WIDTH, HEIGHT, k)));
  encoder.close();
  let sequence = 1_000;
  return aus.map((au, k) => {
    const packets = rtph264payPackets(au, sequence, 90_000 + k * TICKS_PER_FRAME, PT);
    sequence += packets.length;
    return packets;
  });
})();

/** Left edge of the moving bar: it shows in the bottom-left (x < w/2) and top-right quadrants. */
function barLeftEdge(picture: { data: Uint8Array; width: number; height: number }): number {
  const threshold = (PATTERN.barY + PATTERN.backgroundY) / 2;
  for (let x = 0; x < picture.width; x++) {
    const y = x < picture.width / 2 ? Math.floor((picture.height * 3) / 4) : Math.floor(picture.height / 4);
    if ((picture.data[y * picture.width + x] as number) > threshold) return x;
  }
  return -1;
}

const expectedBar = (k: number): number => (k * (WIDTH >> 6)) % WIDTH;

const open: Array<{ release(): Promise<void> } | { close(): void }> = [];
afterEach(async () => {
  for (const item of open.splice(0)) {
    if ('release' in item) await item.release();
    else item.close();
  }
});

function lazyVideo(codec: 'h264' | 'vp8' = 'h264', payloadType = PT, ahead: { decodeAheadMs?: number; now?: () => number } = {}): LazyVideo {
  const video = new LazyVideo({ codec, payloadType, sessionStartedAt: () => Date.now(), ...ahead });
  open.push(video);
  return video;
}

function pushFrames(video: LazyVideo, from: number, to: number, frames = h264Frames): { pli: number } {
  let pli = 0;
  for (let k = from; k < to; k++) for (const packet of frames[k] as Uint8Array[]) if (video.push(packet, Date.now()).pli) pli++;
  return { pli };
}

/** An encoder context of `name` at `width`×`height` in `pixelFormat`, 30 fps, opened after `configure` set its codec's options. */
function openEncoder(name: FFEncoderCodec, width: number, height: number, pixelFormat: AVPixelFormat, configure: (ctx: CodecContext) => void): CodecContext {
  const codec = Codec.findEncoderByName(name);
  if (codec === null) throw new Error(`no ${name}`);
  const ctx = new CodecContext();
  ctx.allocContext3(codec);
  ctx.width = width;
  ctx.height = height;
  ctx.pixelFormat = pixelFormat;
  ctx.timeBase = new Rational(1, 30);
  configure(ctx);
  expect(ctx.open2Sync(codec, null)).toBe(0);
  return ctx;
}

/** Sends one picture — `data` in the encoder's size and pixel format — at `pts`. */
function sendPicture(ctx: CodecContext, data: Uint8Array, pts: bigint): void {
  const frame = new Frame();
  frame.alloc();
  frame.width = ctx.width;
  frame.height = ctx.height;
  frame.format = ctx.pixelFormat;
  frame.getBuffer(0);
  frame.fromBuffer(Buffer.from(data));
  frame.pts = pts;
  ctx.sendFrameSync(frame);
  frame.free();
}

/** Appends every packet the encoder has ready to `out`. */
function drainPackets(ctx: CodecContext, packet: Packet, out: Uint8Array[]): void {
  while (ctx.receivePacketSync(packet) >= 0) {
    if (packet.data) out.push(Uint8Array.from(packet.data));
    packet.unref();
  }
}

describe('H.264 decode path (offline)', () => {
  it('the stream looks like the robot’s: two IDR slices, SPS/PPS before each, FU-A', () => {
    const depacketizer = createH264Depacketizer({ payloadType: PT });
    const keyframe = (h264Frames[0] as Uint8Array[]).flatMap((packet) => depacketizer.push(packet, 0)).find((e) => e.type === 'frame');
    expect(keyframe?.type).toBe('frame');
    if (keyframe?.type !== 'frame') return;
    const types = splitAnnexB(keyframe.frame.data).map((nal) => (nal[0] as number) & 0x1f);
    // §5.2: the repeated SPS/PPS after the first slice are dropped by the depacketizer.
    expect(types).toEqual([7, 8, 5, 5]);
    expect((h264Frames[0] as Uint8Array[]).length).toBeGreaterThan(1);
  });

  it('decodes the newest picture as packed I420 matching the pattern (both slices)', async () => {
    const video = lazyVideo();
    pushFrames(video, 0, 50);
    const frame = await video.latestFrame(0);
    expect(Result.isSuccess(frame)).toBe(true);
    if (!Result.isSuccess(frame)) return;
    const picture = frame.success;
    expect(picture).toMatchObject({ pixelFormat: 'i420', width: WIDTH, height: HEIGHT, codec: 'h264' });
    expect(picture.data.length).toBe(i420Size(WIDTH, HEIGHT));
    expect(Math.abs(regionMean(picture, 'y', 'tl') - PATTERN.brightY)).toBeLessThan(TOLERANCE);
    // The bottom-right quadrant lies in the second slice.
    expect(Math.abs(regionMean(picture, 'y', 'br') - PATTERN.darkY)).toBeLessThan(TOLERANCE);
    expect(Math.abs(regionMean(picture, 'u', 'tl') - PATTERN.brightU)).toBeLessThan(TOLERANCE);
    expect(Math.abs(regionMean(picture, 'v', 'tl') - PATTERN.brightV)).toBeLessThan(TOLERANCE);
    // It is frame 49, not an older one.
    expect(Math.abs(barLeftEdge(picture) - expectedBar(49))).toBeLessThanOrEqual(2);
    expect(picture.receivedAt).toBeGreaterThan(0);
  });

  it('decodes lazily: from the last keyframe, then only the frames not fed yet', async () => {
    const video = lazyVideo();
    pushFrames(video, 0, 45); // GOPs start at 0 and 30
    expect(video.counters().decodedFrames).toBe(0);
    const first = await video.latestFrame(0);
    expect(Result.isSuccess(first)).toBe(true);
    expect(video.counters().decodedFrames).toBe(15); // frames 30..44
    pushFrames(video, 45, 50);
    const second = await video.latestFrame(0);
    expect(video.counters().decodedFrames).toBe(20);
    if (Result.isSuccess(second)) expect(Math.abs(barLeftEdge(second.success) - expectedBar(49))).toBeLessThanOrEqual(2);
    // Nothing new: no decoding, same picture.
    await video.latestFrame(0);
    expect(video.counters().decodedFrames).toBe(20);
    pushFrames(video, 50, 90); // new GOP at 60: 60..89
    const third = await video.latestFrame(0);
    expect(video.counters().decodedFrames).toBe(50);
    if (Result.isSuccess(third)) expect(Math.abs(barLeftEdge(third.success) - expectedBar(89))).toBeLessThanOrEqual(2);
    expect(video.counters()).toMatchObject({ frames: 90, keyframes: 3 });
  });

  it('decodes ahead for the window after a request, then only when asked again', async () => {
    let clock = 0;
    const video = lazyVideo('h264', PT, { decodeAheadMs: 1_000, now: () => clock });
    pushFrames(video, 0, 10);
    await new Promise((r) => setImmediate(r));
    expect(video.counters().decodedFrames).toBe(0); // nobody asked yet: nothing decoded
    expect(Result.isSuccess(await video.latestFrame(0))).toBe(true);
    expect(video.counters().decodedFrames).toBe(10);
    clock = 900; // inside the window: each arriving frame is decoded without a request
    pushFrames(video, 10, 15);
    await vi.waitFor(() => expect(video.counters().decodedFrames).toBe(15));
    const ahead = await video.latestFrame(0);
    expect(video.counters().decodedFrames).toBe(15); // the request found its picture decoded
    if (Result.isSuccess(ahead)) expect(Math.abs(barLeftEdge(ahead.success) - expectedBar(14))).toBeLessThanOrEqual(2);
    clock = 1_900 + 1; // the window restarted at that request (900) and has now passed
    pushFrames(video, 15, 20);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(video.counters().decodedFrames).toBe(15);
    await video.latestFrame(0);
    expect(video.counters().decodedFrames).toBe(20);
  });

  it('joined mid-GOP: asks for a keyframe, answers NoFrameYet until one arrives', async () => {
    const video = lazyVideo();
    const { pli } = pushFrames(video, 10, 20);
    expect(pli).toBeGreaterThan(0);
    const before = await video.latestFrame(0);
    expect(Result.isFailure(before) && before.failure._tag).toBe('NoFrameYet');
    pushFrames(video, 20, 35);
    const after = await video.latestFrame(0);
    expect(Result.isSuccess(after)).toBe(true);
    expect(video.counters().decodedFrames).toBe(5);
  });

  it('waits up to waitMs for a first keyframe, and serialises concurrent requests', async () => {
    const video = lazyVideo();
    const waiting = video.latestFrame(5_000);
    const concurrent = video.latestFrame(5_000);
    setTimeout(() => pushFrames(video, 0, 10), 50);
    const [a, b] = await Promise.all([waiting, concurrent]);
    expect(Result.isSuccess(a) && Result.isSuccess(b)).toBe(true);
    expect(video.counters().decodedFrames).toBe(10);
    const timedOut = await lazyVideo().latestFrame(100);
    expect(Result.isFailure(timedOut) && timedOut.failure._tag).toBe('NoFrameYet');
  });

  it('answers MediaLinkClosed after close, also to a request that was waiting', async () => {
    const video = lazyVideo();
    const waiting = video.latestFrame(5_000);
    video.close();
    const result = await waiting;
    expect(Result.isFailure(result) && result.failure._tag).toBe('MediaLinkClosed');
    await video.release();
    const after = await video.latestFrame(0);
    expect(Result.isFailure(after) && after.failure._tag).toBe('MediaLinkClosed');
  });

  it('a corrupt access unit fails with stage decode and the decoder recovers at the next keyframe', () => {
    const opened = VideoDecoder.open('h264');
    expect(Result.isSuccess(opened)).toBe(true);
    if (!Result.isSuccess(opened)) return;
    const decoder = opened.success;
    open.push(decoder);
    const garbage = decoder.decode(Uint8Array.of(0, 0, 0, 1, 0x65, 0xff, 0xff, 0xff, 0x00, 0x00, 0x03, 0x01, 0x02));
    expect(Result.isFailure(garbage) && garbage.failure.stage).toBe('decode');
    const depacketizer = createH264Depacketizer({ payloadType: PT });
    for (const packet of h264Frames[30] as Uint8Array[]) {
      for (const event of depacketizer.push(packet, 0)) if (event.type === 'frame') decoder.decode(event.frame.data);
    }
    expect(decoder.hasPicture).toBe(true);
    const picture = decoder.picture();
    expect(picture !== null && Result.isSuccess(picture) && picture.success.width).toBe(WIDTH);
  });
});

describe('released pictures lend their buffer to the next copy (issue 11)', () => {
  /** Decodes frames [from, to) of the stream into `decoder`. */
  function feed(decoder: VideoDecoder, depacketizer: ReturnType<typeof createH264Depacketizer>, from: number, to: number): void {
    for (let k = from; k < to; k++) {
      for (const packet of h264Frames[k] as Uint8Array[]) for (const event of depacketizer.push(packet, 0)) if (event.type === 'frame') decoder.decode(event.frame.data);
    }
  }

  function openPair(): [VideoDecoder, VideoDecoder] {
    const [a, b] = [VideoDecoder.open('h264'), VideoDecoder.open('h264')];
    if (!Result.isSuccess(a) || !Result.isSuccess(b)) throw new Error('decoder did not open');
    open.push(a.success, b.success);
    return [a.success, b.success];
  }

  function take(decoder: VideoDecoder): { data: Uint8Array; release?: () => void; width: number; height: number } {
    const picture = decoder.picture();
    if (picture === null || Result.isFailure(picture)) throw new Error('no picture');
    return picture.success;
  }

  it('a released picture’s buffer holds the next picture, byte for byte what a fresh copy holds', () => {
    // `reused` has its pictures released; `fresh`, fed the same stream, never releases (new copies).
    const [reused, fresh] = openPair();
    const [d1, d2] = [createH264Depacketizer({ payloadType: PT }), createH264Depacketizer({ payloadType: PT })];
    feed(reused, d1, 0, 5);
    feed(fresh, d2, 0, 5);
    const first = take(reused);
    const firstData = first.data;
    first.release?.();
    for (const [from, next] of [[5, 10], [10, 20]] as const) {
      feed(reused, d1, from, next);
      feed(fresh, d2, from, next);
      const picture = take(reused);
      expect(picture.data).toBe(firstData);
      expect(Buffer.from(picture.data).equals(Buffer.from(take(fresh).data))).toBe(true);
      expect(barLeftEdge(picture)).toBe(expectedBar(next - 1));
      picture.release?.();
    }
  });

  it('copying pictures out leaves no external memory behind for the collector (no plane views per picture)', () => {
    // Reading a decoder picture's planes wraps each in a new Buffer that V8 counts as external memory
    // until a full collection: 115 kB per 320×240 picture, a mark-compact every ~46 720p captures.
    const [decoder] = openPair();
    const depacketizer = createH264Depacketizer({ payloadType: PT });
    feed(decoder, depacketizer, 0, 2);
    take(decoder).release?.();
    const before = process.memoryUsage().external;
    for (let k = 2; k < 22; k++) {
      feed(decoder, depacketizer, k, k + 1);
      const picture = take(decoder);
      expect(barLeftEdge(picture)).toBe(expectedBar(k));
      picture.release?.();
    }
    expect(process.memoryUsage().external - before).toBeLessThan(i420Size(WIDTH, HEIGHT));
  });

  it('a picture still held is never overwritten: the next picture gets its own buffer', () => {
    const [decoder] = openPair();
    const depacketizer = createH264Depacketizer({ payloadType: PT });
    feed(decoder, depacketizer, 0, 5);
    const held = take(decoder);
    const again = take(decoder);
    again.release?.();
    const before = Buffer.from(held.data);
    feed(decoder, depacketizer, 5, 12);
    const next = take(decoder);
    expect(next.data).not.toBe(held.data);
    expect(Buffer.from(held.data).equals(before)).toBe(true);
    expect(barLeftEdge(held)).toBe(expectedBar(4));
    expect(barLeftEdge(next)).toBe(expectedBar(11));
  });
});

describe('pictures not in plain yuv420p go through swscale', () => {
  it('H.264 High 4:4:4 decodes to packed I420 with the pattern’s chroma', () => {
    const ctx = openEncoder(FF_ENCODER_LIBX264, WIDTH, HEIGHT, AV_PIX_FMT_YUV444P, (c) => {
      c.maxBFrames = 0;
      c.setOption('preset', 'ultrafast');
      c.setOption('tune', 'zerolatency');
    });
    // The pattern at full chroma resolution: U/V planes are w×h.
    const i420 = patternI420(WIDTH, HEIGHT, 0);
    const yuv444 = new Uint8Array(WIDTH * HEIGHT * 3);
    yuv444.set(i420.subarray(0, WIDTH * HEIGHT));
    const cw = WIDTH / 2;
    for (let y = 0; y < HEIGHT; y++) {
      for (let x = 0; x < WIDTH; x++) {
        const c = (y >> 1) * cw + (x >> 1);
        yuv444[WIDTH * HEIGHT + y * WIDTH + x] = i420[WIDTH * HEIGHT + c] as number;
        yuv444[2 * WIDTH * HEIGHT + y * WIDTH + x] = i420[WIDTH * HEIGHT + cw * (HEIGHT / 2) + c] as number;
      }
    }
    sendPicture(ctx, yuv444, 0n);
    ctx.sendFrameSync(null);
    const packet = new Packet();
    packet.alloc();
    const units: Uint8Array[] = [];
    drainPackets(ctx, packet, units);
    packet.free();
    ctx.freeContext();
    expect(units.length).toBe(1);

    const opened = VideoDecoder.open('h264');
    if (!Result.isSuccess(opened)) throw new Error('decoder did not open');
    const decoder = opened.success;
    open.push(decoder);
    expect(Result.isSuccess(decoder.decode(units[0] as Uint8Array))).toBe(true);
    const picture = decoder.picture();
    if (picture === null || Result.isFailure(picture)) throw new Error('no picture');
    expect(picture.success.data.length).toBe(i420Size(WIDTH, HEIGHT));
    expect(Math.abs(regionMean(picture.success, 'y', 'tl') - PATTERN.brightY)).toBeLessThan(TOLERANCE);
    expect(Math.abs(regionMean(picture.success, 'y', 'br') - PATTERN.darkY)).toBeLessThan(TOLERANCE);
    expect(Math.abs(regionMean(picture.success, 'u', 'tl') - PATTERN.brightU)).toBeLessThan(TOLERANCE);
    expect(Math.abs(regionMean(picture.success, 'v', 'tl') - PATTERN.brightV)).toBeLessThan(TOLERANCE);
    expect(Math.abs(regionMean(picture.success, 'u', 'br') - PATTERN.neutralChroma)).toBeLessThan(TOLERANCE);
  });
});

describe('VP8 decode path (offline), odd size', () => {
  const W = 321;
  const H = 241;

  function encodeVp8(count: number): Uint8Array[] {
    const ctx = openEncoder(FF_ENCODER_LIBVPX_VP8, W, H, AV_PIX_FMT_YUV420P, (c) => {
      c.gopSize = 30;
      c.bitRate = 1_000_000n;
      c.setOption('deadline', 'realtime');
      c.setOption('cpu-used', '8');
    });
    const packet = new Packet();
    packet.alloc();
    const out: Uint8Array[] = [];
    for (let k = 0; k < count; k++) {
      sendPicture(ctx, patternI420(W, H, k), BigInt(k));
      drainPackets(ctx, packet, out);
    }
    packet.free();
    ctx.freeContext();
    return out;
  }

  it('decodes through the VP8 depacketizer to tightly packed planes', async () => {
    const frames = encodeVp8(10);
    expect(frames.length).toBe(10);
    let sequence = 7;
    const rtpFrames = frames.map((data, k) => {
      const payloads = packetizeVp8(data, 1_000, { pictureId: { value: k, bits: 15 } });
      const packets = framePackets(payloads, sequence, k * TICKS_PER_FRAME, { payloadType: 96 });
      sequence += packets.length;
      return packets;
    });
    const video = lazyVideo('vp8', 96);
    pushFrames(video, 0, 10, rtpFrames);
    const result = await video.latestFrame(0);
    expect(Result.isSuccess(result)).toBe(true);
    if (!Result.isSuccess(result)) return;
    const picture = result.success;
    expect(picture).toMatchObject({ width: W, height: H, codec: 'vp8', pixelFormat: 'i420' });
    expect(picture.data.length).toBe(W * H + 2 * 161 * 121);
    expect(Math.abs(regionMean(picture, 'y', 'tl') - PATTERN.brightY)).toBeLessThan(TOLERANCE);
    expect(Math.abs(regionMean(picture, 'y', 'br') - PATTERN.darkY)).toBeLessThan(TOLERANCE);
    expect(Math.abs(regionMean(picture, 'u', 'tl') - PATTERN.brightU)).toBeLessThan(TOLERANCE);
    expect(Math.abs(regionMean(picture, 'v', 'tl') - PATTERN.brightV)).toBeLessThan(TOLERANCE);
  });
});

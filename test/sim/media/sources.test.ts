// The emulator producer's pure parts: the test pattern (scenes, counter, noise statistics), the tone
// source, the received-audio meter, the drop-not-queue ticker, the H.264 RTP packetizer (checked
// against the driver's own depacketizer) and the RTCP keyframe-request parser.
import { afterEach, describe, expect, test } from 'vitest';
import { createH264Depacketizer } from '../../../src/media/rtp/h264-depacketizer.ts';
import { ReceivedAudioMeter } from '../../../src/sim/media/audio-meter.ts';
import { H264RtpPacketizer, splitAnnexB } from '../../../src/sim/media/h264-rtp-packetizer.ts';
import { MediaTicker, type TickInfo } from '../../../src/sim/media/media-ticker.ts';
import { keyframeRequests } from '../../../src/sim/media/rtcp-feedback.ts';
import { pliPacket } from '../../../src/media/rtp/rtcp-packets.ts';
import { RtpWriter } from '../../../src/sim/media/rtp-writer.ts';
import { BOX_SWEEP_PERIOD_MS, SENSOR_NOISE_SIGMA, TestPattern, i420Size } from '../../../src/sim/media/test-pattern.ts';
import { ToneSource } from '../../../src/sim/media/tone-source.ts';

function lumaStats(a: Uint8Array, b: Uint8Array, count: number): { meanAbs: number; sd: number } {
  let abs = 0;
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < count; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    abs += Math.abs(d);
    sum += d;
    squares += d * d;
  }
  const mean = sum / count;
  return { meanAbs: abs / count, sd: Math.sqrt(squares / count - mean * mean) };
}

describe('test pattern', () => {
  const pattern = new TestPattern(320, 240);
  const luma = 320 * 240;

  test('frames are I420 of the right size', () => {
    expect(pattern.render('moving', 0, 0)).toHaveLength(i420Size(320, 240));
    expect(i420Size(320, 240)).toBe(320 * 240 * 1.5);
    expect(() => new TestPattern(321, 240)).toThrow(RangeError);
  });

  test('moving: the box sweeps across the frame and the counter shows the frame index', () => {
    const a = pattern.boxAt('moving', 0);
    const b = pattern.boxAt('moving', BOX_SWEEP_PERIOD_MS / 4);
    expect(b.x).toBeGreaterThan(a.x + 50);
    expect(pattern.boxAt('moving', BOX_SWEEP_PERIOD_MS).x).toBe(a.x);
    const f1 = pattern.render('moving', 0, 1234);
    const f2 = pattern.render('moving', 100, 1235);
    expect(pattern.readCounter(f1)).toBe(1234);
    expect(pattern.readCounter(f2)).toBe(1235);
    expect(lumaStats(f1, f2, luma).meanAbs).toBeGreaterThan(0.5);
  });

  test('static: bit-identical frames whatever the time and index', () => {
    const f1 = pattern.render('static', 0, 0);
    const f2 = pattern.render('static', 12_345, 777);
    expect(Buffer.from(f1).equals(Buffer.from(f2))).toBe(true);
  });

  test('static-noisy: the static scene plus zero-mean noise of σ≈5 that changes every frame', () => {
    const still = pattern.render('static', 0, 0);
    const n1 = pattern.render('static-noisy', 0, 1);
    const n2 = pattern.render('static-noisy', 0, 2);
    const vsStill = lumaStats(n1, still, luma);
    expect(vsStill.sd).toBeGreaterThan(SENSOR_NOISE_SIGMA * 0.9);
    expect(vsStill.sd).toBeLessThan(SENSOR_NOISE_SIGMA * 1.1);
    // Two noisy frames differ by noise only: σ√2 per pixel, nothing structured.
    const between = lumaStats(n1, n2, luma);
    expect(between.sd).toBeGreaterThan(SENSOR_NOISE_SIGMA * Math.SQRT2 * 0.85);
    expect(between.sd).toBeLessThan(SENSOR_NOISE_SIGMA * Math.SQRT2 * 1.15);
    // Chroma untouched, and the same index gives the same noise (reproducible).
    expect(Buffer.from(n1.subarray(luma)).equals(Buffer.from(still.subarray(luma)))).toBe(true);
    expect(Buffer.from(pattern.render('static-noisy', 5, 1)).equals(Buffer.from(n1))).toBe(true);
  });
});

describe('tone source', () => {
  test('a 440 Hz tone at amplitude 0.3 has RMS 0.212 and continues its phase across reads', () => {
    const source = new ToneSource(48_000, { frequencyHz: 440, amplitude: 0.3 });
    const meter = new ReceivedAudioMeter(() => 0);
    for (let i = 0; i < 50; i++) meter.push(source.read(480, 2), 2, 48_000);
    const summary = meter.summary(1_000);
    expect(summary.samples).toBe(24_000);
    expect(summary.rms).toBeCloseTo(0.3 / Math.SQRT2, 3);
    expect(summary.frequencyHz).toBeCloseTo(440, -1);
    // Phase continuity: no jump bigger than one sample step anywhere across chunk borders.
    const fresh = new ToneSource(48_000, { frequencyHz: 440, amplitude: 1 });
    const joined = [...fresh.read(100, 1), ...fresh.read(100, 1)];
    const maxStep = 32_767 * 2 * Math.PI * (440 / 48_000);
    for (let i = 1; i < joined.length; i++) expect(Math.abs((joined[i] ?? 0) - (joined[i - 1] ?? 0))).toBeLessThanOrEqual(maxStep + 1);
  });

  test('null is silence; bad tones are refused', () => {
    const source = new ToneSource(48_000);
    source.setTone(null);
    expect(source.read(480, 1).every((v) => v === 0)).toBe(true);
    expect(() => source.setTone({ frequencyHz: 30_000, amplitude: 0.5 })).toThrow(RangeError);
    expect(() => source.setTone({ frequencyHz: 440, amplitude: 1.5 })).toThrow(RangeError);
  });
});

describe('received-audio meter', () => {
  test('summarises only what arrived within the window; silence has no frequency', () => {
    let now = 0;
    const meter = new ReceivedAudioMeter(() => now);
    const tone = new ToneSource(48_000, { frequencyHz: 1_000, amplitude: 0.5 });
    for (let i = 0; i < 100; i++, now += 10) meter.push(tone.read(480, 1), 1, 48_000);
    expect(meter.summary(500).frequencyHz).toBeCloseTo(1_000, -1);
    expect(meter.summary(500).rms).toBeCloseTo(0.5 / Math.SQRT2, 2);
    now += 2_000;
    expect(meter.summary(500)).toEqual({ samples: 48_000, rms: 0, frequencyHz: null });
    meter.push(new Int16Array(480), 1, 48_000);
    expect(meter.summary(500)).toMatchObject({ rms: 0, frequencyHz: null });
  });
});

describe('media ticker', () => {
  let ticker: MediaTicker | null = null;
  afterEach(() => ticker?.stop());

  test('a stalled event loop skips ticks instead of queueing them', async () => {
    const ticks: TickInfo[] = [];
    ticker = new MediaTicker(10, (tick) => {
      ticks.push(tick);
      if (tick.index === 2) {
        const until = performance.now() + 80;
        while (performance.now() < until) {
          // busy: the loop is blocked for 8 periods
        }
      }
    });
    ticker.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    ticker.stop();
    const afterStall = ticks.find((tick) => tick.index > 2);
    expect(afterStall?.skipped).toBeGreaterThanOrEqual(5);
    // Indices never repeat and media time follows them.
    for (let i = 1; i < ticks.length; i++) expect((ticks[i]?.index ?? 0) > (ticks[i - 1]?.index ?? 0)).toBe(true);
    expect(ticks.every((tick) => tick.mediaTimeMs === tick.index * 10)).toBe(true);
    const count = ticks.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ticks).toHaveLength(count);
  });
});

/** An Annex-B access unit like x264's first IDR: SPS, PPS, SEI, two IDR slices (first_mb 0 and 40). */
function idrAccessUnit(sliceBytes: number): Uint8Array {
  const sps = [0x67, 0x42, 0xc0, 0x1f, 0x8c, 0x8d, 0x40];
  const pps = [0x68, 0xce, 0x3c, 0x80];
  const sei = [0x06, 0x05, 0x01, 0x00, 0x80];
  // first_mb_in_slice ue(v): 0 → '1'; 40 → '00000101001'.
  const slice0 = [0x65, 0x88, ...new Array<number>(sliceBytes).fill(0x11)];
  const slice1 = [0x65, 0x02, 0x90, ...new Array<number>(sliceBytes).fill(0x22)];
  const code = [0, 0, 0, 1];
  return Uint8Array.from([...code, ...sps, ...code, ...pps, ...code, ...sei, ...code, ...slice0, ...code, ...slice1]);
}

describe('H.264 RTP packetizer', () => {
  test('splits Annex-B with 3- and 4-byte start codes', () => {
    const nals = splitAnnexB(Uint8Array.from([0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4]));
    expect(nals.map((nal) => [...nal])).toEqual([[0x67, 1, 2], [0x68, 3], [0x65, 4]]);
  });

  test('SPS/PPS go before each IDR slice, big slices become FU-A, the marker ends the AU; the driver depacketizer rebuilds it', () => {
    const packetizer = new H264RtpPacketizer(1_188);
    const payloads = packetizer.payloads(idrAccessUnit(3_000));
    const types = payloads.map((p) => ((p[0] ?? 0) & 0x1f) === 28 ? ((p[1] ?? 0) & 0x80 ? (p[1] ?? 0) & 0x1f : -1) : (p[0] ?? 0) & 0x1f).filter((t) => t >= 0);
    expect(types).toEqual([7, 8, 6, 5, 7, 8, 5]);
    expect(payloads.every((p) => p.length <= 1_188)).toBe(true);
    const writer = new RtpWriter({ payloadType: 96, ssrc: 42, clockRate: 90_000 });
    const packets = payloads.map((p, i) => writer.packet(p, writer.timestampAt(0), i === payloads.length - 1));
    expect(packets.filter((p) => ((p[1] ?? 0) & 0x80) !== 0)).toHaveLength(1);
    const depacketizer = createH264Depacketizer({ payloadType: 96 });
    const frames = packets.flatMap((packet, i) => depacketizer.push(packet, i)).filter((event) => event.type === 'frame');
    expect(frames).toHaveLength(1);
    const frame = frames[0]?.type === 'frame' ? frames[0].frame : null;
    expect(frame?.keyframe).toBe(true);
    // The depacketizer's §5.2 clean-up drops the repeated SPS/PPS: SPS, PPS, SEI, slice, slice.
    expect(splitAnnexB(frame?.data ?? new Uint8Array()).map((nal) => (nal[0] ?? 0) & 0x1f)).toEqual([7, 8, 6, 5, 5]);
  });

  test('a P frame is its slices only', () => {
    const packetizer = new H264RtpPacketizer();
    packetizer.payloads(idrAccessUnit(10));
    const p = Uint8Array.from([0, 0, 0, 1, 0x41, 0x9a, 1, 2, 0, 0, 0, 1, 0x41, 0x02, 3]);
    expect(packetizer.payloads(p).map((payload) => (payload[0] ?? 0) & 0x1f)).toEqual([1, 1]);
  });
});

describe('RTCP keyframe requests', () => {
  test('PLI and FIR are found in compound RTCP; other packets are skipped; garbage is harmless', () => {
    const rr = Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 9]);
    const fir = Buffer.alloc(20);
    fir[0] = 0x84;
    fir[1] = 206;
    fir.writeUInt16BE(4, 2);
    fir.writeUInt32BE(9, 4);
    fir.writeUInt32BE(77, 12);
    const compound = Buffer.concat([rr, pliPacket(9, 77), fir]);
    expect(keyframeRequests(compound)).toEqual([
      { kind: 'pli', senderSsrc: 9, mediaSsrc: 77 },
      { kind: 'fir', senderSsrc: 9, mediaSsrc: 77 },
    ]);
    expect(keyframeRequests(Buffer.from([0x81, 206, 0, 9, 1]))).toEqual([]);
    expect(keyframeRequests(new Uint8Array())).toEqual([]);
  });
});

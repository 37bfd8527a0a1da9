// The Opus paths on their own, without WebRTC: the sender's pacing and RTP (sequence, timestamp
// +960 per frame and across silence, marker after silence, SSRC, PT, nothing sent while idle,
// queue bound, clear, stop) checked by decoding what it sends; the receiver's decode → mono →
// 16 kHz ring, with duplicates, other payload types and an SSRC change.
import { Decoder, Encoder } from '@evan/opus';
import { Result } from 'effect';
import { afterEach, describe, expect, it } from 'vitest';
import { OpusReceiver } from '../../../src/adapters/media-link/opus-receiver.ts';
import { AUDIO_OUT_MAX_QUEUE_MS, OPUS_FRAME_SAMPLES, OpusSender } from '../../../src/adapters/media-link/opus-sender.ts';
import { writeRtpPacket } from '../../../src/adapters/media-link/rtp-packet-writer.ts';
import { PcmRingBuffer } from '../../../src/media/detectors/pcm-ring-buffer.ts';
import { parseRtpPacket, type RtpPacket } from '../../../src/media/rtp/rtp-packet.ts';
import { concat, rms, tone, zeroCrossingFrequency } from './signal-measure.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (predicate()) return true;
    await sleep(10);
  }
  return predicate();
}

const senders: OpusSender[] = [];
afterEach(() => {
  for (const sender of senders.splice(0)) sender.stop();
});

function sender(channels: 1 | 2 = 1): { sender: OpusSender; sent: Array<{ at: number; rtp: RtpPacket }> } {
  const sent: Array<{ at: number; rtp: RtpPacket }> = [];
  const instance = new OpusSender({
    payloadType: 111,
    ssrc: 0xdeadbeef,
    channels,
    send: (packet) => {
      const parsed = parseRtpPacket(packet);
      if (parsed.ok) sent.push({ at: performance.now(), rtp: { ...parsed.packet, payload: Uint8Array.from(parsed.packet.payload) } });
      return true;
    },
  });
  senders.push(instance);
  return { sender: instance, sent };
}

function decodeAll(packets: readonly RtpPacket[], channels: 1 | 2 = 1): Float32Array {
  const decoder = new Decoder({ channels, sample_rate: 48_000 });
  return concat(
    packets.map((p) => {
      const bytes = decoder.decode(p.payload);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const out = new Float32Array(bytes.byteLength / 2 / channels);
      for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2 * channels, true) / 32_768;
      return out;
    }),
  );
}

describe('opus sender', () => {
  it('paces 20 ms RTP frames in real time with consecutive sequence numbers and timestamps', async () => {
    const { sender: s, sent } = sender();
    const queued = s.enqueue(tone(8_000 * 0.5, 8_000, 500, 0.4), 8_000);
    expect(Result.isSuccess(queued) && queued.success.queuedMs).toBeGreaterThan(480);
    await sleep(100);
    // Paced, not flushed at once: ~5–6 frames after 100 ms, never the whole 25.
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(sent.length).toBeLessThan(15);
    expect(await until(() => s.queuedSamples === 0, 3_000)).toBe(true);
    expect(sent.length).toBe(25);
    const elapsed = (sent[sent.length - 1]?.at ?? 0) - (sent[0]?.at ?? 0);
    expect(elapsed).toBeGreaterThan(300);
    for (const [i, { rtp }] of sent.entries()) {
      expect(rtp).toMatchObject({ payloadType: 111, ssrc: 0xdeadbeef, marker: i === 0 });
      if (i > 0) {
        const previous = (sent[i - 1] as { rtp: RtpPacket }).rtp;
        expect(rtp.sequenceNumber).toBe((previous.sequenceNumber + 1) & 0xffff);
        expect(rtp.timestamp).toBe((previous.timestamp + OPUS_FRAME_SAMPLES) >>> 0);
      }
    }
    const decoded = decodeAll(sent.map((p) => p.rtp));
    const middle = decoded.subarray(4_800, decoded.length - 4_800);
    expect(Math.abs(zeroCrossingFrequency(middle, 48_000) - 500)).toBeLessThan(3);
    expect(rms(middle)).toBeGreaterThan((0.4 / Math.SQRT2) * 0.9);
    expect(rms(middle)).toBeLessThan((0.4 / Math.SQRT2) * 1.1);
    // Idle: nothing more goes out.
    await sleep(100);
    expect(sent.length).toBe(25);
  });

  it('after silence: marker on the next packet, RTP time advanced over the gap, sequence continuous', async () => {
    const { sender: s, sent } = sender();
    s.enqueue(new Float32Array(960 * 2).fill(0.1), 48_000);
    expect(await until(() => s.queuedSamples === 0 && sent.length === 2, 2_000)).toBe(true);
    await sleep(200);
    s.enqueue(new Float32Array(960).fill(0.1), 48_000);
    expect(await until(() => sent.length === 3, 2_000)).toBe(true);
    const [, second, third] = sent.map((p) => p.rtp) as [RtpPacket, RtpPacket, RtpPacket];
    expect(third.marker).toBe(true);
    expect(third.sequenceNumber).toBe((second.sequenceNumber + 1) & 0xffff);
    const frames = ((third.timestamp - second.timestamp) >>> 0) / OPUS_FRAME_SAMPLES;
    expect(Number.isInteger(frames)).toBe(true);
    expect(frames).toBeGreaterThanOrEqual(1 + 8); // ≥ 200 ms of silence counted
    expect(frames).toBeLessThan(1 + 30);
  });

  it('stereo: mono input goes out on both channels', async () => {
    const { sender: s, sent } = sender(2);
    s.enqueue(tone(48_000 * 0.2, 48_000, 1_000, 0.3), 48_000);
    expect(await until(() => s.queuedSamples === 0, 2_000)).toBe(true);
    const decoder = new Decoder({ channels: 2, sample_rate: 48_000 });
    const bytes = decoder.decode((sent[5] as { rtp: RtpPacket }).rtp.payload);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let difference = 0;
    let level = 0;
    for (let i = 0; i < bytes.byteLength / 4; i++) {
      difference += Math.abs(view.getInt16(4 * i, true) - view.getInt16(4 * i + 2, true));
      level += Math.abs(view.getInt16(4 * i, true));
    }
    expect(level).toBeGreaterThan(0);
    expect(difference / level).toBeLessThan(0.05);
  });

  it('bounds the queue all-or-nothing, clears it, and refuses after stop', () => {
    const { sender: s, sent } = sender();
    const limitSamples = (AUDIO_OUT_MAX_QUEUE_MS / 1000) * 48_000;
    expect(Result.isFailure(s.enqueue(new Float32Array(limitSamples + 48_000), 48_000))).toBe(true);
    expect(s.queuedSamples).toBe(0);
    expect(Result.isSuccess(s.enqueue(new Float32Array(limitSamples - 48_000), 48_000))).toBe(true);
    const over = s.enqueue(new Float32Array(96_000), 48_000);
    expect(Result.isFailure(over) && over.failure._tag === 'MediaTransportFailed' && over.failure.stage).toBe('send');
    s.clear();
    expect(s.queuedSamples).toBe(0);
    s.stop();
    const count = sent.length;
    const after = s.enqueue(new Float32Array(960), 48_000);
    expect(Result.isFailure(after) && after.failure._tag).toBe('MediaLinkClosed');
    expect(sent.length).toBe(count);
  });
});

describe('opus receiver', () => {
  function packets(ssrc: number, count: number, amplitude: number, hz: number, firstSequence = 100): Buffer[] {
    const encoder = new Encoder({ channels: 2, sample_rate: 48_000 });
    const pcm = tone(OPUS_FRAME_SAMPLES * count, 48_000, hz, amplitude);
    const out: Buffer[] = [];
    for (let n = 0; n < count; n++) {
      const stereo = new Int16Array(OPUS_FRAME_SAMPLES * 2);
      for (let i = 0; i < OPUS_FRAME_SAMPLES; i++) stereo[2 * i] = stereo[2 * i + 1] = Math.round((pcm[n * OPUS_FRAME_SAMPLES + i] as number) * 32_767);
      out.push(writeRtpPacket({ payloadType: 111, marker: n === 0, sequenceNumber: firstSequence + n, timestamp: n * OPUS_FRAME_SAMPLES, ssrc }, encoder.encode(stereo)));
    }
    return out;
  }

  it('decodes to a 16 kHz mono ring at the sent level and pitch, ignoring duplicates and other payload types', () => {
    const ring = new PcmRingBuffer();
    const receiver = new OpusReceiver({ payloadType: 111, ring });
    const stream = packets(1, 100, 0.3, 440);
    for (const [i, packet] of stream.entries()) {
      receiver.push(packet);
      if (i % 10 === 0) receiver.push(packet); // duplicate
    }
    receiver.push(writeRtpPacket({ payloadType: 96, marker: false, sequenceNumber: 500, timestamp: 0, ssrc: 1 }, Uint8Array.of(1, 2, 3)));
    expect(receiver.packets).toBe(100);
    // 100 × 20 ms at 16 kHz, less the resampler's held-back filter delay.
    expect(ring.length).toBeGreaterThan(31_900);
    expect(ring.length).toBeLessThanOrEqual(32_000);
    const second = ring.readLastMs(1_000);
    expect(rms(second)).toBeGreaterThan((0.3 / Math.SQRT2) * 0.9);
    expect(rms(second)).toBeLessThan((0.3 / Math.SQRT2) * 1.1);
    expect(Math.abs(zeroCrossingFrequency(second, 16_000) - 440)).toBeLessThan(3);
  });

  it('decodes only when the ring is read; a clear drops what waits; at most the ring\'s span waits', () => {
    const ring = new PcmRingBuffer();
    const receiver = new OpusReceiver({ payloadType: 111, ring });
    const stream = packets(1, 60, 0.3, 440);
    for (const packet of stream.slice(0, 50)) receiver.push(packet);
    expect(receiver.pendingPackets).toBe(50);
    expect(ring.length).toBeGreaterThan(15_900); // the read decodes: 50 × 20 ms at 16 kHz, less the filter delay
    expect(receiver.pendingPackets).toBe(0);
    for (const packet of stream.slice(50)) receiver.push(packet);
    ring.clear();
    expect(receiver.pendingPackets).toBe(0);
    expect(ring.length).toBe(0);
    // A long quiet: only the ring's span (10 s at 10 ms per packet) waits, the oldest dropped undecoded.
    const small = new PcmRingBuffer({ capacityMs: 200 });
    const lazy = new OpusReceiver({ payloadType: 111, ring: small });
    for (const packet of packets(2, 40, 0.3, 440)) lazy.push(packet);
    expect(lazy.packets).toBe(40);
    expect(lazy.pendingPackets).toBe(20);
    const last = small.readLastMs(100);
    expect(last.length).toBe(1_600);
    expect(rms(last)).toBeGreaterThan((0.3 / Math.SQRT2) * 0.9);
    expect(rms(last)).toBeLessThan((0.3 / Math.SQRT2) * 1.1);
  });

  it('follows a new SSRC (a restarted producer) and stops after close', () => {
    const ring = new PcmRingBuffer();
    const receiver = new OpusReceiver({ payloadType: 111, ring });
    for (const packet of packets(1, 10, 0.3, 440, 5_000)) receiver.push(packet);
    for (const packet of packets(2, 10, 0.3, 440, 10)) receiver.push(packet); // lower sequence, new stream
    expect(receiver.packets).toBe(20);
    receiver.close();
    for (const packet of packets(2, 5, 0.3, 440, 20)) receiver.push(packet);
    expect(receiver.packets).toBe(20);
  });
});

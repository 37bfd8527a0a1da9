// The pure parts of loss repair: RTX unwrapping (RFC 4588 §4), generic NACK / PLI / receiver
// report layouts and sender-report reading (RFC 4585 §6, RFC 3550 §6.4), the NACK schedule
// (first try, retries, give-up, bounds) and the receiver statistics behind the reports.
import { describe, expect, it } from 'vitest';
import { NACK_FIRST_DELAY_MS, NACK_GIVE_UP_MS, NACK_MAX_TRIES, NACK_RETRY_INTERVAL_MS, NackTracker } from '../../../src/media/rtp/nack-tracker.ts';
import { ReceiverStatistics } from '../../../src/media/rtp/receiver-statistics.ts';
import { genericNackPacket, nackedSequences, nackItems, pliPacket, receiverReportPacket, senderReports } from '../../../src/media/rtp/rtcp-packets.ts';
import { parseRtpPacket } from '../../../src/media/rtp/rtp-packet.ts';
import { unwrapRtx } from '../../../src/media/rtp/rtx-packet.ts';
import { keyframeRequests, nackRequests } from '../../../src/sim/media/rtcp-feedback.ts';

function rtp(options: { pt: number; seq: number; ts: number; ssrc: number; marker?: boolean; payload: number[]; padding?: number; extension?: boolean }): Uint8Array {
  const extension = options.extension ? [0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00] : [];
  const padding = options.padding ? [...new Array<number>(options.padding - 1).fill(0), options.padding] : [];
  const out = new Uint8Array(12 + extension.length + options.payload.length + padding.length);
  const view = new DataView(out.buffer);
  out[0] = 0x80 | (options.padding ? 0x20 : 0) | (options.extension ? 0x10 : 0);
  out[1] = (options.marker ? 0x80 : 0) | options.pt;
  view.setUint16(2, options.seq);
  view.setUint32(4, options.ts);
  view.setUint32(8, options.ssrc);
  out.set(extension, 12);
  out.set(options.payload, 12 + extension.length);
  out.set(padding, 12 + extension.length + options.payload.length);
  return out;
}

describe('RTX unwrapping', () => {
  it('restores payload type, SSRC and sequence number, keeps marker, timestamp and extension, drops padding', () => {
    const wrapped = rtp({ pt: 97, seq: 7, ts: 900, ssrc: 0xbbbb, marker: true, payload: [0x12, 0x34, 1, 2, 3], padding: 4, extension: true });
    const out = unwrapRtx(wrapped, { mediaPayloadType: 96, mediaSsrc: 0xaaaa });
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(out.originalSequence).toBe(0x1234);
    const parsed = parseRtpPacket(out.packet);
    expect(parsed.ok && parsed.packet).toMatchObject({ payloadType: 96, sequenceNumber: 0x1234, ssrc: 0xaaaa, timestamp: 900, marker: true, padding: false });
    expect(parsed.ok && [...parsed.packet.payload]).toEqual([1, 2, 3]);
    expect(parsed.ok && parsed.packet.extension?.profile).toBe(0xbede);
  });

  it('calls a packet without an OSN a padding probe and garbage malformed', () => {
    expect(unwrapRtx(rtp({ pt: 97, seq: 8, ts: 0, ssrc: 1, payload: [], padding: 200 }), { mediaPayloadType: 96, mediaSsrc: 2 })).toEqual({ ok: false, reason: 'padding' });
    expect(unwrapRtx(new Uint8Array([1, 2, 3]), { mediaPayloadType: 96, mediaSsrc: 2 })).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('RTCP packets', () => {
  it('packs NACKs into PID+BLP pairs (17 sequence numbers each), across the wrap', () => {
    expect(nackItems([10, 11, 26, 27])).toEqual([
      { pid: 10, blp: 0b1000_0000_0000_0001 },
      { pid: 27, blp: 0 },
    ]);
    expect(nackItems([2, 65535, 0, 2])).toEqual([{ pid: 65535, blp: 0b101 }]);
    expect(genericNackPacket(1, 2, [])).toBeNull();
  });

  it('writes a generic NACK that reads back to the same sequence numbers', () => {
    const sequences = [100, 101, 105, 130, 65535, 0];
    const packet = genericNackPacket(0x11, 0x22, sequences);
    if (packet === null) throw new Error('no packet');
    expect(packet[0]).toBe(0x81);
    expect(packet[1]).toBe(205);
    expect(packet.readUInt16BE(2)).toBe(packet.length / 4 - 1);
    expect(packet.readUInt32BE(4)).toBe(0x11);
    expect(packet.readUInt32BE(8)).toBe(0x22);
    expect(nackedSequences(packet).sort((a, b) => a - b)).toEqual([...sequences].sort((a, b) => a - b));
  });

  it('writes a PLI and a receiver report with one block', () => {
    expect([...pliPacket(5, 6)]).toEqual([0x81, 206, 0, 2, 0, 0, 0, 5, 0, 0, 0, 6]);
    const rr = receiverReportPacket(9, { ssrc: 0x22, fractionLost: 64, cumulativeLost: 3, extendedHighestSequence: 0x1_0005, jitter: 12.4, lastSr: 0xabcd1234, delaySinceLastSr: 65_536 });
    expect(rr.length).toBe(32);
    expect([rr[0], rr[1], rr.readUInt16BE(2), rr.readUInt32BE(4), rr.readUInt32BE(8)]).toEqual([0x81, 201, 7, 9, 0x22]);
    expect(rr.readUInt32BE(12)).toBe((64 << 24) | 3);
    expect([rr.readUInt32BE(16), rr.readUInt32BE(20), rr.readUInt32BE(24), rr.readUInt32BE(28)]).toEqual([0x1_0005, 12, 0xabcd1234, 65_536]);
  });

  it('the emulator reads our NACKs and PLIs back out of a compound packet', () => {
    const rr = receiverReportPacket(9, { ssrc: 0x22, fractionLost: 0, cumulativeLost: 0, extendedHighestSequence: 1, jitter: 0, lastSr: 0, delaySinceLastSr: 0 });
    const nack = genericNackPacket(9, 0x22, [5, 6, 40]);
    if (nack === null) throw new Error('no packet');
    const compound = Buffer.concat([rr, nack, pliPacket(9, 0x22)]);
    expect(nackRequests(compound)).toEqual([{ mediaSsrc: 0x22, sequences: [5, 6, 40] }]);
    expect(keyframeRequests(compound)).toEqual([{ kind: 'pli', senderSsrc: 9, mediaSsrc: 0x22 }]);
  });

  it('reads the NTP middle bits of sender reports in a compound packet', () => {
    const sr = Buffer.alloc(28);
    sr[0] = 0x80;
    sr[1] = 200;
    sr.writeUInt16BE(6, 2);
    sr.writeUInt32BE(0x77, 4);
    sr.writeUInt32BE(0x1234_5678, 8);
    sr.writeUInt32BE(0x9abc_def0, 12);
    const compound = Buffer.concat([sr, pliPacket(1, 2)]);
    expect(senderReports(compound)).toEqual([{ ssrc: 0x77, ntpMiddle: 0x5678_9abc }]);
    expect(senderReports(compound.subarray(0, 20))).toEqual([]);
  });
});

describe('NACK schedule', () => {
  it('asks for a hole after the first delay, retries, and stops once it arrives', () => {
    const tracker = new NackTracker();
    expect(tracker.received(10, 0)).toBe('new');
    expect(tracker.received(13, 100)).toBe('new');
    expect(tracker.nextDueMs()).toBe(100 + NACK_FIRST_DELAY_MS);
    expect(tracker.due(100)).toEqual([]);
    expect(tracker.due(100 + NACK_FIRST_DELAY_MS)).toEqual([11, 12]);
    expect(tracker.due(110)).toEqual([]);
    expect(tracker.received(11, 120)).toBe('recovered');
    expect(tracker.due(100 + NACK_FIRST_DELAY_MS + NACK_RETRY_INTERVAL_MS)).toEqual([12]);
    expect(tracker.received(11, 150)).toBe('duplicate');
    expect(tracker.stats()).toEqual({ requested: 3, recovered: 1, givenUp: 0 });
  });

  it('gives up after its tries and the give-up time; a late arrival before that still counts', () => {
    const tracker = new NackTracker();
    tracker.received(0, 0);
    tracker.received(2, 0);
    const asked: number[] = [];
    for (let t = 0; t <= NACK_GIVE_UP_MS + 1; t++) asked.push(...tracker.due(t));
    expect(asked).toEqual(new Array<number>(NACK_MAX_TRIES).fill(1));
    expect(tracker.missingCount).toBe(0);
    expect(tracker.stats().givenUp).toBe(1);
    expect(tracker.received(1, 200)).toBe('duplicate');
    tracker.received(4, 300);
    tracker.due(300 + NACK_GIVE_UP_MS - 1);
    expect(tracker.received(3, 300 + NACK_GIVE_UP_MS - 1)).toBe('recovered');
  });

  it('leaves a burst longer than its bound to a keyframe, and follows the wrap', () => {
    const tracker = new NackTracker({ maxMissing: 4 });
    tracker.received(65534, 0);
    tracker.received(1, 0);
    expect(tracker.due(10)).toEqual([65535, 0]);
    tracker.received(20, 20);
    expect(tracker.missingCount).toBe(0);
    expect(tracker.stats().givenUp).toBe(2 + 18);
    expect(tracker.nextDueMs()).toBeNull();
  });
});

describe('receiver statistics', () => {
  it('counts loss, highest sequence across the wrap, and the SR echo', () => {
    const stats = new ReceiverStatistics(0x55, 90_000);
    expect(stats.report(0)).toBeNull();
    for (const seq of [65533, 65534, 0, 1]) stats.received(seq, seq * 3000, 0, false);
    stats.senderReport(0xdead_beef, 1000);
    const block = stats.report(1500);
    expect(block).toMatchObject({ ssrc: 0x55, cumulativeLost: 1, extendedHighestSequence: 0x1_0001, lastSr: 0xdead_beef, delaySinceLastSr: 32_768 });
    expect(block?.fractionLost).toBe(Math.floor(256 / 5));
    stats.received(65535, 0, 1600, true);
    expect(stats.report(1700)).toMatchObject({ cumulativeLost: 0, fractionLost: 0 });
  });

  it('measures interarrival jitter in timestamp units (RFC 3550 A.8)', () => {
    const stats = new ReceiverStatistics(1, 90_000);
    // Frames every 33.3 ms in media time, arriving alternately 10 ms early and late.
    for (let k = 0; k < 200; k++) stats.received(k, k * 3000, (k * 100) / 3 + (k % 2 === 0 ? 0 : 10), false);
    const jitter = stats.report(10_000)?.jitter ?? 0;
    expect(jitter).toBeGreaterThan(800);
    expect(jitter).toBeLessThan(900);
  });
});

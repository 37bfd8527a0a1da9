// The video RTCP side on its own, on a fake clock, as a transcript of packets in and RTCP out:
// media passes through, a hole is NACKed on schedule and retried, an RTX retransmission comes
// back out as the media packet it carries (a padding probe is dropped), a PLI names the media
// SSRC, and the receiver report echoes the sender report. Without NACK negotiated nothing is asked.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RECEIVER_REPORT_INTERVAL_MS, VideoReceiveFeedback } from '../../../src/adapters/media-link/video-receive-feedback.ts';
import { NACK_FIRST_DELAY_MS, NACK_RETRY_INTERVAL_MS } from '../../../src/media/rtp/nack-tracker.ts';
import { nackedSequences } from '../../../src/media/rtp/rtcp-packets.ts';
import { parseRtpPacket } from '../../../src/media/rtp/rtp-packet.ts';

const MEDIA_SSRC = 0x1111;
const RTX_SSRC = 0x2222;
const OURS = 0x3333;

function packet(pt: number, seq: number, ssrc: number, payload: number[]): Buffer {
  const out = Buffer.alloc(12 + payload.length);
  out[0] = 0x80;
  out[1] = pt;
  out.writeUInt16BE(seq, 2);
  out.writeUInt32BE(seq * 3000, 4);
  out.writeUInt32BE(ssrc, 8);
  Buffer.from(payload).copy(out, 12);
  return out;
}

function senderReport(ssrc: number): Buffer {
  const sr = Buffer.alloc(28);
  sr[0] = 0x80;
  sr[1] = 200;
  sr.writeUInt16BE(6, 2);
  sr.writeUInt32BE(ssrc, 4);
  sr.writeUInt32BE(0x0000_abcd, 8);
  sr.writeUInt32BE(0x1234_0000, 12);
  return sr;
}

describe('video receive feedback', () => {
  let sent: Buffer[];
  let feedback: VideoReceiveFeedback;
  const open = (nack: boolean) => {
    feedback = new VideoReceiveFeedback({ mediaPayloadType: 96, rtxPayloadType: nack ? 97 : null, nack, senderSsrc: OURS, send: (p) => (sent.push(p), true) });
  };
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
    sent = [];
  });
  afterEach(() => {
    feedback.close();
    vi.useRealTimers();
  });

  it('NACKs a hole, retries it, and turns the retransmission back into the media packet', () => {
    open(true);
    const now = () => Date.now();
    expect(feedback.onMessage(packet(96, 100, MEDIA_SSRC, [1]), now())).not.toBeNull();
    expect(feedback.onMessage(packet(96, 103, MEDIA_SSRC, [4]), now())).not.toBeNull();
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(NACK_FIRST_DELAY_MS);
    expect(sent.map((p) => [p[1], p.readUInt32BE(8), nackedSequences(p)])).toEqual([[205, MEDIA_SSRC, [101, 102]]]);

    const rtx = feedback.onMessage(packet(97, 7, RTX_SSRC, [0, 101, 2]), now());
    const parsed = rtx === null ? null : parseRtpPacket(rtx);
    expect(parsed?.ok && parsed.packet).toMatchObject({ payloadType: 96, ssrc: MEDIA_SSRC, sequenceNumber: 101 });
    expect(parsed?.ok && [...parsed.packet.payload]).toEqual([2]);
    expect(feedback.onMessage(packet(97, 8, RTX_SSRC, []), now())).toBeNull();

    vi.advanceTimersByTime(NACK_RETRY_INTERVAL_MS);
    expect(nackedSequences(sent[1] as Buffer)).toEqual([102]);
    expect(feedback.counters()).toMatchObject({ nackSent: 2, nackedPackets: 3, rtxReceived: 1, recoveredPackets: 1, unrecoveredPackets: 0 });
  });

  it('sends a PLI for the media SSRC and a receiver report echoing the sender report', () => {
    open(true);
    expect(feedback.requestKeyframe()).toBe(false);
    feedback.onMessage(packet(96, 5, MEDIA_SSRC, [1]), Date.now());
    expect(feedback.onMessage(senderReport(MEDIA_SSRC), Date.now())).toBeNull();
    expect(feedback.requestKeyframe()).toBe(true);
    expect([sent[0]?.[1], sent[0]?.readUInt32BE(4), sent[0]?.readUInt32BE(8)]).toEqual([206, OURS, MEDIA_SSRC]);
    vi.advanceTimersByTime(RECEIVER_REPORT_INTERVAL_MS);
    const rr = sent[1] as Buffer;
    expect([rr[1], rr.readUInt32BE(4), rr.readUInt32BE(8), rr.readUInt32BE(24)]).toEqual([201, OURS, MEDIA_SSRC, 0xabcd_1234]);
    expect(rr.readUInt32BE(28)).toBe(65_536);
    expect(feedback.counters().receiverReportsSent).toBe(1);
  });

  it('without NACK negotiated, a hole is not asked for', () => {
    open(false);
    feedback.onMessage(packet(96, 1, MEDIA_SSRC, [1]), Date.now());
    feedback.onMessage(packet(96, 9, MEDIA_SSRC, [1]), Date.now());
    vi.advanceTimersByTime(500);
    expect(sent.filter((p) => p[1] === 205)).toEqual([]);
    expect(feedback.counters().nackSent).toBe(0);
  });
});

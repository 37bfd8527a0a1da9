// H.264 receive side (RFC 6184 + h264-webrtc.md §5.1 item 3, §5.2): byte-exact Annex-B round
// trips through single NAL / STAP-A / FU-A packets, the SPS/PPS clean-up, keyframe gating with
// rate-limited PLI, loss, reordering, sequence wrap, malformed packets and the bounded GOP.
// Packets come from the test's own packetizer (rtp-test-packetizer.ts).
import { describe, expect, test } from 'vitest';
import { createH264Depacketizer } from '../../../src/media/rtp/h264-depacketizer.ts';
import { firstMbInSlice, isIdrPictureStart } from '../../../src/media/rtp/h264-nal.ts';
import { PLI_MIN_INTERVAL_MS } from '../../../src/media/rtp/pli-limiter.ts';
import type { DepacketizerEvent } from '../../../src/media/rtp/video-depacketizer.ts';
import { frames, ofType, pushAll } from '../../harness/depacketizer-events.ts';
import {
  annexB,
  BitWriter,
  escapeRbsp,
  framePackets,
  fuA,
  idrSlice,
  nal,
  nonIdrSlice,
  packetizeH264,
  pps,
  rtp,
  sps,
  stapA,
  type H264Mode,
} from './rtp-test-packetizer.ts';

/** 90 kHz ticks per frame at 30 fps. */
const TICKS = 3000;
const FRAME_MS = 33;

const keyNals = (): Uint8Array[] => [sps(), pps(), idrSlice(0, 3000)];
const pNals = (seed: number): Uint8Array[] => [nonIdrSlice(0, 1500, seed)];

/** A little sender: consecutive sequence numbers and timestamps, one frame per call. */
class Sender {
  sequence: number;
  timestamp: number;
  ms = 1000;
  constructor(sequence = 1000, timestamp = 90_000) {
    this.sequence = sequence;
    this.timestamp = timestamp;
  }
  frame(nals: readonly Uint8Array[], mode: H264Mode = 'stap-a'): Uint8Array[] {
    const packets = framePackets(packetizeH264(nals, mode), this.sequence, this.timestamp);
    this.sequence = (this.sequence + packets.length) & 0xffff;
    this.timestamp += TICKS;
    return packets;
  }
}

describe('NAL helpers', () => {
  test('first_mb_in_slice is read as ue(v), including past an emulation-prevention byte', () => {
    for (const mb of [0, 1, 2, 7, 119, 3599, 65535]) expect(firstMbInSlice(idrSlice(mb))).toBe(mb);
    // codeNum 4194303: 22 leading zeros, so the bytes after the header are 00 00 02 → 00 00 03 02.
    const slice = idrSlice(4194303);
    expect([...slice.subarray(1, 5)]).toEqual([0x00, 0x00, 0x03, 0x02]);
    expect(firstMbInSlice(slice)).toBe(4194303);
    expect(isIdrPictureStart(slice)).toBe(false);
    expect(isIdrPictureStart(idrSlice(0))).toBe(true);
    expect(isIdrPictureStart(nonIdrSlice(0))).toBe(false);
  });

  test('a truncated or over-long ue(v) is undefined, not an exception', () => {
    expect(firstMbInSlice(Uint8Array.of(0x65))).toBeUndefined();
    expect(firstMbInSlice(Uint8Array.of(0x65, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x00))).toBeUndefined();
    expect(firstMbInSlice(nal(0x65, new BitWriter().bits(0, 32).bits(1, 1).bits(0, 32).bytes()))).toBeUndefined();
    expect(escapeRbsp(Uint8Array.of(0, 0, 1, 0, 0, 0))).toEqual(Uint8Array.of(0, 0, 3, 1, 0, 0, 3, 0));
  });
});

describe('round trip to Annex-B', () => {
  test.each<[H264Mode]>([['single'], ['stap-a'], ['fu-a']])('%s packets', (mode) => {
    const d = createH264Depacketizer();
    const s = new Sender();
    const key = keyNals();
    const keyPackets = s.frame(key, mode);
    const events = pushAll(d, keyPackets, 0);
    const [frame] = frames(events);
    expect(frame?.data).toEqual(annexB(key));
    expect(frame).toMatchObject({ codec: 'h264', keyframe: true, timestamp: 90_000, firstSequence: 1000, packets: keyPackets.length });
    expect(frame?.lastSequence).toBe(1000 + keyPackets.length - 1);
    expect(ofType(events, 'pli')).toEqual([]);

    const p = pNals(5);
    const [pFrame] = frames(pushAll(d, s.frame(p, mode), FRAME_MS));
    expect(pFrame?.data).toEqual(annexB(p));
    expect(pFrame?.keyframe).toBe(false);
    expect(d.gop().map((f) => f.timestamp)).toEqual([90_000, 93_000]);
  });

  test('the packetizer used each mode (a guard on the test itself)', () => {
    const kinds = (mode: H264Mode): number[] => packetizeH264(keyNals(), mode).map((p) => p[0]! & 0x1f);
    expect(kinds('single')).toEqual([7, 8, 28, 28, 28]);
    expect(kinds('stap-a')).toEqual([24, 28, 28, 28]);
  });

  test('STAP-A with a whole small frame, and NAL units with emulation-prevention bytes stay byte-exact', () => {
    const d = createH264Depacketizer();
    const nals = [sps(), pps(), idrSlice(0, 200, 9), idrSlice(4194303, 50, 10)];
    expect(nals.some((n) => n.some((b, i) => b === 3 && n[i - 1] === 0 && n[i - 2] === 0))).toBe(true);
    const packets = framePackets([stapA(nals)], 1, 1);
    expect(frames(pushAll(d, packets, 0))[0]?.data).toEqual(annexB(nals));
  });

  test('a new timestamp completes a frame whose marker bit was never set', () => {
    const d = createH264Depacketizer();
    const key = keyNals();
    const first = packetizeH264(key, 'stap-a').map((payload, i) => rtp({ sequence: 10 + i, timestamp: 500 }, payload));
    expect(frames(pushAll(d, first, 0))).toEqual([]);
    const events = pushAll(d, [rtp({ sequence: 10 + first.length, timestamp: 3500, marker: true }, nonIdrSlice(0))], 33);
    expect(frames(events).map((f) => [f.timestamp, f.keyframe])).toEqual([
      [500, true],
      [3500, false],
    ]);
  });

  test('padding-only packets inside a frame are skipped without a gap', () => {
    const d = createH264Depacketizer();
    const payloads = packetizeH264(keyNals(), 'fu-a');
    const packets = [
      rtp({ sequence: 1, timestamp: 7 }, payloads[0]!),
      rtp({ sequence: 2, timestamp: 7, padding: 200 }, new Uint8Array(0)),
      ...payloads.slice(1).map((p, i) => rtp({ sequence: 3 + i, timestamp: 7, marker: i === payloads.length - 2 }, p)),
    ];
    const events = pushAll(d, packets, 0);
    expect(frames(events)[0]?.data).toEqual(annexB(keyNals()));
    expect(ofType(events, 'gap')).toEqual([]);
  });
});

describe('stream clean-ups (h264-webrtc.md §5.2)', () => {
  test('two-slice IDR with SPS/PPS repeated before the second slice: the repeats are dropped', () => {
    const d = createH264Depacketizer();
    const top = idrSlice(0, 2000, 1);
    const bottom = idrSlice(1800, 2000, 2);
    const sent = [sps(), pps(), top, sps(), pps(), bottom];
    const frame = frames(pushAll(d, new Sender().frame(sent, 'stap-a'), 0))[0];
    expect(frame?.keyframe).toBe(true);
    expect(frame?.data).toEqual(annexB([sps(), pps(), top, bottom]));
  });

  test('an IDR sent without SPS/PPS gets the last ones seen; with none ever seen it is not usable', () => {
    const s = new Sender();
    const fresh = createH264Depacketizer();
    const idr = idrSlice(0, 100);
    const events = pushAll(fresh, s.frame([idr]), 0);
    expect(ofType(events, 'frame-dropped').map((e) => e.reason)).toEqual(['h264-missing-parameter-sets']);
    expect(ofType(events, 'pli').map((e) => e.reason)).toEqual(['loss']);

    const d = createH264Depacketizer();
    pushAll(d, s.frame([sps(1), pps(), idrSlice(0, 100, 3)]), 0);
    const later = frames(pushAll(d, s.frame([idr]), 2000))[0];
    expect(later?.data).toEqual(annexB([sps(1), pps(), idr]));
  });

  test('parameter sets alone on their own timestamp are not a frame but are remembered', () => {
    const d = createH264Depacketizer();
    const s = new Sender();
    const events = pushAll(d, s.frame([sps(), pps()]), 0);
    expect(ofType(events, 'frame-dropped').map((e) => e.reason)).toEqual(['h264-no-slice']);
    const idr = idrSlice(0);
    expect(frames(pushAll(d, s.frame([idr]), 10))[0]?.data).toEqual(annexB([sps(), pps(), idr]));
  });
});

describe('keyframe gating and PLI', () => {
  test('joining mid-GOP: frames are skipped until an IDR whose first slice starts at mb 0; PLI is rate-limited', () => {
    const d = createH264Depacketizer();
    const s = new Sender();
    const all: DepacketizerEvent[] = [];
    const pliTimes: number[] = [];
    let ms = 0;
    const send = (nals: readonly Uint8Array[]): DepacketizerEvent[] => {
      const events = pushAll(d, s.frame(nals), ms);
      for (const e of events) if (e.type === 'pli') pliTimes.push(ms);
      all.push(...events);
      ms += FRAME_MS;
      return events;
    };
    // 20 P-frames (660 ms): joined in the middle of a GOP.
    for (let i = 0; i < 20; i++) send(pNals(i + 10));
    // The bottom half of an IDR (its top slice was missed): not a start point.
    send([sps(), pps(), idrSlice(1800, 300)]);
    // An IDR whose only slice has a non-zero first_mb_in_slice written with an emulation-prevention byte.
    send([sps(), pps(), idrSlice(4194303, 300)]);
    expect(frames(all)).toEqual([]);
    expect(d.awaitingKeyframe).toBe(true);
    expect(ofType(all, 'frame-dropped').every((e) => e.reason === 'awaiting-keyframe')).toBe(true);
    expect(ofType(all, 'frame-dropped')).toHaveLength(22);
    expect(ofType(all, 'pli').every((e) => e.reason === 'awaiting-keyframe')).toBe(true);
    expect(pliTimes).toEqual([0, 528]);
    for (let i = 1; i < pliTimes.length; i++) expect(pliTimes[i]! - pliTimes[i - 1]!).toBeGreaterThanOrEqual(PLI_MIN_INTERVAL_MS);

    const key = [sps(), pps(), idrSlice(0, 3000), idrSlice(1800, 3000)];
    const keyEvents = send(key);
    expect(frames(keyEvents).map((f) => f.keyframe)).toEqual([true]);
    expect(frames(keyEvents)[0]?.data).toEqual(annexB(key));
    expect(d.awaitingKeyframe).toBe(false);
    expect(frames(send(pNals(99)))).toHaveLength(1);
    expect(ofType(all, 'pli')).toHaveLength(2);
    expect(d.stats()).toMatchObject({ keyframes: 1, framesEmitted: 2, framesDropped: 22, pliRequests: 2 });
  });

  test('joining in the middle of an FU-A run: the partial access unit is dropped', () => {
    const d = createH264Depacketizer();
    const s = new Sender();
    const packets = s.frame(keyNals(), 'fu-a');
    const events = pushAll(d, packets.slice(3), 0); // SPS, PPS and the first fragment were missed
    expect(frames(events)).toEqual([]);
    expect(ofType(events, 'frame-dropped').map((e) => e.reason)).toEqual(['h264-incomplete']);
    expect(ofType(events, 'pli')).toHaveLength(1);
    expect(frames(pushAll(d, s.frame(keyNals()), 10))).toHaveLength(1);
  });
});

describe('loss and reordering', () => {
  test('a lost FU-A fragment: that frame is dropped, the gap reported, PLI sent, and P-frames wait for the next IDR', () => {
    const d = createH264Depacketizer();
    const s = new Sender();
    expect(frames(pushAll(d, s.frame(keyNals()), 0))).toHaveLength(1);
    const p1 = s.frame(pNals(1), 'fu-a');
    expect(p1.length).toBeGreaterThanOrEqual(2);
    const lostSequence = 1000 + 4 + 0;
    const events = [
      ...pushAll(d, [p1[1]!], 33), // the first fragment is lost: p1[0] never arrives
      ...pushAll(d, s.frame(pNals(2)), 66), // held while the hole may still be filled
      ...pushAll(d, s.frame(pNals(3)), 120), // the wait is over: the hole is a loss
    ];
    expect(ofType(events, 'gap')).toEqual([{ type: 'gap', firstMissing: lostSequence, lastMissing: lostSequence, lost: 1 }]);
    // The hole was the frame's first packet, so the frame shows up headless (an FU-A run without
    // its start); had it been a middle packet, the frame would be 'corrupt'.
    expect(ofType(events, 'frame-dropped').map((e) => e.reason)).toEqual(['h264-incomplete', 'awaiting-keyframe', 'awaiting-keyframe']);
    expect(ofType(events, 'pli').map((e) => e.reason)).toEqual(['loss']);
    expect(frames(events)).toEqual([]);
    // The GOP stops at the last decodable frame until the next IDR.
    expect(d.gop().map((f) => f.keyframe)).toEqual([true]);

    const recovered = pushAll(d, s.frame(keyNals()), 600);
    expect(frames(recovered).map((f) => f.keyframe)).toEqual([true]);
    expect(d.stats().lost).toBe(1);
  });

  test('a lost middle FU-A fragment: the frame is dropped as corrupt, with the gap and a PLI', () => {
    const d = createH264Depacketizer();
    const s = new Sender();
    pushAll(d, s.frame(keyNals()), 0);
    const p1 = s.frame([nonIdrSlice(0, 5000)], 'fu-a');
    expect(p1).toHaveLength(5);
    const events = [
      ...pushAll(d, [p1[0]!, p1[1]!, p1[3]!, p1[4]!], 33),
      ...pushAll(d, s.frame(pNals(2)), 90),
    ];
    expect(ofType(events, 'gap')).toEqual([{ type: 'gap', firstMissing: 1006, lastMissing: 1006, lost: 1 }]);
    expect(ofType(events, 'frame-dropped').map((e) => e.reason)).toEqual(['corrupt', 'awaiting-keyframe']);
    expect(ofType(events, 'pli').map((e) => e.reason)).toEqual(['loss']);
    expect(d.awaitingKeyframe).toBe(true);
  });

  test('a lost last fragment (marker packet) drops the frame when the next one starts', () => {
    const d = createH264Depacketizer();
    const s = new Sender();
    pushAll(d, s.frame(keyNals()), 0);
    const p1 = s.frame(pNals(1), 'fu-a');
    const events = [...pushAll(d, p1.slice(0, -1), 33), ...pushAll(d, s.frame(pNals(2)), 66), ...pushAll(d, s.frame(pNals(3)), 120)];
    expect(ofType(events, 'gap')).toHaveLength(1);
    expect(frames(events)).toEqual([]);
    expect(ofType(events, 'frame-dropped').map((e) => e.reason)).toEqual(['corrupt', 'awaiting-keyframe', 'awaiting-keyframe']);
  });

  test('reordering inside the window is repaired: byte-exact frame, no gap', () => {
    const d = createH264Depacketizer();
    const packets = new Sender().frame(keyNals(), 'fu-a');
    expect(packets).toHaveLength(5);
    const shuffled = [packets[0]!, packets[2]!, packets[1]!, packets[4]!, packets[3]!];
    const events = pushAll(d, shuffled, 0);
    expect(frames(events)[0]?.data).toEqual(annexB(keyNals()));
    expect(ofType(events, 'gap')).toEqual([]);
  });

  test('a duplicate packet is reported late and changes nothing', () => {
    const d = createH264Depacketizer();
    const packets = new Sender().frame(keyNals(), 'fu-a');
    const events = pushAll(d, [packets[0]!, packets[1]!, packets[1]!, ...packets.slice(2)], 0);
    expect(ofType(events, 'late')).toHaveLength(1);
    expect(frames(events)[0]?.data).toEqual(annexB(keyNals()));
  });

  test('sequence numbers wrap at 65535 inside and between frames', () => {
    const d = createH264Depacketizer();
    const s = new Sender(65533, 0xffffffff - 1000);
    const key = keyNals();
    const events = [...pushAll(d, s.frame(key, 'fu-a'), 0), ...pushAll(d, s.frame(pNals(1), 'fu-a'), 33)];
    const got = frames(events);
    expect(got.map((f) => f.data)).toEqual([annexB(key), annexB(pNals(1))]);
    expect(got[0]?.firstSequence).toBe(65533);
    expect(got[0]?.lastSequence).toBeLessThan(10);
    expect(got[1]?.timestamp).toBe((0xffffffff - 1000 + TICKS) >>> 0);
    expect(ofType(events, 'gap')).toEqual([]);
  });
});

describe('malformed packets are rejected without throwing', () => {
  const header = { sequence: 1, timestamp: 1, marker: true };
  const cases: [string, Uint8Array, string][] = [
    ['too short', Uint8Array.of(0x80, 0x60, 0, 1), 'too-short'],
    ['bad version', Uint8Array.from([0x40, ...rtp(header, idrSlice(0)).subarray(1)]), 'bad-version'],
    ['CSRC count beyond the length', Uint8Array.from([0x8f, ...rtp(header, Uint8Array.of(0x41, 0x80)).subarray(1)]), 'csrc-truncated'],
    ['padding longer than the payload', Uint8Array.from([0xa0, ...rtp(header, Uint8Array.of(0x41, 0xff)).subarray(1)]), 'padding-too-long'],
    ['FU-A with both S and E set', rtp(header, Uint8Array.of(0x7c, 0xc5, 0x88, 0x84)), 'h264-fu-a-start-and-end'],
    ['FU-A without its header', rtp(header, Uint8Array.of(0x7c)), 'h264-fu-a-truncated'],
    ['FU-A carrying a STAP-A type', rtp(header, Uint8Array.of(0x7c, 0x98, 1)), 'h264-fu-a-bad-type'],
    ['STAP-A with a length past the end', rtp(header, Uint8Array.of(0x78, 0x00, 0x09, 0x67, 0x42)), 'h264-stap-a-truncated'],
    ['STAP-A with a dangling size byte', rtp(header, Uint8Array.of(0x78, 0x00, 0x02, 0x67, 0x42, 0x00)), 'h264-stap-a-truncated'],
    ['STAP-A with a zero-length unit', rtp(header, Uint8Array.of(0x78, 0x00, 0x00)), 'h264-stap-a-empty-unit'],
    ['STAP-A holding a STAP-A', rtp(header, Uint8Array.of(0x78, 0x00, 0x02, 0x78, 0x00)), 'h264-stap-a-nested'],
    ['STAP-A header only', rtp(header, Uint8Array.of(0x78)), 'h264-stap-a-truncated'],
    ['forbidden bit', rtp(header, Uint8Array.of(0xe5, 0x88)), 'h264-forbidden-bit'],
    ['STAP-B (interleaved mode)', rtp(header, Uint8Array.of(0x79, 0, 0)), 'h264-unsupported-nal-type'],
    ['NAL type 0', rtp(header, Uint8Array.of(0x00, 0x88)), 'h264-unsupported-nal-type'],
    ['unexpected payload type', rtp({ ...header, payloadType: 111 }, idrSlice(0)), 'unexpected-payload-type'],
  ];
  test.each(cases)('%s', (_name, packet, reason) => {
    const d = createH264Depacketizer({ payloadType: 96 });
    let events: readonly DepacketizerEvent[] = [];
    expect(() => (events = d.push(packet, 0))).not.toThrow();
    expect(ofType(events, 'rejected').map((e) => e.reason)).toEqual([reason]);
    expect(frames(events)).toEqual([]);
  });

  test('a malformed packet inside a frame drops that frame and asks for a keyframe', () => {
    const d = createH264Depacketizer();
    const s = new Sender();
    pushAll(d, s.frame(keyNals()), 0);
    const p = s.frame([nonIdrSlice(0, 5000)], 'fu-a');
    const bad = rtp({ sequence: 1000 + 4 + 1, timestamp: 93_000 }, Uint8Array.of(0x78, 0x00, 0x09, 0x67));
    const events = pushAll(d, [p[0]!, bad, ...p.slice(2)], 33);
    expect(ofType(events, 'rejected').map((e) => e.reason)).toEqual(['h264-stap-a-truncated']);
    expect(ofType(events, 'frame-dropped').map((e) => e.reason)).toEqual(['corrupt']);
    expect(ofType(events, 'pli').map((e) => e.reason)).toEqual(['loss']);
    expect(d.awaitingKeyframe).toBe(true);
  });

  test('an FU-A run interrupted by a new start, or by a whole NAL unit, is rejected', () => {
    const [f0, f1] = fuA(idrSlice(0, 3000), 1000);
    for (const intruder of [f0!, nonIdrSlice(0)]) {
      const d = createH264Depacketizer();
      const events = pushAll(d, [rtp({ sequence: 1, timestamp: 1 }, f0!), rtp({ sequence: 2, timestamp: 1 }, intruder), rtp({ sequence: 3, timestamp: 1, marker: true }, f1!)], 0);
      expect(ofType(events, 'rejected').map((e) => e.reason)).toEqual(['h264-fu-a-unterminated']);
    }
  });

  test('another SSRC is rejected once the stream is locked', () => {
    const d = createH264Depacketizer();
    pushAll(d, new Sender().frame(keyNals()), 0);
    const events = d.push(rtp({ sequence: 2000, timestamp: 1, ssrc: 42, marker: true }, nonIdrSlice(0)), 5);
    expect(ofType(events, 'rejected').map((e) => e.reason)).toEqual(['unexpected-ssrc']);
  });
});

describe('GOP buffer', () => {
  test('holds the frames since the last IDR, bounded, dropping the oldest with a count', () => {
    const d = createH264Depacketizer({ gopMaxFrames: 5 });
    const s = new Sender();
    const events: DepacketizerEvent[] = [];
    let ms = 0;
    events.push(...pushAll(d, s.frame(keyNals()), ms));
    for (let i = 0; i < 9; i++) events.push(...pushAll(d, s.frame(pNals(i)), (ms += FRAME_MS)));
    expect(d.gop()).toHaveLength(5);
    expect(d.gop()[0]?.keyframe).toBe(false);
    expect(d.gop().at(-1)?.timestamp).toBe(90_000 + 9 * TICKS);
    expect(ofType(events, 'gop-evicted').reduce((n, e) => n + e.frames, 0)).toBe(5);
    expect(d.stats().gopEvicted).toBe(5);
    expect(ofType(events, 'pli').map((e) => e.reason)).toEqual(['gop-overflow']);

    pushAll(d, s.frame(keyNals()), (ms += FRAME_MS));
    expect(d.gop().map((f) => f.keyframe)).toEqual([true]);
  });

  test('a byte bound also applies', () => {
    const d = createH264Depacketizer({ gopMaxBytes: 10_000 });
    const s = new Sender();
    pushAll(d, s.frame(keyNals()), 0);
    for (let i = 0; i < 10; i++) pushAll(d, s.frame(pNals(i)), i);
    const total = d.gop().reduce((n, f) => n + f.data.length, 0);
    expect(total).toBeLessThanOrEqual(10_000);
    expect(d.gop().length).toBeGreaterThan(1);
  });

  test('an oversized frame is dropped instead of growing memory', () => {
    const d = createH264Depacketizer({ maxFrameBytes: 2000 });
    const events = pushAll(d, new Sender().frame(keyNals(), 'fu-a'), 0);
    expect(ofType(events, 'frame-dropped').map((e) => e.reason)).toEqual(['too-large']);
  });

  test('reset forgets the stream', () => {
    const d = createH264Depacketizer();
    pushAll(d, new Sender().frame(keyNals()), 0);
    d.reset();
    expect(d.gop()).toEqual([]);
    expect(d.awaitingKeyframe).toBe(true);
    const events = pushAll(d, new Sender(7, 1).frame(keyNals()), 0);
    expect(frames(events)).toHaveLength(1);
  });
});

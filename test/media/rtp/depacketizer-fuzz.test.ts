// Hostile input never throws (fast-check): random byte arrays, and valid RTP headers around random
// payloads, fed to `parseRtpPacket` and both depacketizers (H.264, VP8); every result stays a list
// of typed events; a real H.264 stream with packets dropped, swapped and bit-flipped only yields
// Annex-B frames. Byte-exact output is h264-depacketizer.test.ts and vp8-depacketizer.test.ts.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { createH264Depacketizer } from '../../../src/media/rtp/h264-depacketizer.ts';
import { parseRtpPacket } from '../../../src/media/rtp/rtp-packet.ts';
import { createVp8Depacketizer } from '../../../src/media/rtp/vp8-depacketizer.ts';
import { framePackets, idrSlice, nonIdrSlice, packetizeH264, pps, rtp, sps } from './rtp-test-packetizer.ts';

const factories = [createH264Depacketizer, createVp8Depacketizer];

test('random byte arrays never throw', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 40 }), (packets) => {
      expect(() => packets.forEach((p) => parseRtpPacket(p))).not.toThrow();
      for (const create of factories) {
        const d = create();
        packets.forEach((p, i) => expect(Array.isArray(d.push(p, i))).toBe(true));
        d.gop();
      }
    }),
    { numRuns: 500 },
  );
});

test('valid RTP around random payloads, sequence numbers and timestamps never throws', () => {
  const packet = fc
    .record({
      sequence: fc.integer({ min: 0, max: 65535 }),
      timestamp: fc.integer({ min: 0, max: 0xffffffff }),
      marker: fc.boolean(),
      payload: fc.uint8Array({ maxLength: 48 }),
    })
    .map(({ payload, ...fields }) => rtp(fields, payload));
  fc.assert(
    fc.property(fc.array(packet, { maxLength: 60 }), fc.integer({ min: 0, max: 1000 }), (packets, step) => {
      for (const create of factories) {
        const d = create();
        packets.forEach((p, i) => expect(() => d.push(p, i * step)).not.toThrow());
        for (const f of d.gop()) expect(f.data).toBeInstanceOf(Uint8Array);
      }
    }),
    { numRuns: 500 },
  );
});

test('a real H.264 stream with packets dropped, swapped and bit-flipped never throws', () => {
  const stream: Uint8Array[] = [];
  let sequence = 65500;
  for (let i = 0; i < 6; i++) {
    const nals = i % 3 === 0 ? [sps(), pps(), idrSlice(0, 2500, i), idrSlice(900, 800, i + 50)] : [nonIdrSlice(0, 1500, i)];
    const packets = framePackets(packetizeH264(nals, i % 2 === 0 ? 'stap-a' : 'single'), sequence, 3000 * i);
    sequence = (sequence + packets.length) & 0xffff;
    stream.push(...packets);
  }
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('swap' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  );
  fc.assert(
    fc.property(fc.array(mutation, { maxLength: 8 }), (mutations) => {
      const packets = stream.map((p) => p.slice());
      for (const m of mutations) {
        const at = m.at % packets.length;
        if (m.kind === 'drop') packets.splice(at, 1);
        else if (m.kind === 'swap' && at + 1 < packets.length) [packets[at], packets[at + 1]] = [packets[at + 1]!, packets[at]!];
        else if (m.kind === 'flip') {
          const p = packets[at]!;
          p[m.byte % p.length]! ^= 1 << m.bit;
        }
      }
      const d = createH264Depacketizer();
      for (const [i, p] of packets.entries()) {
        for (const e of d.push(p, i * 5)) {
          if (e.type === 'frame') expect([...e.frame.data.subarray(0, 4)]).toEqual([0, 0, 0, 1]);
        }
      }
      if (mutations.length === 0) expect(d.stats().framesEmitted).toBe(6);
    }),
    { numRuns: 300 },
  );
});

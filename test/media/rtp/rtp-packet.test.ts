// RTP fixed-header parsing (RFC 3550 §5.1, src/media/rtp/rtp-packet.ts): every field, CSRCs, the
// header extension and padding, views at any offset, and every malformed shape (RTCP on the same
// port included) rejected with its reason instead of an exception; plus 16-bit sequence arithmetic
// across the wrap (src/media/rtp/sequence-number.ts). Ordering is reorder-buffer.test.ts; payloads
// are the depacketizers' tests.
import { describe, expect, test } from 'vitest';
import { parseRtpPacket } from '../../../src/media/rtp/rtp-packet.ts';
import { sequenceAdd, sequenceDiff } from '../../../src/media/rtp/sequence-number.ts';
import { rtp } from './rtp-test-packetizer.ts';

describe('parseRtpPacket', () => {
  test('reads every header field, CSRCs, the extension and strips padding', () => {
    const payload = Uint8Array.of(1, 2, 3, 4, 5);
    const bytes = rtp(
      {
        sequence: 65535,
        timestamp: 0xfffffff0,
        marker: true,
        payloadType: 102,
        ssrc: 0xdeadbeef,
        csrcs: [1, 0xffffffff],
        extension: { profile: 0xbede, words: [0x10ff0000] },
        padding: 3,
      },
      payload,
    );
    const parsed = parseRtpPacket(bytes);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const p = parsed.packet;
    expect(p.marker).toBe(true);
    expect(p.payloadType).toBe(102);
    expect(p.sequenceNumber).toBe(65535);
    expect(p.timestamp).toBe(0xfffffff0);
    expect(p.ssrc).toBe(0xdeadbeef);
    expect(p.csrcs).toEqual([1, 0xffffffff]);
    expect(p.padding).toBe(true);
    expect(p.extension?.profile).toBe(0xbede);
    expect([...(p.extension?.data ?? [])]).toEqual([0x10, 0xff, 0, 0]);
    expect([...p.payload]).toEqual([...payload]);
  });

  test('a padding-only packet parses with an empty payload', () => {
    const parsed = parseRtpPacket(rtp({ sequence: 1, timestamp: 1, padding: 4 }, new Uint8Array(0)));
    expect(parsed.ok && parsed.packet.payload.length).toBe(0);
  });

  test('works on a view with a non-zero byteOffset', () => {
    const inner = rtp({ sequence: 7, timestamp: 9 }, Uint8Array.of(0x41));
    const outer = new Uint8Array(inner.length + 5);
    outer.set(inner, 5);
    const parsed = parseRtpPacket(outer.subarray(5));
    expect(parsed.ok && parsed.packet.sequenceNumber).toBe(7);
  });

  const good = rtp({ sequence: 1, timestamp: 1 }, Uint8Array.of(0x41, 0x9a));
  const cases: [string, Uint8Array, string][] = [
    ['empty', new Uint8Array(0), 'too-short'],
    ['11 bytes', good.subarray(0, 11), 'too-short'],
    ['version 1', Uint8Array.from([0x40, ...good.subarray(1)]), 'bad-version'],
    ['version 0', Uint8Array.from([0x00, ...good.subarray(1)]), 'bad-version'],
    ['CSRC count beyond the length', Uint8Array.from([0x8f, ...good.subarray(1)]), 'csrc-truncated'],
    ['extension header cut', Uint8Array.from([0x90, ...good.subarray(1, 12), 0xbe]), 'extension-truncated'],
    ['extension length past the end', Uint8Array.from([0x90, ...good.subarray(1, 12), 0xbe, 0xde, 0x00, 0x09, 1, 2, 3, 4]), 'extension-truncated'],
    ['padding longer than the payload', Uint8Array.from([0xa0, ...good.subarray(1, 12), 0x41, 0x09]), 'padding-too-long'],
    ['padding count 0', Uint8Array.from([0xa0, ...good.subarray(1, 12), 0x41, 0x00]), 'bad-padding'],
    ['RTCP sender report on the same port', Uint8Array.from([0x80, 200, 0, 6, ...new Array<number>(24).fill(0)]), 'rtcp-packet'],
  ];
  test.each(cases)('rejects %s', (_name, bytes, reason) => {
    expect(parseRtpPacket(bytes)).toEqual({ ok: false, reason });
  });
});

describe('sequence numbers', () => {
  test('wrap at 65535', () => {
    expect(sequenceDiff(0, 65535)).toBe(1);
    expect(sequenceDiff(65535, 0)).toBe(-1);
    expect(sequenceDiff(5, 65530)).toBe(11);
    expect(sequenceDiff(100, 100)).toBe(0);
    expect(sequenceDiff(32767, 0)).toBe(32767);
    expect(sequenceDiff(32768, 0)).toBe(-32768);
    expect(sequenceAdd(65535, 1)).toBe(0);
    expect(sequenceAdd(0, -1)).toBe(65535);
  });
});

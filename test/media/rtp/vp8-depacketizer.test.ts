// VP8 receive side (RFC 7741): payload descriptor fields (7- and 15-bit PictureID, TL0PICIDX,
// TID/Y, KEYIDX), multi-packet frames byte-exact, key-frame detection and gating with PLI, loss,
// and the bounded GOP. Packets come from the test's own packetizer (rtp-test-packetizer.ts).
import { describe, expect, test } from 'vitest';
import { parseVp8PayloadDescriptor } from '../../../src/media/rtp/vp8-payload-descriptor.ts';
import { createVp8Depacketizer } from '../../../src/media/rtp/vp8-depacketizer.ts';
import type { DepacketizerEvent } from '../../../src/media/rtp/video-depacketizer.ts';
import { frames, ofType, pushAll } from '../../harness/depacketizer-events.ts';
import { framePackets, packetizeVp8, rtp, vp8Descriptor, vp8FrameBytes, type Vp8DescriptorFields } from './rtp-test-packetizer.ts';

class Sender {
  sequence = 200;
  timestamp = 1000;
  pictureId = 0;
  readonly bits: 7 | 15;
  constructor(bits: 7 | 15 = 15) {
    this.bits = bits;
  }
  frame(keyframe: boolean, length: number, chunk = 1000): Uint8Array[] {
    const data = vp8FrameBytes(keyframe, length, this.pictureId + 1);
    const packets = framePackets(packetizeVp8(data, chunk, { pictureId: { value: this.pictureId, bits: this.bits } }), this.sequence, this.timestamp);
    this.sequence = (this.sequence + packets.length) & 0xffff;
    this.timestamp += 3000;
    this.pictureId = (this.pictureId + 1) % (this.bits === 7 ? 0x80 : 0x8000);
    return packets;
  }
}

describe('payload descriptor', () => {
  const data = [0x11, 0x22];
  const cases: [string, Vp8DescriptorFields, Record<string, unknown>][] = [
    ['minimal', { start: true }, { start: true, partitionId: 0, pictureId: undefined, nonReference: false }],
    ['7-bit PictureID', { start: false, pictureId: { value: 0x55, bits: 7 } }, { pictureId: 0x55, pictureIdBits: 7, start: false }],
    ['15-bit PictureID', { start: true, pictureId: { value: 0x7abc, bits: 15 } }, { pictureId: 0x7abc, pictureIdBits: 15 }],
    [
      'everything',
      { start: true, partitionId: 3, nonReference: true, pictureId: { value: 300, bits: 15 }, tl0PicIdx: 9, temporal: { tid: 2, y: true }, keyIndex: 17 },
      { partitionId: 3, nonReference: true, pictureId: 300, tl0PicIdx: 9, temporalLayer: 2, layerSync: true, keyIndex: 17 },
    ],
    ['KEYIDX without TID', { start: true, keyIndex: 5 }, { keyIndex: 5, temporalLayer: undefined, layerSync: undefined }],
  ];
  test.each(cases)('%s', (_name, fields, expected) => {
    const parsed = parseVp8PayloadDescriptor(Uint8Array.from([...vp8Descriptor(fields), ...data]));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.descriptor).toMatchObject(expected);
    expect([...parsed.descriptor.data]).toEqual(data);
  });

  test.each<[string, number[], string]>([
    ['empty', [], 'vp8-empty-payload'],
    ['X without its byte', [0x90], 'vp8-descriptor-truncated'],
    ['I without PictureID', [0x90, 0x80], 'vp8-descriptor-truncated'],
    ['15-bit PictureID cut', [0x90, 0x80, 0x81], 'vp8-descriptor-truncated'],
    ['L without TL0PICIDX', [0x90, 0x40], 'vp8-descriptor-truncated'],
    ['T without its byte', [0x90, 0x20], 'vp8-descriptor-truncated'],
    ['descriptor only', [0x90, 0x80, 0x05], 'vp8-no-data'],
  ])('rejects %s', (_name, bytes, reason) => {
    expect(parseVp8PayloadDescriptor(Uint8Array.from(bytes))).toEqual({ ok: false, reason });
  });
});

describe('frames', () => {
  test.each<[7 | 15]>([[7], [15]])('multi-packet key and inter frames are reassembled byte-exactly (%i-bit PictureID)', (bits) => {
    const d = createVp8Depacketizer();
    const s = new Sender(bits);
    const key = s.frame(true, 3500);
    expect(key).toHaveLength(4);
    const keyFrame = frames(pushAll(d, key, 0))[0];
    expect(keyFrame).toMatchObject({ codec: 'vp8', keyframe: true, timestamp: 1000, firstSequence: 200, lastSequence: 203, packets: 4 });
    expect(keyFrame?.data).toEqual(vp8FrameBytes(true, 3500, 1));
    const inter = frames(pushAll(d, s.frame(false, 1800), 33))[0];
    expect(inter?.keyframe).toBe(false);
    expect(inter?.data).toEqual(vp8FrameBytes(false, 1800, 2));
    expect(d.gop().map((f) => f.keyframe)).toEqual([true, false]);
  });

  test('a PictureID wrapping from 127 (7-bit) still reassembles', () => {
    const d = createVp8Depacketizer();
    const s = new Sender(7);
    s.pictureId = 127;
    expect(frames([...pushAll(d, s.frame(true, 500), 0), ...pushAll(d, s.frame(false, 500), 33)])).toHaveLength(2);
  });

  test('gating: inter frames are skipped until a key frame, with a rate-limited PLI', () => {
    const d = createVp8Depacketizer();
    const s = new Sender();
    const events: DepacketizerEvent[] = [];
    for (let i = 0; i < 10; i++) events.push(...pushAll(d, s.frame(false, 1500), i * 33));
    expect(frames(events)).toEqual([]);
    expect(ofType(events, 'frame-dropped').map((e) => e.reason)).toEqual(new Array(10).fill('awaiting-keyframe'));
    expect(ofType(events, 'pli')).toHaveLength(1);
    const key = frames(pushAll(d, s.frame(true, 1500), 600));
    expect(key.map((f) => f.keyframe)).toEqual([true]);
    expect(d.awaitingKeyframe).toBe(false);
  });

  test('joining mid-frame: the headless frame is dropped', () => {
    const d = createVp8Depacketizer();
    const s = new Sender();
    const events = pushAll(d, s.frame(true, 3500).slice(1), 0);
    expect(ofType(events, 'frame-dropped').map((e) => e.reason)).toEqual(['vp8-incomplete']);
    expect(frames(pushAll(d, s.frame(true, 3500), 40))).toHaveLength(1);
  });

  test('a lost packet drops the frame, reports the gap and asks for a key frame', () => {
    const d = createVp8Depacketizer();
    const s = new Sender();
    pushAll(d, s.frame(true, 2000), 0);
    const inter = s.frame(false, 3500);
    const events = [...pushAll(d, [inter[0]!, inter[2]!, inter[3]!], 33), ...pushAll(d, s.frame(false, 500), 100)];
    expect(ofType(events, 'gap').map((e) => e.lost)).toEqual([1]);
    expect(ofType(events, 'frame-dropped').map((e) => e.reason)).toEqual(['corrupt', 'awaiting-keyframe']);
    expect(ofType(events, 'pli').map((e) => e.reason)).toEqual(['loss']);
  });

  test('a key frame without the start code, or a second frame start, is rejected', () => {
    const bogusKey = Uint8Array.from([...vp8Descriptor({ start: true }), 0x10, 0x02, 0x00, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0]);
    const d = createVp8Depacketizer();
    expect(ofType(d.push(rtp({ sequence: 1, timestamp: 1, marker: true }, bogusKey), 0), 'rejected').map((e) => e.reason)).toEqual([
      'vp8-bad-keyframe-header',
    ]);
    const start = Uint8Array.from([...vp8Descriptor({ start: true }), ...vp8FrameBytes(true, 20)]);
    const d2 = createVp8Depacketizer();
    const events = pushAll(d2, [rtp({ sequence: 1, timestamp: 1 }, start), rtp({ sequence: 2, timestamp: 1, marker: true }, start)], 0);
    expect(ofType(events, 'rejected').map((e) => e.reason)).toEqual(['vp8-duplicate-frame-start']);
  });

  test('the GOP is bounded and restarts at each key frame', () => {
    const d = createVp8Depacketizer({ gopMaxFrames: 3 });
    const s = new Sender();
    const events: DepacketizerEvent[] = [];
    events.push(...pushAll(d, s.frame(true, 800), 0));
    for (let i = 1; i <= 5; i++) events.push(...pushAll(d, s.frame(false, 300), i * 33));
    expect(d.gop()).toHaveLength(3);
    expect(d.stats().gopEvicted).toBe(3);
    expect(ofType(events, 'gop-evicted')).toHaveLength(3);
    pushAll(d, s.frame(true, 800), 300);
    expect(d.gop().map((f) => f.keyframe)).toEqual([true]);
  });
});

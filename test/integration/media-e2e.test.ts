// Transcript of the media functions end to end — NATS request → gate → root machine → media runtime
// → WebRTC link (node-datachannel, our depacketizers, node-av) → the emulator's producer (VP8 from
// libwebrtc for a Lite, H.264 two-slice from libx264 for a Wireless) — asserting on what comes back
// and on what the emulator received (issue "media"): JPEG/thumbnail sizes decoded with sharp, raw
// over budget refused, every reply under 900 000 bytes, microphone RMS against the emulator's tone,
// pushed audio reaching the producer, sound files (traversal refused, nothing read), release/acquire,
// producer restart, push_video_frame Unsupported, loss repaired by NACK/RTX on the H.264 path.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import sharp from 'sharp';
import { request } from 'undici';
import { RELEASED_POLL_MS } from '../../src/actors/media-runtime.ts';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MAX_RPC_PAYLOAD_BYTES } from '../../src/media/encoding/frame-encoding.ts';
import type { MediaLinkStats } from '../../src/media/media-link.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { openClient, recorder, type MessageQueue } from '../harness/mesh-peer.ts';
import { startTestDriver, waitFor, type TestDriver } from '../harness/driver-harness.ts';

let server: NatsServerHandle;
let nc: NatsConnection;
let soundsDir: string;
beforeAll(async () => {
  server = await startNatsServer();
  nc = await openClient(server.url);
  soundsDir = mkdtempSync(join(tmpdir(), 'rmd-sounds-'));
  mkdirSync(join(soundsDir, 'set'));
  writeFileSync(join(soundsDir, 'set', 'beep.wav'), wavTone(440, 0.2));
  writeFileSync(join(tmpdir(), 'rmd-outside-secret.wav'), wavTone(220, 0.1));
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

/** A mono 16 kHz s16 WAV of a sine (a real, decodable file for the daemon's upload check). */
function wavTone(frequencyHz: number, seconds: number): Buffer {
  const rate = 16_000;
  const frames = Math.round(rate * seconds);
  const data = Buffer.alloc(frames * 2);
  for (let i = 0; i < frames; i++) data.writeInt16LE(Math.round(Math.sin((2 * Math.PI * frequencyHz * i) / rate) * 8_000), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

interface Scene {
  readonly driver: TestDriver;
  readonly id: string;
  readonly events: MessageQueue;
  /** The reply and its exact size on the wire. */
  call(method: string, params?: Record<string, unknown>, timeoutMs?: number): Promise<{ reply: Record<string, any>; bytes: number }>;
}

let counter = 0;
async function scene(model: 'lite' | 'wireless'): Promise<Scene> {
  const id = `media-${model}-${++counter}`;
  const events = recorder(nc, `device-connect.default.${id}.event.>`);
  await nc.flush();
  const driver = await startTestDriver(['--sim', '--sim-model', model, '--sim-time-scale', '0.05', '--device-id', id, '--messaging-url', server.url, '--discovery-mode', 'd2d', '--sounds-dir', soundsDir,
    // These transcripts call media functions back to back; rate limits have their own test.
    '--rate-limit', 'none'], {
    DEVICE_CONNECT_ALLOW_INSECURE: 'true',
  });
  const s: Scene = {
    driver,
    id,
    events,
    async call(method, params = {}, timeoutMs = 15_000) {
      const reply = await nc.request(`device-connect.default.${id}.cmd`, JSON.stringify({ jsonrpc: '2.0', id: `${method}-${Date.now()}`, method, params }), { timeout: timeoutMs });
      return { reply: reply.json(), bytes: reply.data.length };
    },
  };
  await waitFor(async () => (await s.call('get_media_status').catch(() => ({ reply: {} as Record<string, any> }))).reply.result?.session_state === 'streaming', 10_000, 'the media session to stream');
  // Sounds go through the daemon's HTTP API: its link starts after the mesh's first dial and may come up after the media session.
  await waitFor(async () => (await s.call('get_status').catch(() => ({ reply: {} as Record<string, any> }))).reply.result?.driver_state?.connection_state === 'connected', 10_000, 'the daemon link to connect');
  return s;
}

const rmsOfFloat32 = (b64: string) => {
  const bytes = Buffer.from(b64, 'base64');
  const samples = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  let sum = 0;
  for (const x of samples) sum += x * x;
  return Math.sqrt(sum / samples.length);
};

function tonePcm(frequencyHz: number, amplitude: number, rate: number, seconds: number, dtype: 'int16' | 'float32'): string {
  const frames = Math.round(rate * seconds);
  const out = Buffer.alloc(frames * (dtype === 'int16' ? 2 : 4));
  for (let i = 0; i < frames; i++) {
    const x = Math.sin((2 * Math.PI * frequencyHz * i) / rate) * amplitude;
    if (dtype === 'int16') out.writeInt16LE(Math.round(x * 32_767), i * 2);
    else out.writeFloatLE(x, i * 4);
  }
  return out.toString('base64');
}

describe.each(['lite', 'wireless'] as const)('media through the mesh, %s robot', (model) => {
  let s: Scene;
  beforeAll(async () => {
    s = await scene(model);
  }, 30_000);
  afterAll(async () => {
    await s?.driver.stop();
  });

  test('the session streams the model\'s codec: VP8 from a Lite, H.264 from a Wireless', async () => {
    const { reply } = await s.call('get_media_status');
    expect(reply.result).toMatchObject({ status: 'available', session_state: 'streaming', video_codec: model === 'lite' ? 'vp8' : 'h264', video_input: true, input_audio_samplerate: 16_000, input_channels: 1 });
  });

  test('jpeg and thumbnail decode to the preset sizes; max_edge and quality are honoured; every reply is under the budget', async () => {
    const jpeg = await s.call('capture_video_frame', { encoding: 'jpeg' });
    expect(jpeg.bytes).toBeLessThanOrEqual(MAX_RPC_PAYLOAD_BYTES);
    const meta = await sharp(Buffer.from(jpeg.reply.result.data_b64, 'base64')).metadata();
    expect(meta.format).toBe('jpeg');
    expect(Math.max(meta.width!, meta.height!)).toBe(640);
    expect([meta.width, meta.height]).toEqual([jpeg.reply.result.width, jpeg.reply.result.height]);
    expect(jpeg.reply.result).toMatchObject({ status: 'success', kind: 'video_frame', encoding: 'jpeg', target: 'simulated' });
    expect(jpeg.reply.result.age_ms).toBeLessThan(2_000);

    const thumb = await s.call('capture_video_frame', { encoding: 'thumbnail' });
    const tmeta = await sharp(Buffer.from(thumb.reply.result.data_b64, 'base64')).metadata();
    expect(Math.max(tmeta.width!, tmeta.height!)).toBe(320);
    expect(thumb.bytes).toBeLessThan(jpeg.bytes);

    const small = await s.call('capture_video_frame', { encoding: 'jpeg', max_edge: 100, quality: 30 });
    const smeta = await sharp(Buffer.from(small.reply.result.data_b64, 'base64')).metadata();
    expect(Math.max(smeta.width!, smeta.height!)).toBe(100);
    for (const r of [jpeg, thumb, small]) expect(r.reply.result.rpc_json_bytes).toBeLessThanOrEqual(MAX_RPC_PAYLOAD_BYTES);
  });

  test('a raw frame over the budget is refused with its size and the alternatives; bad parameters never reach the camera', async () => {
    const raw = await s.call('capture_video_frame', { encoding: 'raw', allow_oversize_raw: true });
    expect(raw.reply.error.data).toMatchObject({ _tag: 'PayloadTooLarge' });
    expect(raw.reply.error.message).toMatch(/jpeg|thumbnail/);
    expect(raw.bytes).toBeLessThan(10_000);
    for (const params of [{ encoding: 'png' }, { max_edge: 8 }, { quality: 101 }, { max_edge: Number.NaN }, { extra: 1 }]) {
      const { reply } = await s.call('capture_video_frame', params);
      expect(reply.error.code).toBe(-32602);
    }
  });

  test('capture_audio_sample: the microphone RMS matches the emulator tone (amplitude 0.3 → RMS 0.212)', async () => {
    s.driver.emulator!.media!.setTone({ frequencyHz: 440, amplitude: 0.3 });
    await new Promise((r) => setTimeout(r, 300));
    const { reply, bytes } = await s.call('capture_audio_sample', { duration_ms: 500 });
    expect(bytes).toBeLessThanOrEqual(MAX_RPC_PAYLOAD_BYTES);
    expect(reply.result).toMatchObject({ status: 'success', encoding: 'float32', sample_rate: 16_000, channels: 1, frames: 8_000 });
    expect(rmsOfFloat32(reply.result.data_b64)).toBeCloseTo(0.3 / Math.SQRT2, 1);
    expect(reply.result.rms).toBeGreaterThan(0.18);
    expect(reply.result.rms).toBeLessThan(0.25);
    const s16 = await s.call('capture_audio_sample', { duration_ms: 100, encoding: 's16le' });
    expect(Buffer.from(s16.reply.result.data_b64, 'base64').length).toBe(1_600 * 2);
  });

  test('push_audio_sample: int16 is scaled (not cast), resampled, and reaches the producer at the right level and pitch', async () => {
    const { reply } = await s.call('push_audio_sample', { data_b64: tonePcm(660, 0.5, 16_000, 1.0, 'int16'), sample_rate: 16_000, dtype: 'int16' });
    expect(reply.result).toMatchObject({ status: 'accepted', frames: 16_000, duration_ms: 1_000 });
    await expect
      .poll(() => s.driver.emulator!.media!.receivedAudio(400), { timeout: 5_000, interval: 100 })
      .toSatisfy((heard: { rms: number; frequencyHz: number | null }) => heard.rms > 0.25 && heard.rms < 0.45 && heard.frequencyHz !== null && Math.abs(heard.frequencyHz - 660) < 30);
    const bad = await s.call('push_audio_sample', { data_b64: 'AAA', dtype: 'float32' });
    expect(bad.reply.error).toMatchObject({ code: -32602 });
  });

  test('push_video_frame is Unsupported, never a fake "accepted"', async () => {
    const { reply } = await s.call('push_video_frame', { data_b64: 'AAAA', width: 1, height: 1 });
    expect(reply.error.data).toMatchObject({ _tag: 'Unsupported', function: 'push_video_frame' });
  });

  // Wireless only: the emulator loses packets on purpose only in its H.264 mode (the Lite's VP8 comes from
  // libwebrtc; its loss repair is tested through a UDP proxy in test/media/link/media-link-nack.test.ts).
  if (model === 'wireless') test('a lossy camera link (3 % of video lost, retransmissions too): NACK + RTX repair it — fresh captures throughout, the repair counted in get_media_status, keyframe requests rare', async () => {
    const producer = s.driver.emulator!.media!;
    const stats = async () => (await s.call('get_media_status')).reply.result.stats as MediaLinkStats;
    const before = await stats();
    const keyframesBefore = producer.keyframeRequests;
    const resentBefore = producer.retransmissions ?? 0;
    producer.setVideoLoss(0.03, 7);
    try {
      for (let k = 0; k < 12; k++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        // Never older than 500 ms: no stretch frozen until a keyframe (the GOP is 2 s).
        const capture = await s.call('capture_video_frame', { encoding: 'thumbnail', max_age_ms: 500 });
        expect(capture.reply.result?.status, `capture ${k}: ${JSON.stringify(capture.reply.error?.data)}`).toBe('success');
      }
    } finally {
      producer.setVideoLoss(0);
    }
    // Repairs in flight settle (past the driver's 150 ms NACK give-up) before the counters are read.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = await stats();
    const resent = (producer.retransmissions ?? 0) - resentBefore;
    expect(after.nackSent - before.nackSent).toBeGreaterThan(0);
    expect(after.nackedPackets - before.nackedPackets).toBeGreaterThan(5);
    expect(resent).toBeGreaterThan(0);
    // Retransmissions are lost at the same 3 %, and one resent for a hole already filled (a late original)
    // is not counted; under load a few are still in flight when the counters are read.
    expect(after.rtxReceived - before.rtxReceived).toBeGreaterThan(0);
    expect(after.rtxReceived - before.rtxReceived).toBeGreaterThanOrEqual(Math.floor(resent * 0.5));
    expect(after.recoveredPackets - before.recoveredPackets).toBeGreaterThan(0);
    // Unrepaired losses (a packet and its three retransmissions all lost) cost a PLI each, at most.
    expect(after.pliSent - before.pliSent).toBeLessThanOrEqual(2);
    expect(producer.keyframeRequests - keyframesBefore).toBeLessThanOrEqual(2);
  });
});

describe('sound files, release/acquire and producer restarts (Lite)', () => {
  let s: Scene;
  beforeAll(async () => {
    s = await scene('lite');
  }, 30_000);
  afterAll(async () => {
    await s?.driver.stop();
  });

  test('play_audio_file uploads a file from the sounds directory and plays it; traversal and bad names are refused with nothing uploaded', async () => {
    const emulator = s.driver.emulator!;
    for (const name of ['../rmd-outside-secret.wav', join(tmpdir(), 'rmd-outside-secret.wav'), 'set/../../rmd-outside-secret.wav', '.hidden.wav', 'notes.txt', 'missing.wav']) {
      const { reply } = await s.call('play_audio_file', { sound_file: name });
      expect(reply.error?.data?._tag, name).toBe('SoundFileRefused');
    }
    expect(emulator.snapshot().uploadedSounds).toEqual([]);
    expect(emulator.snapshot().playedSounds).toEqual([]);
    const { reply } = await s.call('play_audio_file', { sound_file: 'set/beep.wav' });
    expect(reply.result).toMatchObject({ status: 'accepted', name: 'beep.wav' });
    expect(emulator.snapshot().uploadedSounds.map((u) => u.name)).toEqual(['beep.wav']);
    expect(emulator.snapshot().playedSounds).toEqual([reply.result.daemon_path]);
  });

  test('get_media_stream_access with probe_signaling runs the real handshake and names the producer', async () => {
    const { reply } = await s.call('get_media_stream_access', { probe_signaling: true });
    expect(reply.result).toMatchObject({ status: 'success', recommended_backend: 'webrtc', backends: { webrtc: { producer_name: 'reachymini', probe: { reachable: true, producer_name: 'reachymini', producer_count: 1 } } } });
    expect(reply.result.backends.webrtc.signaling_url).toBe(s.driver.emulator!.signallingUrl);
  });

  test('release → media calls answer MediaReleased; acquire → streaming again and frames flow', async () => {
    const released = await s.call('release_media_hardware');
    expect(released.reply.result).toMatchObject({ status: 'success', released: true });
    await expect.poll(async () => (await s.call('get_media_status')).reply.result.session_state, { timeout: 5_000 }).toBe('released');
    for (const method of ['capture_video_frame', 'capture_audio_sample', 'play_audio_file']) {
      const { reply } = await s.call(method, method === 'play_audio_file' ? { sound_file: 'set/beep.wav' } : {});
      expect(reply.error?.data?._tag, method).toBe('MediaReleased');
    }
    const acquired = await s.call('acquire_media_hardware');
    expect(acquired.reply.result).toMatchObject({ status: 'success', released: false, streaming: true });
    const frame = await s.call('capture_video_frame', { encoding: 'thumbnail' });
    expect(frame.reply.result?.status).toBe('success');
  });

  test('another program releases and re-acquires the hardware through the daemon → released, then streaming again', async () => {
    const emulator = s.driver.emulator!;
    const post = async (path: string) => (await request(`${emulator.url}${path}`, { method: 'POST' })).body.json();
    expect(await post('/api/media/release')).toEqual({ status: 'ok' });
    await expect.poll(async () => (await s.call('get_media_status')).reply.result.session_state, { timeout: 8_000 }).toBe('released');
    expect((await s.call('capture_video_frame')).reply.error?.data?._tag).toBe('MediaReleased');
    expect(await post('/api/media/acquire')).toEqual({ status: 'ok' });
    await expect.poll(async () => (await s.call('get_media_status')).reply.result.session_state, { timeout: RELEASED_POLL_MS + 5_000 }).toBe('streaming');
    expect((await s.call('capture_video_frame', { encoding: 'thumbnail' })).reply.result?.status).toBe('success');
  }, 20_000);

  test('a frozen camera: past max_age_ms the capture answers FrameTooOld {age_ms, max_age_ms}; fresh frames answer success again', async () => {
    const producer = s.driver.emulator!.media!;
    expect((await s.call('capture_video_frame', { encoding: 'thumbnail', max_age_ms: 1_000 })).reply.result?.status).toBe('success');
    producer.freezeVideo(true);
    try {
      await new Promise((resolve) => setTimeout(resolve, 600));
      const stale = (await s.call('capture_video_frame', { encoding: 'thumbnail', max_age_ms: 300 })).reply;
      expect(stale.error?.data).toMatchObject({ _tag: 'FrameTooOld', max_age_ms: 300 });
      expect(stale.error?.data?.age_ms).toBeGreaterThan(300);
    } finally {
      producer.freezeVideo(false);
    }
    await expect
      .poll(async () => (await s.call('capture_video_frame', { encoding: 'thumbnail', max_age_ms: 1_000 })).reply.result?.status, { timeout: 3_000, interval: 100 })
      .toBe('success');
  });

  test('the producer restarts → the session streams again within 3 s, without a driver restart', async () => {
    const emulator = s.driver.emulator!;
    const sessionsBefore = (await s.call('get_media_status')).reply.result.sessions_started;
    emulator.media!.detach();
    emulator.media!.attach();
    const t0 = Date.now();
    await expect
      .poll(async () => (await s.call('get_media_status')).reply.result, { timeout: 3_000, interval: 50 })
      .toMatchObject({ session_state: 'streaming', sessions_started: sessionsBefore + 1 });
    expect(Date.now() - t0).toBeLessThan(3_000);
    const frame = await s.call('capture_video_frame', { encoding: 'thumbnail' });
    expect(frame.reply.result?.status).toBe('success');
  });
});

// Transcript of the background detectors through the mesh (issue "media"): set_monitors turns them
// on; the emulator's camera shows a static scene with sensor noise (no motion_event), then a moving
// one (one motion_detected), then static again (one motion_ended); its microphone goes silent → tone
// (one audio_activity_detected) → silent (one audio_activity_ended). Events carry ts, seq, value,
// threshold and confidence; detect_* answer the current measurement on demand.
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { openClient, recorder, type MessageQueue, type Recorded } from '../harness/mesh-peer.ts';
import { startTestDriver, waitFor, type TestDriver } from '../harness/driver-harness.ts';

let server: NatsServerHandle;
let nc: NatsConnection;
let driver: TestDriver;
let events: MessageQueue;
const ID = 'media-detectors-1';

async function call(method: string, params: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const reply = await nc.request(`device-connect.default.${ID}.cmd`, JSON.stringify({ jsonrpc: '2.0', id: `${method}-${Date.now()}`, method, params }), { timeout: 15_000 });
  return reply.json();
}

const named = (name: string) => (m: Recorded) => m.subject.endsWith(`.event.${name}`);
const params = (m: Recorded) => (m.body as { params: Record<string, any> }).params;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  server = await startNatsServer();
  nc = await openClient(server.url);
  events = recorder(nc, `device-connect.default.${ID}.event.>`);
  await nc.flush();
  driver = await startTestDriver(['--sim', '--sim-model', 'lite', '--sim-time-scale', '0.05', '--device-id', ID, '--messaging-url', server.url, '--discovery-mode', 'd2d'], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' });
  await waitFor(async () => (await call('get_media_status').catch((): Record<string, any> => ({}))).result?.session_state === 'streaming', 10_000, 'the media session to stream');
}, 30_000);
afterAll(async () => {
  await driver?.stop();
  await nc?.close();
  await server?.stop();
});

describe('motion monitor', () => {
  test('static noisy scene: no event; movement: one motion_detected; still again: one motion_ended', async () => {
    const media = driver.emulator!.media!;
    media.setScene('static-noisy');
    const on = await call('set_monitors', { motion: true });
    expect(on.result).toMatchObject({ status: 'success', motion: true, active: true });
    await sleep(3_000);
    expect(events.messages.filter(named('motion_event'))).toEqual([]);
    const still = await call('detect_motion');
    expect(still.result).toMatchObject({ status: 'success', state: 'inactive', source: 'camera' });
    expect(still.result.magnitude).toBeLessThan(0.02);

    media.setScene('moving');
    const detected = params(await events.next(named('motion_event'), 6_000));
    expect(detected).toMatchObject({ kind: 'motion_detected', state: 'active', source: 'camera', seq: 1 });
    expect(detected.magnitude).toBeGreaterThan(detected.threshold);
    expect(detected.confidence).toBeGreaterThan(0);
    expect(Date.parse(detected.ts)).toBeGreaterThan(Date.now() - 10_000);
    const moving = await call('detect_motion', { threshold: 0.01 });
    expect(moving.result.state).toBe('active');

    media.setScene('static-noisy');
    const ended = params(await events.next(named('motion_event'), 10_000));
    expect(ended).toMatchObject({ kind: 'motion_ended', state: 'inactive', seq: 2 });
    await sleep(1_000);
    expect(events.messages.filter(named('motion_event'))).toHaveLength(2);
    await call('set_monitors', { motion: false });
  }, 40_000);
});

describe('audio monitor', () => {
  test('silence: no event; tone: one audio_activity_detected; silence: one audio_activity_ended', async () => {
    const media = driver.emulator!.media!;
    media.setTone(null);
    await sleep(300);
    await call('set_monitors', { audio: true });
    await sleep(1_500);
    expect(events.messages.filter(named('audio_event'))).toEqual([]);

    media.setTone({ frequencyHz: 440, amplitude: 0.3 });
    const detected = params(await events.next(named('audio_event'), 5_000));
    expect(detected).toMatchObject({ kind: 'audio_activity_detected', state: 'active', source: 'microphone', seq: 1 });
    expect(detected.rms).toBeGreaterThan(0.15);
    const measured = await call('detect_audio_activity', { duration_ms: 200 });
    expect(measured.result).toMatchObject({ status: 'success', state: 'active' });

    media.setTone(null);
    const ended = params(await events.next(named('audio_event'), 5_000));
    expect(ended).toMatchObject({ kind: 'audio_activity_ended', state: 'inactive', seq: 2 });
    await sleep(800);
    expect(events.messages.filter(named('audio_event'))).toHaveLength(2);
    const status = await call('get_status');
    expect(status.result.driver_state).toMatchObject({ audio_activity: false, last_audio_event: { kind: 'audio_activity_ended' } });
    await call('set_monitors', { audio: false });
  }, 30_000);
});

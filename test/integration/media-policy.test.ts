// The camera and microphone policy over a real nats-server against the emulator (issue 13 part 3):
// with --media-policy supervisor, capture and audio-input functions answer MediaNotEnabled until
// `set_media_enabled` on the supervisor subject enables them, and again after it disables them;
// each accepted capture is audited (`media_capture`) with its caller; get_status shows the policy
// and its state. With --media-policy deny they answer MediaDenied and the supervisor cannot lift it.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startMeshScene, waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc, type Recorded } from '../harness/mesh-peer.ts';
import { linkAndPower } from '../harness/ready-state.ts';

let seq = 0;

function sceneOf(get: () => MeshScene, device: string) {
  const request = (subject: string, method: string, params: Record<string, unknown>, timeoutMs: number) =>
    rpc(get().nc, subject, { jsonrpc: '2.0', id: `mp-${++seq}`, method, params }, timeoutMs) as Promise<Record<string, any>>;
  const call = (method: string, params: Record<string, unknown> = {}, timeoutMs = 10_000) => request(`device-connect.default.${device}.cmd`, method, params, timeoutMs);
  const supervisor = (method: string, params: Record<string, unknown> = {}) => request(`device-connect.default.${device}.supervisor`, method, params, 10_000);
  const safetyEvent = async (match: (p: Record<string, any>) => boolean): Promise<Record<string, any>> => {
    const m = await get().all.next((r: Recorded) => r.subject === `device-connect.default.${device}.event.safety_event` && match((r.body as any).params), 5_000);
    return (m.body as any).params;
  };
  const ready = () => waitFor(async () => linkAndPower((await call('get_status', {}, 1_000).catch(() => ({}) as Record<string, any>)).result) === 'connected/awake', 10_000, 'the driver is up');
  const mediaPolicy = async () => (await call('get_status')).result.driver_state.media_policy;
  return { call, supervisor, safetyEvent, ready, mediaPolicy };
}

const AGENT = { _dc_meta: { source_device: 'cam-agent' } };

describe('--media-policy supervisor', () => {
  const DEVICE = 'media-policy-1';
  let scene: MeshScene;
  const s = sceneOf(() => scene, DEVICE);
  beforeAll(async () => {
    scene = await startMeshScene(['--sim', '--device-id', DEVICE, '--media-policy', 'supervisor']);
    await s.ready();
  });
  afterAll(async () => {
    await scene?.stop();
  });

  test('capture is refused until the supervisor enables it, audited with its caller once enabled, and refused again after it is disabled', async () => {
    expect(await s.mediaPolicy()).toMatchObject({ policy: 'supervisor', state: 'disabled', changed_by: null });
    scene.all.drain();
    for (const fn of ['capture_video_frame', 'capture_audio_sample', 'start_audio_input', 'detect_motion', 'get_media_stream_access']) {
      expect((await s.call(fn, AGENT)).error?.data, fn).toMatchObject({ _tag: 'MediaNotEnabled', function: fn, media_policy: 'supervisor' });
    }
    expect(await s.safetyEvent((p) => p.kind === 'refused' && p.error_tag === 'MediaNotEnabled')).toMatchObject({ function: 'capture_video_frame', caller: { id: 'cam-agent', verified: false } });
    // Functions that neither see nor hear are not gated by the policy.
    expect((await s.call('get_media_status')).error).toBeUndefined();
    // Enabling is the supervisor's: not served on .cmd.
    expect((await s.call('set_media_enabled', { enabled: true })).error?.data?._tag).toBe('UnknownMethod');
    const enabled = await s.supervisor('set_media_enabled', { enabled: true, reason: 'lab session', owner: 'ops' });
    expect(enabled.result).toMatchObject({ status: 'enabled', media_policy: { policy: 'supervisor', state: 'enabled', changed_by: 'ops', reason: 'lab session' } });
    expect(await s.safetyEvent((p) => p.kind === 'media_enabled')).toMatchObject({ owner: 'ops', reason: 'lab session', media_policy: { state: 'enabled' } });
    expect(await s.mediaPolicy()).toMatchObject({ policy: 'supervisor', state: 'enabled', changed_by: 'ops' });
    scene.all.drain();
    const access = await s.call('get_media_stream_access', AGENT);
    expect(access.error).toBeUndefined();
    expect(await s.safetyEvent((p) => p.kind === 'media_capture')).toMatchObject({ function: 'get_media_stream_access', owner: 'cam-agent', caller: { id: 'cam-agent', verified: false } });
    // A frame once the session streams: the capture itself audited with its caller.
    await waitFor(async () => (await s.call('get_media_status')).result?.session_state === 'streaming', 15_000, 'the media session to stream');
    await expect.poll(async () => (await s.call('capture_video_frame', { encoding: 'thumbnail', ...AGENT })).result?.status, { timeout: 5_000 }).toBe('success');
    expect(await s.safetyEvent((p) => p.kind === 'media_capture' && p.function === 'capture_video_frame')).toMatchObject({ caller: { id: 'cam-agent', verified: false } });
    const disabled = await s.supervisor('set_media_enabled', { enabled: false, reason: 'session over', owner: 'ops' });
    expect(disabled.result).toMatchObject({ status: 'disabled', media_policy: { state: 'disabled' } });
    expect(await s.safetyEvent((p) => p.kind === 'media_disabled')).toMatchObject({ owner: 'ops', reason: 'session over' });
    expect((await s.call('capture_video_frame', { encoding: 'thumbnail', ...AGENT })).error?.data).toMatchObject({ _tag: 'MediaNotEnabled' });
    expect((await s.call('capture_video_frame', AGENT)).error?.message).toContain('disabled by ops (session over)');
    expect(await s.mediaPolicy()).toMatchObject({ state: 'disabled', changed_by: 'ops' });
  });
});

describe('--media-policy deny', () => {
  const DEVICE = 'media-policy-2';
  let scene: MeshScene;
  const s = sceneOf(() => scene, DEVICE);
  beforeAll(async () => {
    scene = await startMeshScene(['--sim', '--device-id', DEVICE, '--media-policy', 'deny']);
    await s.ready();
  });
  afterAll(async () => {
    await scene?.stop();
  });

  test('capture and audio input answer MediaDenied; the supervisor cannot enable them; get_status says denied', async () => {
    expect(await s.mediaPolicy()).toMatchObject({ policy: 'deny', state: 'denied' });
    for (const fn of ['capture_video_frame', 'capture_audio_sample', 'start_audio_input', 'detect_audio_activity', 'set_monitors']) {
      expect((await s.call(fn)).error?.data, fn).toMatchObject({ _tag: 'MediaDenied', function: fn, media_policy: 'deny' });
    }
    const lift = await s.supervisor('set_media_enabled', { enabled: true });
    expect(lift.error?.data).toMatchObject({ _tag: 'NotAllowedInState', state: { media_policy: 'deny' } });
    expect((await s.call('capture_video_frame')).error?.data?._tag).toBe('MediaDenied');
    // The speaker is not the camera or the microphone.
    expect((await s.call('stop_audio_output')).error).toBeUndefined();
  });
});

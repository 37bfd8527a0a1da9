// DaemonHttpClient against the embedded daemon emulator on a loopback port (reachy-daemon-api.md
// §0, §1, §10.3), transcript style: call, read the typed result, compare with the emulator's
// state and received log. Also the failures a caller must be able to tell apart: 422 with the
// validation detail, the 500 of an unknown move uuid, the 503 backend gate, a stopped daemon,
// a wedged daemon, malformed replies, and the retry rule (GETs retried, POSTs never).
import { describe, expect, test } from 'vitest';
import {
  DaemonBackendNotRunning, DaemonBadResponse, DaemonNotConnected, DaemonRejected, DaemonServerError, DaemonTimeout,
  DaemonUnreachable, isDaemonHttpError,
} from '../../src/adapters/daemon-errors.ts';
import { type DaemonHttpClient, GET_RETRY_DELAYS_MS, type GotoRequest } from '../../src/adapters/daemon-http.ts';
import type { MotorMode } from '../../src/adapters/daemon-wire.ts';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/sim/emulator.ts';
import { daemonHttpClient, startEmulatorWithClient } from '../harness/emulator-client.ts';
import { cleanupAfterEach, failure } from '../harness/test-cleanups.ts';
import { eventually, startResetProxy, startScriptedHttp, startSilentServer } from './daemon-test-peers.ts';
import { EMULATOR_TIME_SCALE } from '../harness/emulator-probes.ts';

const defer = cleanupAfterEach();
const setup = (options: EmulatorOptions = {}): Promise<{ emulator: Emulator; client: DaemonHttpClient }> => startEmulatorWithClient(defer, options);
const newClient = (baseUrl: string, requestTimeoutMs?: number): DaemonHttpClient => daemonHttpClient(defer, baseUrl, requestTimeoutMs);

const requestsTo = (emulator: Emulator, method: string, path: string): number =>
  emulator.received.filter((entry) => entry.transport === 'http' && entry.method === method && entry.path === path).length;

describe('typed results of every route', () => {
  test('daemonStatus is the DaemonStatus document', async () => {
    const { emulator, client } = await setup();
    const status = await client.daemonStatus();
    expect(status).toEqual(emulator.daemonStatus());
    expect(status.state).toBe('running');
    expect(status.backend_status).toEqual({ motor_control_mode: 'enabled', error: null });
  });

  test('fullState sends the flags as query parameters and decodes both pose encodings', async () => {
    const { emulator, client } = await setup();
    const state = await client.fullState({ withHeadJoints: true });
    expect(emulator.received.at(-1)).toMatchObject({ method: 'GET', path: '/api/state/full', query: { with_head_joints: 'true' } });
    const snapshot = emulator.snapshot();
    expect(state.control_mode).toBe('enabled');
    // JSON has no -0 once serialised by JavaScript; compare values, not the sign of zero.
    expect(state.head_joints?.map((v) => v + 0)).toEqual(snapshot.headJoints.map((v) => v + 0));
    expect(state.antennas_position).toEqual(snapshot.antennas);
    expect(state.body_yaw).toBeCloseTo(snapshot.bodyYaw, 12);
    expect(state.head_pose).toMatchObject({ x: expect.any(Number), yaw: expect.any(Number) });
    expect(state.passive_joints).toBeNull();
    expect(state.timestamp).toMatch(/Z$/);

    const matrixState = await client.fullState({ usePoseMatrix: true, withBodyYaw: false });
    expect(matrixState.head_pose).toEqual({ m: snapshot.headPoseMatrix });
    expect(matrixState.body_yaw).toBeNull();
    expect(matrixState.head_joints).toBeNull();
  });

  test('presentHeadPose (XYZRPY and matrix), presentBodyYaw (bare number), presentAntennas', async () => {
    const { emulator, client } = await setup();
    const { status } = await client.setTarget({ target_head_pose: { x: 0, y: 0, z: 0.005, roll: 0, pitch: 0.1, yaw: 0.2 }, target_antennas: [0.3, -0.3] });
    expect(status).toBe('ok');
    const snapshot = emulator.snapshot();
    const pose = await client.presentHeadPose();
    expect(pose.pitch).toBeCloseTo(0.1, 9);
    expect(pose.yaw).toBeCloseTo(0.2, 9);
    expect(pose.z).toBeCloseTo(0.005, 9);
    expect(await client.presentHeadPose({ usePoseMatrix: true })).toEqual({ m: snapshot.headPoseMatrix });
    expect(await client.presentBodyYaw()).toBeCloseTo(snapshot.bodyYaw, 12);
    expect(await client.presentAntennas()).toEqual([0.3, -0.3]);
  });

  test('motorsStatus and setMotorMode (the daemon answers with the Python enum repr)', async () => {
    const { emulator, client } = await setup();
    expect(await client.motorsStatus()).toEqual({ mode: 'enabled' });
    expect(await client.setMotorMode('disabled')).toEqual({ status: 'motors changed to MotorControlMode.Disabled mode' });
    expect(emulator.received.at(-1)).toMatchObject({ method: 'POST', path: '/api/motors/set_mode/disabled' });
    expect(await client.motorsStatus()).toEqual({ mode: 'disabled' });
    expect(await client.setMotorMode('gravity_compensation')).toEqual({ status: 'motors changed to MotorControlMode.GravityCompensation mode' });
  });

  test('goto returns the uuid, runningMoves lists it, stopMove stops it', async () => {
    const { emulator, client } = await setup();
    const body: GotoRequest = { head_pose: { x: 0, y: 0, z: 0.01, roll: 0, pitch: 0.2, yaw: 0.3 }, antennas: [0.5, -0.5], body_yaw: 0.2, duration: 100, interpolation: 'minjerk' };
    const { uuid } = await client.goto(body);
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(emulator.received.at(-1)).toMatchObject({ method: 'POST', path: '/api/move/goto', body });
    expect(await client.runningMoves()).toEqual([uuid]);
    expect(await client.stopMove(uuid)).toEqual({ message: `Stopped move with UUID: ${uuid}` });
    expect(await client.runningMoves()).toEqual([]);
  });

  test('setTarget: ok when idle, ignored (never ok) while a move holds the lock', async () => {
    const { emulator, client } = await setup();
    expect(await client.setTarget({ target_antennas: [0.1, -0.1] })).toEqual({ status: 'ok' });
    await client.goto({ antennas: [1, -1], duration: 100 });
    expect(await client.setTarget({ target_antennas: [0.2, -0.2], target_body_yaw: 0.1 })).toEqual({ status: 'ignored', reason: 'move_running' });
    expect(emulator.snapshot().antennas[0]).not.toBe(0.2);
  });

  test('playWakeUp and playGotoSleep return move uuids; goto_sleep ends with motors disabled', async () => {
    const { client } = await setup();
    const wake = await client.playWakeUp();
    expect(wake.uuid).toMatch(/^[0-9a-f-]{36}$/);
    await eventually(async () => (await client.runningMoves()).length === 0);
    const sleep = await client.playGotoSleep();
    expect(sleep.uuid).not.toBe(wake.uuid);
    await eventually(async () => (await client.motorsStatus()).mode === 'disabled');
  });

  test('media: status, release/acquire, play_sound; camera specs', async () => {
    const { emulator, client } = await setup({ withMedia: true });
    expect(await client.mediaStatus()).toEqual({ available: true, released: false, no_media: false });
    expect(await client.mediaRelease()).toEqual({ status: 'ok' });
    expect(await client.mediaStatus()).toEqual({ available: false, released: true, no_media: false });
    expect(await client.mediaAcquire()).toEqual({ status: 'ok' });
    expect((await client.mediaStatus()).released).toBe(false);
    expect(await client.playSound('wake_up.wav')).toEqual({ status: 'ok' });
    expect(emulator.snapshot().playedSounds).toContain('wake_up.wav');
    const specs = await client.cameraSpecs();
    expect(specs.name).toBe('lite');
    expect(specs.K).toHaveLength(3);
    expect(specs.default_resolution).toMatchObject({ width: expect.any(Number), height: expect.any(Number), fps: expect.any(Number) });
    expect(specs.available_resolutions.length).toBeGreaterThan(0);
  });

  test('without a media server the daemon says so (no_media), and release is still ok', async () => {
    const { client } = await setup();
    expect(await client.mediaStatus()).toEqual({ available: false, released: false, no_media: true });
    expect(await client.mediaRelease()).toEqual({ status: 'ok' });
  });
});

describe('refusals and failures are distinct typed outcomes', () => {
  test('422 → DaemonRejected carrying the validation detail', async () => {
    const { client } = await setup();
    const missing = await failure(client.goto({ antennas: [0, 0] } as unknown as GotoRequest));
    expect(missing).toBeInstanceOf(DaemonRejected);
    expect(missing).toMatchObject({
      _tag: 'DaemonRejected',
      status: 422,
      method: 'POST',
      route: '/api/move/goto',
      detail: [{ type: 'missing', loc: ['body', 'duration'], msg: 'Field required' }],
    });
    expect((missing as DaemonRejected).message).toContain('body.duration: Field required');

    const bogus = await failure(client.setMotorMode('bogus' as MotorMode));
    expect(bogus).toMatchObject({ _tag: 'DaemonRejected', status: 422, detail: [{ type: 'enum', loc: ['path', 'mode'] }] });
    expect(isDaemonHttpError(bogus)).toBe(true);
  });

  test('stopping an unknown uuid → DaemonServerError 500 on /api/move/stop (the caller decides)', async () => {
    const { client } = await setup();
    const error = await failure(client.stopMove('00000000-0000-0000-0000-000000000000'));
    expect(error).toBeInstanceOf(DaemonServerError);
    expect(error).toMatchObject({ status: 500, method: 'POST', route: '/api/move/stop', bodyExcerpt: 'Internal Server Error' });
  });

  test('503 backend-not-running fault → DaemonBackendNotRunning; the daemon status still answers', async () => {
    const { emulator, client } = await setup();
    emulator.setFault({ kind: 'backend-not-running' });
    expect(await failure(client.fullState())).toMatchObject({ _tag: 'DaemonBackendNotRunning', route: '/api/state/full', method: 'GET' });
    const refusedGoto = await failure(client.goto({ duration: 1 }));
    expect(refusedGoto).toBeInstanceOf(DaemonBackendNotRunning);
    // A GET that hit the gate is not retried: it is a state, not a transient failure.
    expect(requestsTo(emulator, 'GET', '/api/state/full')).toBe(1);
    expect(await client.daemonStatus()).toMatchObject({ state: 'stopped', backend_status: null });
  });

  test('a stopped daemon → DaemonUnreachable at once (GET after its bounded retries, POST without)', async () => {
    const { emulator, client } = await setup();
    await client.daemonStatus();
    await emulator.stop();
    let started = performance.now();
    const getError = await failure(client.daemonStatus());
    const getMs = performance.now() - started;
    expect(getError).toBeInstanceOf(DaemonUnreachable);
    expect(getError).toMatchObject({ code: 'ECONNREFUSED', url: `${emulator.url}/api/daemon/status` });
    const retryBudget = GET_RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
    expect(getMs).toBeGreaterThanOrEqual(retryBudget - 5);
    expect(getMs).toBeLessThan(retryBudget + 500);

    started = performance.now();
    expect(await failure(client.goto({ duration: 1 }))).toMatchObject({ _tag: 'DaemonUnreachable', code: 'ECONNREFUSED' });
    expect(performance.now() - started).toBeLessThan(200);

    await emulator.start();
    expect((await client.daemonStatus()).state).toBe('running');
  });

  test('a daemon that accepts and never answers → DaemonTimeout after the per-call deadline, not retried', async () => {
    const silent = await startSilentServer();
    defer(() => silent.close());
    const client = newClient(silent.url, 5_000);
    const started = performance.now();
    const error = await failure(client.daemonStatus({ timeoutMs: 250 }));
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(DaemonTimeout);
    expect(error).toMatchObject({ route: '/api/daemon/status', method: 'GET', timeoutMs: 250 });
    expect(elapsed).toBeGreaterThanOrEqual(240);
    expect(elapsed).toBeLessThan(1_000);
  });

  test('malformed 2xx replies → DaemonBadResponse; an unknown set_target status is never reported ok', async () => {
    const scripted = await startScriptedHttp((request) => {
      if (request.url === '/api/daemon/status') return { status: 200, body: 'Internal chaos', type: 'text/plain' };
      if (request.url === '/api/move/set_target') return { status: 200, body: '{"status":"accepted"}' };
      if (request.url === '/api/move/goto') return { status: 200, body: '{"id":"x"}' };
      return { status: 200, body: '[1,2,3]' };
    });
    defer(() => scripted.close());
    const client = newClient(scripted.url);
    expect(await failure(client.daemonStatus())).toMatchObject({ _tag: 'DaemonBadResponse', problem: 'not JSON', bodyExcerpt: 'Internal chaos' });
    const weird = await failure(client.setTarget({ target_body_yaw: 0 }));
    expect(weird).toBeInstanceOf(DaemonBadResponse);
    expect((weird as DaemonBadResponse).problem).toContain('"ok" or "ignored"');
    expect(await failure(client.goto({ duration: 1 }))).toMatchObject({ _tag: 'DaemonBadResponse', route: '/api/move/goto' });
    expect(await failure(client.presentAntennas())).toMatchObject({ _tag: 'DaemonBadResponse', problem: expect.stringContaining('2 numbers') });
  });

  test('a volume that is not a percentage (1e400 → Infinity, negative, over 100) is a bad response, never passed on', async () => {
    const replies: Record<string, string> = { '/api/volume/current': '{"volume": 1e400, "platform": "Linux", "device": "x"}', '/api/volume/microphone/current': '{"volume": -5}' };
    const scripted = await startScriptedHttp((request) => ({ status: 200, body: replies[request.url ?? ''] ?? '{"volume": 101}' }));
    defer(() => scripted.close());
    const client = newClient(scripted.url);
    expect(await failure(client.volume('speaker'))).toMatchObject({ _tag: 'DaemonBadResponse', problem: expect.stringContaining('0 to 100') });
    expect(await failure(client.volume('microphone'))).toMatchObject({ _tag: 'DaemonBadResponse' });
    expect(await failure(client.setVolume('speaker', 50))).toMatchObject({ _tag: 'DaemonBadResponse' });
  });

  test('a reply nested 100,000 deep (too deep for JSON.stringify to quote) is still a typed refusal with a short problem', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const scripted = await startScriptedHttp((request) => {
      if (request.url?.startsWith('/api/state/full')) return { status: 200, body: `{"control_mode": "enabled", "head_joints": ${deep}, "timestamp": "t"}` };
      if (request.url === '/api/move/goto') return { status: 422, body: `{"detail": [{"type": "x", "loc": ["body"], "input": ${deep}}]}` };
      return { status: 400, body: `{"detail": {"why": ${deep}}}` };
    });
    defer(() => scripted.close());
    const client = newClient(scripted.url);
    const bad = await failure(client.fullState());
    expect(bad).toBeInstanceOf(DaemonBadResponse);
    expect(bad).toMatchObject({ route: '/api/state/full', problem: 'head_joints: expected 7 numbers, got an array of 1' });
    // An issue without `msg` and a detail object are quoted as JSON when they can be, described when not.
    expect(await failure(client.goto({ duration: 1 }))).toMatchObject({ _tag: 'DaemonRejected', status: 422, detail: [{ type: 'x', loc: ['body'], msg: 'an object' }] });
    const refused = await failure(client.setMotorMode('disabled'));
    expect(refused).toMatchObject({ _tag: 'DaemonRejected', status: 400, detail: 'an object' });
    expect((refused as DaemonRejected).message.length).toBeLessThan(200);
  });

  test('a 422 of 800 issues with long texts (~0.9 MB), and a detail sentence of 500,000 characters, stay short refusals', async () => {
    const issue = (i: number) => ({ type: 'too_long', loc: ['body', `field_${i}`], msg: 'x'.repeat(500), input: 'y'.repeat(500), ctx: { max: i } });
    const scripted = await startScriptedHttp((request) => {
      if (request.url === '/api/move/goto') return { status: 422, body: JSON.stringify({ detail: Array.from({ length: 800 }, (_, i) => issue(i)) }) };
      return { status: 400, body: JSON.stringify({ detail: 'z'.repeat(500_000) }) };
    });
    defer(() => scripted.close());
    const client = newClient(scripted.url);
    const rejected = (await failure(client.goto({ duration: 1 }))) as DaemonRejected;
    expect(rejected).toMatchObject({ _tag: 'DaemonRejected', status: 422 });
    const issues = rejected.detail as ReadonlyArray<{ type: string; msg: string; input?: unknown; ctx?: unknown }>;
    expect(issues).toHaveLength(11);
    expect(issues[0]).toMatchObject({ type: 'too_long', loc: ['body', 'field_0'], ctx: { max: 0 } });
    expect(issues[0]!.msg.length).toBeLessThanOrEqual(201);
    expect(String(issues[0]!.input).length).toBeLessThanOrEqual(201);
    expect(issues[10]).toMatchObject({ type: 'more_issues', msg: 'and 790 more issues' });
    expect(rejected.message.length).toBeLessThan(5_000);
    const sentence = (await failure(client.setMotorMode('disabled'))) as DaemonRejected;
    expect(sentence).toMatchObject({ _tag: 'DaemonRejected', status: 400 });
    expect(String(sentence.detail).length).toBeLessThanOrEqual(1_001);
    expect(sentence.message.length).toBeLessThan(1_200);
  });

  test('after close() every call rejects with DaemonNotConnected (closed)', async () => {
    const { client } = await setup();
    await client.close();
    expect(await failure(client.daemonStatus())).toBeInstanceOf(DaemonNotConnected);
    expect(await failure(client.goto({ duration: 1 }))).toMatchObject({ _tag: 'DaemonNotConnected', state: 'closed' });
  });
});

describe('retry rule: idempotent GETs only', () => {
  async function behindProxy(): Promise<{ emulator: Emulator; client: DaemonHttpClient; proxy: Awaited<ReturnType<typeof startResetProxy>> }> {
    const emulator = await startEmulator({ timeScale: EMULATOR_TIME_SCALE });
    defer(() => emulator.close());
    const proxy = await startResetProxy(emulator.port);
    defer(() => proxy.close());
    return { emulator, proxy, client: newClient(proxy.url) };
  }

  test('a GET whose reply was cut is retried and succeeds; the daemon saw it twice', async () => {
    const { emulator, proxy, client } = await behindProxy();
    proxy.resetNextReplies(1);
    expect((await client.daemonStatus()).state).toBe('running');
    expect(requestsTo(emulator, 'GET', '/api/daemon/status')).toBe(2);
  });

  test('GET retries are bounded: after 1 + retries cut replies the caller gets DaemonUnreachable', async () => {
    const { emulator, proxy, client } = await behindProxy();
    proxy.resetNextReplies(1 + GET_RETRY_DELAYS_MS.length);
    expect(await failure(client.runningMoves())).toBeInstanceOf(DaemonUnreachable);
    expect(requestsTo(emulator, 'GET', '/api/move/running')).toBe(1 + GET_RETRY_DELAYS_MS.length);
  });

  test('a POST whose reply was cut is NOT retried (the daemon already started the move)', async () => {
    const { emulator, proxy, client } = await behindProxy();
    proxy.resetNextReplies(1);
    const error = await failure(client.goto({ antennas: [0.4, -0.4], duration: 100 }));
    expect(error).toBeInstanceOf(DaemonUnreachable);
    expect(requestsTo(emulator, 'POST', '/api/move/goto')).toBe(1);
    // The move did start: the caller must look (running moves) rather than resend.
    expect(await client.runningMoves()).toHaveLength(1);
    expect(requestsTo(emulator, 'POST', '/api/move/goto')).toBe(1);
  });
});

// The safety envelope over NATS against the emulator (issue 14 item 1): the driver starts with
// `--envelope FILE` (head pitch [-10, 30]°, body yaw ±45°, left antenna ±20°). Calls outside it
// answer OutsideEnvelope with the whole envelope and the violations, calls inside run, and the
// emulator's motion record proves nothing outside reached the robot; every refusal is a
// `safety_event` (refused, OutsideEnvelope). Then set_safety_policy on `.supervisor` narrows and
// widens it live: the refusals follow at once, `policy_changed` carries before and after, and the
// device re-registers on the same connection: the registry and the micro service's INFO
// advertise the new minimum/maximum.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Svcm } from '@nats-io/services';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startMeshScene, waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc, type Recorded } from '../harness/mesh-peer.ts';
import { lookAtRpyDeg } from '../../src/robot/look-at.ts';

const DEVICE = 'envelope-1';
const CMD = `device-connect.default.${DEVICE}.cmd`;
const SUPERVISOR = `device-connect.default.${DEVICE}.supervisor`;
const SAFETY_EVENT = `device-connect.default.${DEVICE}.event.safety_event`;
const ENVELOPE = { head_pitch_deg: { min: -10, max: 30 }, body_yaw_deg: { min: -45, max: 45 }, antenna_left_deg: { min: -20, max: 20 } };
/** Angles read back from the emulator's matrices and radians: a thousandth of a degree of float noise. */
const EPS_DEG = 1e-3;
/** A point above the head: looking at it needs a pitch below -10° (negative pitch looks up). */
const ABOVE = { x_m: 0.5, y_m: 0, z_m: 0.2 };

let scene: MeshScene;
let seq = 0;
const call = async (method: string, params: object = {}): Promise<Record<string, any>> => (await rpc(scene.nc, CMD, { jsonrpc: '2.0', id: `c${++seq}`, method, params }, 15_000)) as Record<string, any>;
const supervise = async (method: string, params: object = {}): Promise<Record<string, any>> => (await rpc(scene.nc, SUPERVISOR, { jsonrpc: '2.0', id: `s${++seq}`, method, params }, 15_000)) as Record<string, any>;
const deg = (rad: number): number => (rad * 180) / Math.PI;
const safetyEvents = (): Array<Record<string, any>> => scene.all.messages.filter((m) => m.subject === SAFETY_EVENT).map((m) => (m.body as any).params);

beforeAll(async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'rmd-envelope-')), 'envelope.json');
  writeFileSync(file, JSON.stringify(ENVELOPE));
  scene = await startMeshScene(['--sim', '--no-media', '--sim-time-scale', '0.05', '--device-id', DEVICE, '--envelope', file, '--discovery-mode', 'infra']);
  const status = async () => ((await rpc(scene.nc, CMD, { jsonrpc: '2.0', id: 'status', method: 'get_status' }, 1_000).catch(() => ({}))) as Record<string, any>).result?.driver_state;
  await waitFor(async () => (await status())?.connection_state === 'connected', 10_000, 'the driver connected to its emulator');
  const woke = await call('wake_up', { wait: true });
  expect(woke.error, JSON.stringify(woke)).toBeUndefined();
  await waitFor(async () => (await status())?.power_state === 'awake', 10_000, 'the robot awake');
});
afterAll(async () => {
  await scene?.stop();
});

function expectOutside(reply: Record<string, any>, violations: Array<{ axis: string; min: number; max: number; value?: number }>, envelope: Record<string, { min: number; max: number }>): void {
  expect(reply.error, JSON.stringify(reply)).toBeDefined();
  expect(reply.error.code).toBe(-32000);
  expect(reply.error.data._tag).toBe('OutsideEnvelope');
  expect(reply.error.data.envelope).toMatchObject(envelope);
  expect(Object.keys(reply.error.data.envelope)).toHaveLength(9);
  expect(reply.error.data.violations).toEqual(violations.map((v) => ({ value: expect.any(Number), ...v })));
}

/** Every head pitch, body yaw and left antenna the emulator was made to reach (moves' targets and applied realtime targets), in degrees. */
function reached(): { pitch: number[]; body: number[]; left: number[] } {
  const record = scene.driver.emulator!.motionRecord;
  const out = { pitch: [] as number[], body: [] as number[], left: [] as number[] };
  const add = (head: { pitch: number } | null | undefined, antennas: readonly [number, number] | null | undefined, body: number | null | undefined) => {
    if (head) out.pitch.push(deg(head.pitch));
    if (antennas) out.left.push(deg(antennas[1]));
    if (typeof body === 'number') out.body.push(deg(body));
  };
  for (const m of record.moves) add(m.target?.head, m.target?.antennas, m.target?.bodyYaw);
  for (const t of record.targets) add(t.values.head, t.values.antennas, t.values.bodyYaw);
  return out;
}

const within = (values: number[], range: { min: number; max: number }) => values.filter((v) => v < range.min - EPS_DEG || v > range.max + EPS_DEG);

test('outside the file\'s envelope: OutsideEnvelope with the envelope and the violations, audited; inside: runs; the robot never left the envelope', async () => {
  const emulator = scene.driver.emulator!;
  emulator.motionRecord.clear();
  const auditedBefore = safetyEvents().length;
  const needed = lookAtRpyDeg(ABOVE.x_m, ABOVE.y_m, ABOVE.z_m).pitch;
  expect(needed).toBeLessThan(-10);

  expectOutside(await call('look_at_world', { pitch: -20 }), [{ axis: 'head_pitch_deg', value: -20, ...ENVELOPE.head_pitch_deg }], ENVELOPE);
  expectOutside(await call('goto_pose', { body_yaw_deg: 60, duration_s: 0.5 }), [{ axis: 'body_yaw_deg', value: 60, ...ENVELOPE.body_yaw_deg }], ENVELOPE);
  expectOutside(await call('set_body_yaw', { yaw_deg: 50 }), [{ axis: 'body_yaw_deg', value: 50, ...ENVELOPE.body_yaw_deg }], ENVELOPE);
  expectOutside(await call('antenna_pose', { left: 40 }), [{ axis: 'antenna_left_deg', value: 40, ...ENVELOPE.antenna_left_deg }], ENVELOPE);
  const point = await call('look_at_point', ABOVE);
  expectOutside(point, [{ axis: 'head_pitch_deg', ...ENVELOPE.head_pitch_deg }], ENVELOPE);
  expect(point.error.data.violations[0].value).toBeCloseTo(needed, 6);
  // Beyond the mechanical range it stays a parameter error — also a point out of the head's reach (HandlerFailed before 2026-12-06).
  expect((await call('look_at_world', { pitch: -31 })).error.data._tag).toBe('InvalidParams');
  for (const unreachable of [{ x_m: -1 }, { x_m: 0, y_m: 0, z_m: 0 }, { x_m: 0.1, y_m: 2 }]) {
    const refused = await call('look_at_point', unreachable);
    expect(refused.error?.data, JSON.stringify(unreachable)).toMatchObject({ _tag: 'InvalidParams', issues: [{ parameter: 'x_m' }, { parameter: 'y_m' }, { parameter: 'z_m' }] });
    expect(refused.error?.code).toBe(-32602);
  }

  // Inside (at the bounds too): accepted and run (waiting for each: a realtime target far from the pose is ramped at the speed limit, and a newer command would end the ramp).
  expect((await call('look_at_world', { pitch: -10, wait: true })).result?.status).toBe('completed');
  expect((await call('look_at_world', { pitch: 30, wait: true })).result?.status).toBe('completed');
  expect((await call('goto_pose', { body_yaw_deg: 30, pitch: -5, antennas_left: 15, duration_s: 0.5, wait: true })).error).toBeUndefined();
  expect((await call('set_body_yaw', { yaw_deg: -40, duration_s: 1.5, wait: true })).error).toBeUndefined();
  expect((await call('antenna_pose', { left: -20, right: 60, wait: true })).result?.status).toBe('completed');
  expect((await call('look_at_point', { x_m: 0.5, z_m: -0.05 })).error).toBeUndefined();

  // The robot's ground truth: the inside targets arrived, nothing outside did.
  await expect.poll(() => reached().left.some((v) => Math.abs(v + 20) < EPS_DEG), { timeout: 5_000 }).toBe(true);
  const seen = reached();
  expect(seen.pitch.some((v) => Math.abs(v + 10) < EPS_DEG)).toBe(true);
  expect(seen.body.some((v) => Math.abs(v + 40) < EPS_DEG)).toBe(true);
  expect(within(seen.pitch, ENVELOPE.head_pitch_deg)).toEqual([]);
  expect(within(seen.body, ENVELOPE.body_yaw_deg)).toEqual([]);
  expect(within(seen.left, ENVELOPE.antenna_left_deg)).toEqual([]);

  // Each refusal is audited once, as a safety_event with the function and its tag.
  await expect.poll(() => safetyEvents().slice(auditedBefore).filter((e) => e.error_tag === 'OutsideEnvelope').length, { timeout: 2_000 }).toBe(5);
  const refused = safetyEvents().slice(auditedBefore).filter((e) => e.error_tag === 'OutsideEnvelope');
  expect(refused.map((e) => e.function)).toEqual(['look_at_world', 'goto_pose', 'set_body_yaw', 'antenna_pose', 'look_at_point']);
  for (const e of refused) expect(e).toMatchObject({ kind: 'refused', owner: 'agent', state: { interlock: 'safe', power: 'awake' } });
});

/** The micro service's INFO, as {function → parameters.properties}. */
async function serviceInfo(): Promise<Record<string, Record<string, any>>> {
  const infos: any[] = [];
  for await (const info of await new Svcm(scene.nc).client().info('reachy-mini-driver')) infos.push(info);
  const mine = infos.find((i) => i.metadata?.device_id === DEVICE);
  return Object.fromEntries((mine.endpoints as Array<{ name: string; metadata: { parameters: string } }>).map((e) => [e.name, JSON.parse(e.metadata.parameters).properties]));
}

/** The next registerDevice the registry receives, as {function → parameters.properties}. */
async function nextRegistration(): Promise<Record<string, Record<string, any>>> {
  const req: Recorded = await scene.registry.requests.next((m) => (m.body as any).method === 'registerDevice', 15_000);
  const functions = (req.body as any).params.capabilities.functions as Array<{ name: string; parameters: { properties: Record<string, any> } }>;
  return Object.fromEntries(functions.map((f) => [f.name, f.parameters.properties]));
}

test('the registration advertises the envelope: motion parameters carry its minimum/maximum', async () => {
  const reply = await call('requestRegistration');
  const functions = reply.result.capabilities.functions as Array<{ name: string; parameters: { properties: Record<string, any> } }>;
  const props = Object.fromEntries(functions.map((f) => [f.name, f.parameters.properties]));
  expect(props.look_at_world!.pitch).toMatchObject({ minimum: -10, maximum: 30 });
  expect(props.goto_pose!.pitch).toMatchObject({ minimum: -10, maximum: 30 });
  expect(props.goto_pose!.body_yaw_deg).toMatchObject({ minimum: -45, maximum: 45 });
  expect(props.goto_pose!.antennas_left).toMatchObject({ minimum: -20, maximum: 20 });
  expect(props.goto_pose!.antennas_right).toMatchObject({ minimum: -80, maximum: 80 });
  expect(props.set_body_yaw!.yaw_deg).toMatchObject({ minimum: -45, maximum: 45 });
  expect(props.antenna_pose!.left).toMatchObject({ minimum: -20, maximum: 20 });
  expect(props.look_at_world!.yaw).toMatchObject({ minimum: -45, maximum: 45 });
});

test('set_safety_policy on .supervisor narrows and widens the envelope live: refusals follow, policy_changed has before and after, discovery shows the new range', async () => {
  const current = (await call('get_safety_policy')).result.policy as Record<string, any>;
  expect(current.envelope.body_yaw_deg).toEqual(ENVELOPE.body_yaw_deg);
  const auditedBefore = safetyEvents().length;
  const meshBefore = scene.driver.runtime.mesh;
  const registrationsBefore = scene.driver.runtime.registrationCount();
  expect((await serviceInfo()).set_body_yaw!.yaw_deg).toMatchObject({ minimum: -45, maximum: 45 });
  scene.registry.requests.drain();

  // Narrow the body to ±20°, widen the left antenna back to its mechanical ±80°.
  const narrowed: Record<string, any> = { ...current, envelope: { ...current.envelope, body_yaw_deg: { min: -20, max: 20 }, antenna_left_deg: { min: -80, max: 80 } } };
  const applied = await supervise('set_safety_policy', { policy: narrowed, reason: 'body near a wall', owner: 'ops' });
  expect(applied.result?.status, JSON.stringify(applied)).toBe('applied');

  // The refusals follow at once (the connection is kept: no window without answers).
  expectOutside(await call('set_body_yaw', { yaw_deg: 30 }), [{ axis: 'body_yaw_deg', value: 30, min: -20, max: 20 }], { body_yaw_deg: { min: -20, max: 20 } });
  expect((await call('antenna_pose', { left: 40 })).result?.status).toBe('accepted');

  // The device re-registers (same identity, same mesh actor and connection) with the new ranges.
  const props = await nextRegistration();
  expect(props.set_body_yaw!.yaw_deg).toMatchObject({ minimum: -20, maximum: 20 });
  expect(props.goto_pose!.body_yaw_deg).toMatchObject({ minimum: -20, maximum: 20 });
  expect(props.antenna_pose!.left).toMatchObject({ minimum: -80, maximum: 80 });
  expect(props.look_at_world!.pitch).toMatchObject({ minimum: -10, maximum: 30 });
  expect(scene.driver.runtime.mesh).toBe(meshBefore);
  await expect.poll(() => scene.driver.runtime.registrationCount()).toBe(registrationsBefore + 1);
  await expect.poll(async () => (await serviceInfo()).set_body_yaw!.yaw_deg, { timeout: 5_000 }).toMatchObject({ minimum: -20, maximum: 20 });
  expect((await serviceInfo()).antenna_pose!.left).toMatchObject({ minimum: -80, maximum: 80 });

  // Audited with who, before and after.
  const changed = safetyEvents().slice(auditedBefore).find((e) => e.kind === 'policy_changed');
  expect(changed).toMatchObject({ function: 'set_safety_policy', owner: 'ops', reason: 'body near a wall' });
  expect(changed!.before.envelope.body_yaw_deg).toEqual({ min: -45, max: 45 });
  expect(changed!.after.envelope.body_yaw_deg).toEqual({ min: -20, max: 20 });
  expect(changed!.after.envelope.antenna_left_deg).toEqual({ min: -80, max: 80 });

  // Widen the body again: the same call now runs, and discovery says so.
  scene.registry.requests.drain();
  const widened: Record<string, any> = { ...narrowed, envelope: { ...narrowed.envelope, body_yaw_deg: { min: -90, max: 90 } } };
  expect((await supervise('set_safety_policy', { policy: widened, reason: 'wall moved', owner: 'ops' })).result?.status).toBe('applied');
  expect((await nextRegistration()).set_body_yaw!.yaw_deg).toMatchObject({ minimum: -90, maximum: 90 });
  await expect.poll(() => scene.driver.runtime.registrationCount()).toBe(registrationsBefore + 2);
  expect((await call('set_body_yaw', { yaw_deg: 30, duration_s: 1.5, wait: true })).error).toBeUndefined();
  expect(reached().body.some((v) => Math.abs(v - 30) < EPS_DEG)).toBe(true);

  // A policy change that keeps the envelope does not re-register.
  scene.registry.requests.drain();
  const sameEnvelope = { ...widened, deadman_ms: null, rate_limits: { ...widened.rate_limits, motion: 19 } };
  expect((await supervise('set_safety_policy', { policy: sameEnvelope, reason: 'rate only', owner: 'ops' })).result?.status).toBe('applied');
  await expect(scene.registry.requests.next((m) => (m.body as any).method === 'registerDevice', 1_500)).rejects.toThrow(/no matching message/);
  expect(scene.driver.runtime.registrationCount()).toBe(registrationsBefore + 2);
  expect(scene.driver.runtime.mesh).toBe(meshBefore);
});

test('d2d: a new envelope is announced at once in the presence peers read', async () => {
  const id = 'envelope-d2d';
  const d2d = await startMeshScene(['--sim', '--no-media', '--sim-time-scale', '0.05', '--device-id', id, '--discovery-mode', 'd2d']);
  try {
    const presence = `device-connect.default.${id}.presence`;
    const pitchOf = (m: Recorded) => (m.body as any).capabilities?.functions?.find((f: any) => f.name === 'look_at_world')?.parameters.properties.pitch;
    expect(pitchOf(await d2d.all.next((m) => m.subject === presence, 5_000))).toMatchObject({ minimum: -30, maximum: 30 });
    const sup = `device-connect.default.${id}.supervisor`;
    const policy = ((await rpc(d2d.nc, `device-connect.default.${id}.cmd`, { jsonrpc: '2.0', id: 'p', method: 'get_safety_policy' })) as any).result.policy;
    const narrowed = { ...policy, envelope: { ...policy.envelope, head_pitch_deg: { min: 0, max: 15 } } };
    d2d.all.drain();
    expect(((await rpc(d2d.nc, sup, { jsonrpc: '2.0', id: 's', method: 'set_safety_policy', params: { policy: narrowed } })) as any).result?.status).toBe('applied');
    expect(pitchOf(await d2d.all.next((m) => m.subject === presence, 5_000))).toMatchObject({ minimum: 0, maximum: 15 });
  } finally {
    await d2d.stop();
  }
});

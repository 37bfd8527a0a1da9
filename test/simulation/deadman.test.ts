// The dead-man bound on virtual time (issue "safety policy", item 4: "a silent agent's stream
// stopped within the dead-man time plus one tick"): the real composed driver (`--deadman 300`,
// machines, runtimes, gate, adapters) against the emulator over the in-memory transport with no
// link latency, every clock faked (sim-world.ts); calls enter through the gate as the mesh would
// hand them over. The driver decides exactly at last word + dead-man time (the `deadman_stop`
// record's instant), and the emulator's motion record shows the goto ended / the stream held no
// later than one 50 Hz tick after that. Not here: the same over NATS on real time
// (test/integration/deadman.test.ts).
import { afterEach, expect, test } from 'vitest';
import type { GateResult } from '../../src/actors/rpc-gate.ts';
import { openWorld, type SimWorld } from './sim-world.ts';

const DEADMAN_MS = 300;
/** The emulator's (and the daemon's) control loop: 50 Hz. */
const TICK_MS = 20;
/** No link latency: what remains between the decision and the robot is the driver's own path (no CPU time on virtual time) and the tick. */
const NO_LATENCY: readonly [number, number] = [0, 0];
const SEED = 1;
/** Just inside and just outside the dead-man time. */
const HEARTBEAT_INSIDE_MS = 290;
const GAP_OUTSIDE_MS = 310;

let world: SimWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** One call through the gate at this virtual instant (`device`: as `_dc_meta.source_device`); time runs in 1 ms steps until it is answered. */
async function call(w: SimWorld, method: string, params: Record<string, unknown>, device: string | null = null): Promise<{ at: number; reply: GateResult }> {
  const at = performance.now();
  let answered = false;
  const pending = w.driver.gate.call(method, params, { sourceDevice: device, traceId: null }).finally(() => (answered = true));
  while (!answered) await w.advance(1);
  return { at, reply: await pending };
}

function deadmanStops(w: SimWorld) {
  return w.audit.filter((a) => a.record.kind === 'deadman_stop');
}

test('a silent agent’s long goto ends within the dead-man time plus one tick of its last word', async () => {
  world = await openWorld(SEED, NO_LATENCY, ['--deadman', String(DEADMAN_MS)]);
  const { at: lastWord, reply } = await call(world, 'goto_pose', { yaw: 30, duration_s: 5, owner: 'mover' });
  expect(reply.ok, JSON.stringify(reply)).toBe(true);
  const uuid = (reply as { result: { uuid: string } }).result.uuid;
  await world.advance(DEADMAN_MS - 1 - (performance.now() - lastWord));
  expect(deadmanStops(world), 'not a millisecond early').toEqual([]);
  await world.advance(1_000);
  const [stop] = deadmanStops(world);
  expect(stop!.at - lastWord).toBe(DEADMAN_MS);
  expect(stop!.record).toMatchObject({ kind: 'deadman_stop', owner: 'mover', reason: `dead-man: mover silent for ${DEADMAN_MS} ms`, deadman_ms: DEADMAN_MS, silent_ms: DEADMAN_MS, state: { interlock: 'safe' } });
  const move = world.emulator.motionRecord.moves.find((m) => m.uuid === uuid)!;
  expect(['cancelled', 'stopped']).toContain(move.outcome);
  expect(move.endedAt! - lastWord).toBeGreaterThanOrEqual(DEADMAN_MS);
  expect(move.endedAt! - lastWord).toBeLessThanOrEqual(DEADMAN_MS + TICK_MS);
  expect(move.endedAt! - move.receivedAt).toBeLessThanOrEqual(DEADMAN_MS + TICK_MS);
});

test('a silent agent’s stream of targets is held within the dead-man time plus one tick of its last target', async () => {
  world = await openWorld(SEED, NO_LATENCY, ['--deadman', String(DEADMAN_MS)]);
  let lastWord = 0;
  for (let i = 0; i < 10; i++) {
    const sent = await call(world, 'look_at_world', { yaw: i * 2, owner: 'streamer' });
    expect(sent.reply.ok, JSON.stringify(sent.reply)).toBe(true);
    lastWord = sent.at;
    await world.advance(100 - (performance.now() - sent.at));
  }
  await world.advance(1_000);
  const [stop] = deadmanStops(world);
  expect(stop!.at - lastWord).toBe(DEADMAN_MS);
  expect(stop!.record).toMatchObject({ owner: 'streamer', silent_ms: DEADMAN_MS, state: { interlock: 'safe' } });
  const targets = world.emulator.motionRecord.targets;
  const lastTarget = targets.filter((t) => t.kind === 'set_target').at(-1)!;
  const hold = targets.filter((t) => t.receivedAt > lastTarget.receivedAt);
  expect(hold.map((t) => t.kind), 'after the last target: the stop’s hold, nothing else').toEqual(['set_full_target']);
  expect(hold[0]!.appliedAt - lastWord).toBeGreaterThanOrEqual(DEADMAN_MS);
  expect(hold[0]!.appliedAt - lastWord).toBeLessThanOrEqual(DEADMAN_MS + TICK_MS);
  expect(world.emulator.motionRecord.moves).toEqual([]);
});

test('heard every 290 ms the commander keeps its goto; one 310 ms gap stops it exactly 300 ms after its last word', async () => {
  world = await openWorld(SEED, NO_LATENCY, ['--deadman', String(DEADMAN_MS)]);
  const { reply } = await call(world, 'goto_pose', { yaw: -30, duration_s: 3, owner: 'ignored' }, 'poller');
  const uuid = (reply as { result: { uuid: string } }).result.uuid;
  let lastWord = 0;
  // Heartbeats (get_status as the same device) for 2 s: inside the dead-man time each time.
  for (let beat = 0; beat < 7; beat++) {
    await world.advance(HEARTBEAT_INSIDE_MS - 1);
    lastWord = (await call(world, 'get_status', {}, 'poller')).at;
  }
  expect(deadmanStops(world)).toEqual([]);
  expect(world.emulator.motionRecord.moves.find((m) => m.uuid === uuid)!.outcome).toBe('running');
  await world.advance(GAP_OUTSIDE_MS);
  await call(world, 'get_status', {}, 'poller');
  await world.advance(500);
  const [stop] = deadmanStops(world);
  expect(stop!.at - lastWord).toBe(DEADMAN_MS);
  expect(stop!.record).toMatchObject({ owner: 'poller' });
  const move = world.emulator.motionRecord.moves.find((m) => m.uuid === uuid)!;
  expect(['cancelled', 'stopped']).toContain(move.outcome);
  expect(move.endedAt! - lastWord).toBeLessThanOrEqual(DEADMAN_MS + TICK_MS);
});

test('off by default: a silent agent’s goto runs to its natural end, nothing audited', async () => {
  world = await openWorld(SEED, NO_LATENCY);
  const { reply } = await call(world, 'goto_pose', { yaw: 30, duration_s: 2, owner: 'mover' });
  const uuid = (reply as { result: { uuid: string } }).result.uuid;
  await world.advance(3_000);
  expect(world.emulator.motionRecord.moves.find((m) => m.uuid === uuid)!.outcome).toBe('completed');
  expect(deadmanStops(world)).toEqual([]);
});

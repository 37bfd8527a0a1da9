// Model-based test of the root driver machine (src/machines/driver.machine.ts), which spawns its
// children (connection, power, interlock, lease, motion; a quiet mesh, no media) and decides with
// one function. Its own state is one; its children's states gate RPCs, so the model is the WORLD
// as the brief describes it: an independent machine of the gate-relevant child states (daemon link,
// power, interlock, lease holder, a stop in progress), moved by reports and privileged RPCs. One
// `TestModel` path per adjacency edge is replayed on the real root (root-children.ts, fake I/O);
// after every step the children are in the world's states. Every edge is walked, for both
// `privilegedRpc` settings and both lease policies. The media gate: driver-media.model.test.ts.
import { describe, expect, test, vi } from 'vitest';
import { and, createActor, createMachine, stateIn, type AnyStateMachine, type ActorLogic, type EventObject, type SnapshotFrom } from 'xstate';
import { driverMachine, driverStatus, explainRefusal, viewOf, type DriverEvent, type DriverInput, type DriverMachine, type LeasePolicy, type PrivilegedRpc } from '../../src/machines/driver.machine.ts';
import type { PowerRequirement } from '../../src/rpc/robot-functions.ts';
import { canModel, coverageOf, edgePaths, executorTable, MODEL_START_MS as START_MS, pathTests, useFakeClock } from './model-harness.ts';
import { rootWithTestChildren, TEST_MESH_INPUT } from './root-children.ts';
import { DEFAULT_SAFETY_POLICY } from '../../src/safety/safety-policy.ts';
import { statusResult } from '../../src/machines/driver-policy.ts';
import { resultJson } from '../../src/protocol/result-json.ts';

type Ev = DriverEvent;
type MotionEv = Extract<Ev, { type: 'rpc.motion' }>;
const LEASE_TTL_S = 300;
/** The model's safety envelope: head pitch at most 20° (every other axis keeps its mechanical range). */
const MODEL_PITCH_MAX_DEG = 20;

// ---------------------------------------------------------------------------------------------
// The world model: the brief's account of the gate-relevant child states, and how reports move them.

type WorldEvent =
  | { type: 'W.link_start' }
  | { type: 'W.link_lost' }
  | { type: 'W.link_stop' }
  | { type: 'W.mode'; mode: 'enabled' | 'disabled' | 'gravity_compensation' }
  | { type: 'W.daemon_error' }
  | { type: 'W.daemon_ok' }
  | { type: 'W.supervisor_reset' }
  | { type: 'W.acquire_alice' }
  | { type: 'W.revoke' }
  /** stop_motion whose sweep the daemon does not confirm yet (motion stays `stopping`), then confirms. */
  | { type: 'W.stop_hang' }
  | { type: 'W.sweep_done' };

const MODES = ['enabled', 'disabled', 'gravity_compensation'] as const;
const isMode = (mode: (typeof MODES)[number]) => ({ event }: { event: EventObject }) => (event as WorldEvent).type === 'W.mode' && (event as Extract<WorldEvent, { type: 'W.mode' }>).mode === mode;
/**
 * Power from the motor mode: disabled → asleep, gravity_compensation → compliant, enabled → awake —
 * but a robot that slept stays asleep with its motors enabled (only a completed wake_up, which the
 * world does not model, wakes it: power.model.test.ts).
 */
const powerTransitions = [
  { guard: isMode('disabled'), target: '.asleep' },
  { guard: isMode('gravity_compensation'), target: '.compliant' },
  { guard: and([isMode('enabled'), stateIn({ slept: 'yes' })]), target: '.asleep' },
  { guard: isMode('enabled'), target: '.awake' },
];

/** Written from the brief: the daemon link (link.start probes and connects; a loss backs off; link.stop disconnects), power from the motor mode and whether the robot slept, the last motor mode reported, the daemon's reported state (error, or back to running), the interlock tripped by a daemon error and reset by the supervisor only while the daemon no longer reports an error, the lease taken by alice and revoked. */
const worldMachine = createMachine({
  types: {} as { events: WorldEvent },
  id: 'world',
  type: 'parallel',
  states: {
    link: {
      initial: 'disconnected',
      states: {
        disconnected: { on: { 'W.link_start': 'connected' } },
        connected: { on: { 'W.link_lost': 'backoff', 'W.link_stop': 'disconnected' } },
        backoff: { on: { 'W.link_stop': 'disconnected' } },
      },
    },
    power: {
      initial: 'unknown',
      on: { 'W.mode': powerTransitions },
      states: { unknown: {}, asleep: {}, awake: {}, compliant: {} },
    },
    // The last motor mode reported (goto_sleep answers already_asleep only with the motors disabled).
    motors: {
      initial: 'none',
      on: { 'W.mode': MODES.map((mode) => ({ guard: isMode(mode), target: `.${mode}` })) },
      states: { none: {}, enabled: {}, disabled: {}, gravity_compensation: {} },
    },
    // Whether the robot slept (and was not woken since: the world has no wake_up sequence).
    slept: {
      initial: 'no',
      states: { no: { on: { 'W.mode': { guard: isMode('disabled'), target: 'yes' } } }, yes: {} },
    },
    daemon: {
      initial: 'ok',
      states: { ok: { on: { 'W.daemon_error': 'error' } }, error: { on: { 'W.daemon_ok': 'ok' } } },
    },
    interlock: {
      initial: 'safe',
      states: { safe: { on: { 'W.daemon_error': 'tripped' } }, tripped: { on: { 'W.supervisor_reset': { guard: stateIn({ daemon: 'ok' }), target: 'safe' } } } },
    },
    lease: {
      initial: 'free',
      states: { free: { on: { 'W.acquire_alice': 'alice' } }, alice: { on: { 'W.revoke': 'free' } } },
    },
    motion: {
      initial: 'idle',
      states: {
        idle: { on: { 'W.stop_hang': 'stopping' } },
        // A daemon error trips the interlock, whose stop starts a new sweep (confirmed at once here).
        stopping: { on: { 'W.sweep_done': 'idle', 'W.daemon_error': { guard: stateIn({ interlock: 'safe' }), target: 'idle' } } },
      },
    },
  },
});

type World = { link: 'disconnected' | 'connected' | 'backoff'; power: 'unknown' | 'asleep' | 'awake' | 'compliant'; motors: 'none' | (typeof MODES)[number]; slept: 'no' | 'yes'; daemon: 'ok' | 'error'; interlock: 'safe' | 'tripped'; lease: 'free' | 'alice'; motion: 'idle' | 'stopping' };

const WORLD_EVENTS: WorldEvent[] = [
  { type: 'W.link_start' },
  { type: 'W.link_lost' },
  { type: 'W.link_stop' },
  { type: 'W.mode', mode: 'enabled' },
  { type: 'W.mode', mode: 'disabled' },
  { type: 'W.mode', mode: 'gravity_compensation' },
  { type: 'W.daemon_error' },
  { type: 'W.daemon_ok' },
  { type: 'W.supervisor_reset' },
  { type: 'W.acquire_alice' },
  { type: 'W.revoke' },
  { type: 'W.stop_hang' },
  { type: 'W.sweep_done' },
];

/** How each world event reaches the real root: the report (or privileged RPC) the runtime would send. */
function reportsFor(e: WorldEvent): Ev[] {
  switch (e.type) {
    case 'W.link_start':
      return [{ type: 'link.start' }];
    case 'W.link_lost':
      return [{ type: 'daemon.lost', reason: 'the /ws/sdk socket closed' }];
    case 'W.link_stop':
      return [{ type: 'link.stop' }];
    case 'W.mode':
      return [{ type: 'daemon.motor_mode', mode: e.mode }];
    case 'W.daemon_error':
      return [{ type: 'daemon.status', status: { state: 'error' }, daemonState: 'error', error: 'motor 11 overload', motorMode: null, at: START_MS }];
    case 'W.daemon_ok':
      return [{ type: 'daemon.status', status: { state: 'running' }, daemonState: 'running', error: null, motorMode: null, at: START_MS }];
    case 'W.supervisor_reset':
      return [{ type: 'supervisor.reset', requestId: 'w-reset', reason: 'supervisor clears', owner: 'sup' }];
    case 'W.acquire_alice':
      return [{ type: 'rpc.acquire_lease', requestId: 'w-acquire', owner: 'alice', ttlS: LEASE_TTL_S }];
    case 'W.revoke':
      return [{ type: 'supervisor.revoke_lease', requestId: 'w-revoke', reason: 'supervisor revokes', owner: 'sup' }];
    case 'W.stop_hang':
      return [{ type: 'rpc.stop_motion', requestId: 'w-stop', owner: 'carol' }];
    case 'W.sweep_done':
      return [];
  }
}

// ---------------------------------------------------------------------------------------------
// The RPCs checked in every world state, and the oracle's decision for each.

function motionEvent(requestId: string, owner: string, fn: string, power: PowerRequirement): MotionEv {
  return { type: 'rpc.motion', requestId, function: fn, owner, command: { op: 'goto', head: [0, 0.17, 0], duration: 1 }, target: { kind: 'head_pose' }, wait: false, power };
}

const RPCS: ReadonlyArray<readonly [string, Ev]> = [
  ['goto_pose alice', motionEvent('m-alice', 'alice', 'goto_pose', 'awake')],
  ['goto_pose bob', motionEvent('m-bob', 'bob', 'goto_pose', 'awake')],
  ['wake_up bob', motionEvent('m-wake', 'bob', 'wake_up', 'wake')],
  ['goto_sleep alice', motionEvent('m-sleep', 'alice', 'goto_sleep', 'sleep')],
  ['goto_pose bob outside the envelope', { ...motionEvent('m-outside', 'bob', 'goto_pose', 'awake'), target: { kind: 'goto_pose', pitch: MODEL_PITCH_MAX_DEG + 5, yaw: 0 } }],
  ['set_motor_mode bob', { type: 'rpc.set_motor_mode', requestId: 'mm-bob', mode: 'enabled', owner: 'bob' }],
  ['stop_motion bob', { type: 'rpc.stop_motion', requestId: 'stop-bob', owner: 'bob' }],
  ['emergency_stop bob', { type: 'rpc.emergency_stop', requestId: 'estop-bob', reason: 'agent panic', owner: 'bob' }],
  ['reset_interlock alice', { type: 'rpc.reset_interlock', requestId: 'reset-alice', reason: 'all clear', owner: 'alice' }],
  ['supervisor reset', { type: 'supervisor.reset', requestId: 'sup-reset', reason: 'supervisor clears', owner: 'sup' }],
  ['acquire alice', { type: 'rpc.acquire_lease', requestId: 'acq-alice', owner: 'alice', ttlS: 10 }],
  ['acquire bob', { type: 'rpc.acquire_lease', requestId: 'acq-bob', owner: 'bob', ttlS: 20 }],
  ['release alice', { type: 'rpc.release_lease', requestId: 'rel-alice', owner: 'alice' }],
  ['release bob', { type: 'rpc.release_lease', requestId: 'rel-bob', owner: 'bob' }],
  ['get_status', { type: 'rpc.get_status', requestId: 'status' }],
  ['supervisor trip', { type: 'supervisor.trip', requestId: 'sup-trip', reason: 'supervisor says stop', owner: 'sup' }],
  ['supervisor revoke', { type: 'supervisor.revoke_lease', requestId: 'sup-revoke', reason: 'supervisor revokes', owner: 'sup' }],
];

interface Config {
  readonly privilegedRpc: PrivilegedRpc;
  readonly leasePolicy: LeasePolicy;
}

/** Asleep with the motors disabled: goto_sleep has nothing to do. Enabled (not woken), it runs to disable them. */
const asleepMotorsOff = (w: World): boolean => w.power === 'asleep' && w.motors === 'disabled';

function powerAllows(requirement: PowerRequirement, w: World): boolean {
  const power: string = w.power;
  if (requirement === 'awake') return power === 'awake';
  if (requirement === 'wake') return power !== 'going_to_sleep';
  if (requirement === 'sleep') return power !== 'going_to_sleep' && !asleepMotorsOff(w);
  return true;
}

/**
 * The brief's gate, most fundamental reason first: the `_tag` of the refusal, or null when the RPC
 * runs. `wake_up` on an awake robot is answered `already_awake` only when nothing but the power rule
 * would refuse it (`alreadyThere`).
 */
function oracleRefusal(w: World, cfg: Config, e: Ev): string | null {
  const holder = w.lease === 'alice' ? 'alice' : null;
  const robotRpc = e.type === 'rpc.motion' || e.type === 'rpc.set_motor_mode';
  // A motion outside the envelope can never run: refused first, whatever the state.
  if (e.type === 'rpc.motion' && typeof e.target.pitch === 'number' && e.target.pitch > MODEL_PITCH_MAX_DEG) return 'OutsideEnvelope';
  switch (e.type) {
    case 'rpc.stop_motion':
    case 'rpc.get_status':
    case 'supervisor.trip':
    case 'supervisor.revoke_lease':
      return null;
    case 'rpc.emergency_stop':
      return cfg.privilegedRpc === 'allowed' ? null : 'NotAllowedInState';
    // A reset needs a trip to clear, and a daemon that no longer reports an error (else it trips again within a second).
    case 'rpc.reset_interlock':
      if (cfg.privilegedRpc !== 'allowed') return 'NotAllowedInState';
      return w.interlock === 'safe' || w.daemon === 'error' ? 'NotAllowedInState' : null;
    case 'supervisor.reset':
      return w.interlock === 'safe' || w.daemon === 'error' ? 'NotAllowedInState' : null;
    case 'rpc.acquire_lease':
      return holder !== null && holder !== e.owner ? 'LeaseHeld' : null;
    case 'rpc.release_lease':
      if (holder !== null && holder !== e.owner && cfg.leasePolicy === 'enforced') return 'LeaseHeld';
      return holder === e.owner ? null : 'NotAllowedInState';
    default:
      break;
  }
  if (!robotRpc) return null;
  if (w.link !== 'connected') return 'DaemonUnavailable';
  if (w.interlock === 'tripped') return 'InterlockTripped';
  if (e.type === 'rpc.motion' && !powerAllows(e.power, w)) return w.power === 'compliant' ? 'MotorsCompliant' : 'RobotAsleep';
  const owner = (e as { owner: string }).owner;
  if (holder !== null && holder !== owner && cfg.leasePolicy === 'enforced') return 'LeaseHeld';
  if (w.motion === 'stopping') return 'NotAllowedInState';
  return null;
}

/**
 * `wake_up` on an awake robot / `goto_sleep` on an asleep one: answered at once, no daemon call —
 * unless another rule refuses it (link down, interlock tripped, the lease another's, a stop running).
 */
function alreadyThere(w: World, cfg: Config, e: Ev): boolean {
  if (e.type !== 'rpc.motion') return false;
  const there = (e.function === 'wake_up' && w.power === 'awake') || (e.function === 'goto_sleep' && asleepMotorsOff(w));
  return there && oracleRefusal(w, cfg, { ...e, power: 'any' }) === null;
}

/** RPCs the root never gates (no guard): the gate never asks `explainRefusal` about them. */
const UNGATED = new Set(['rpc.stop_motion', 'rpc.get_status', 'supervisor.trip', 'supervisor.revoke_lease']);

/** Whether the root takes `e` (answers it) in world `w`. */
function oracleTakes(w: World, cfg: Config, e: Ev): boolean {
  if (alreadyThere(w, cfg, e)) return true;
  return oracleRefusal(w, cfg, e) === null;
}

// ---------------------------------------------------------------------------------------------
// The system under test: the real root, its real children, fake I/O actors.

/** The stop sweeps the fake daemon holds unconfirmed (`hang` set): resolved by `W.sweep_done`. */
interface Sweeps {
  hang: boolean;
  held: Array<(stopped: ReadonlyArray<string>) => void>;
}

function driverLogic(sweeps: Sweeps) {
  // The mesh child stays `connecting` (no broker); media is off (--no-media: no media child).
  return rootWithTestChildren(() => (sweeps.hang ? new Promise((resolve) => void sweeps.held.push(resolve)) : Promise.resolve([])));
}

function createSut(input: DriverInput) {
  const sweeps: Sweeps = { hang: false, held: [] };
  const actor = createActor(driverLogic(sweeps), { input });
  const outcomes: Array<{ requestId: string; ok: boolean }> = [];
  actor.on('rpc.outcome', (e) => void outcomes.push({ requestId: e.requestId, ok: e.ok }));
  actor.start();
  return { actor, outcomes, sweeps };
}
type Sut = ReturnType<typeof createSut>;

/** The children's states as the world names them. */
function worldOf(sut: Sut): World {
  const c = sut.actor.getSnapshot().context.children;
  const power = c.power.getSnapshot();
  const holder = c.lease.getSnapshot().context.owner;
  const daemonState = (sut.actor.getSnapshot().context.daemonStatus?.value as { state?: string } | undefined)?.state;
  return {
    link: String(c.connection.getSnapshot().value) as World['link'],
    power: String(power.value) as World['power'],
    motors: power.context.motorMode ?? 'none',
    slept: power.context.needsWake ? 'yes' : 'no',
    daemon: daemonState === 'error' ? 'error' : 'ok',
    interlock: c.interlock.getSnapshot().value as World['interlock'],
    lease: holder === null ? 'free' : (holder as 'alice'),
    motion: c.motion.getSnapshot().value === 'stopping' ? 'stopping' : 'idle',
  };
}

/** The status kept between calls (status-memo.ts) is, field for field and byte for byte, the one built afresh now. */
function expectStatusFresh(sut: Sut): void {
  const context = sut.actor.getSnapshot().context;
  const kept = driverStatus(context);
  const fresh = statusResult(viewOf(context), context, Date.now());
  expect(kept).toEqual(fresh);
  expect(resultJson(kept)).toBe(JSON.stringify(fresh));
}

/** Sends the reports for `e` and lets the children (and their fake I/O) settle, without firing timers. */
async function applyWorld(sut: Sut, e: WorldEvent): Promise<void> {
  sut.sweeps.hang = e.type === 'W.stop_hang';
  if (e.type === 'W.sweep_done') for (const resolve of sut.sweeps.held.splice(0)) resolve([]);
  for (const report of reportsFor(e)) {
    sut.actor.send(report);
    await vi.advanceTimersByTimeAsync(0);
  }
  sut.sweeps.hang = false;
  await vi.advanceTimersByTimeAsync(0);
}

const MODEL_POLICY = { ...DEFAULT_SAFETY_POLICY, envelope: { ...DEFAULT_SAFETY_POLICY.envelope, head_pitch_deg: { min: -30, max: MODEL_PITCH_MAX_DEG } } };
const inputFor = (cfg: Config): DriverInput => ({ deviceId: 'reachy-mini-test', leasePolicy: cfg.leasePolicy, leaseTtlS: 5, privilegedRpc: cfg.privilegedRpc, mediaEnabled: false, mesh: TEST_MESH_INPUT, policy: MODEL_POLICY });

function serializeWorld(snapshot: { value: unknown }): string {
  return JSON.stringify(snapshot.value);
}

const CONFIGS: ReadonlyArray<Config> = [
  { privilegedRpc: 'allowed', leasePolicy: 'enforced' },
  { privilegedRpc: 'supervisor_only', leasePolicy: 'advisory' },
];

describe.each(CONFIGS)('root driver machine, privileged RPC $privilegedRpc, lease $leasePolicy', (cfg) => {
  const logic = worldMachine as unknown as ActorLogic<SnapshotFrom<AnyStateMachine>, WorldEvent, undefined>;
  const model = canModel(logic, WORLD_EVENTS, serializeWorld);
  const { adjacency, paths, prefixes } = edgePaths(model, serializeWorld);
  const current = useFakeClock(() => createSut(inputFor(cfg)));
  const executors = executorTable(WORLD_EVENTS, async (event) => {
    const sut = current();
    const mark = sut.outcomes.length;
    const before = worldOf(sut);
    // Read before and after: the status kept from before must not survive what the event changed.
    expectStatusFresh(sut);
    await applyWorld(sut, event as WorldEvent);
    expectStatusFresh(sut);
    // A privileged RPC that moves the world is answered exactly once, and positively. A stop is
    // answered when a sweep is confirmed: its own (W.sweep_done) or the one a daemon error's trip starts.
    const stopAnswered = before.motion === 'stopping' && (event.type === 'W.sweep_done' || (event.type === 'W.daemon_error' && before.interlock === 'safe'));
    const rpc = event.type === 'W.stop_hang' ? undefined : (reportsFor(event as WorldEvent).find((r) => 'requestId' in r) as { requestId: string } | undefined);
    expect(sut.outcomes.slice(mark)).toEqual([...(rpc ? [{ requestId: rpc.requestId, ok: true }] : []), ...(stopAnswered ? [{ requestId: 'w-stop', ok: true }] : [])]);
  });

  test('the world reaches every link, power, interlock and lease state', () => {
    const values = Object.values(adjacency).flatMap((a) => Object.values(a.transitions).map(({ state }) => state.value as World));
    expect(new Set(values.map((v) => v.link)).size).toBe(3);
    expect(new Set(values.map((v) => v.power)).size).toBe(4);
    // A robot that slept, its motors enabled since (set_motor_mode, the dashboard): still asleep, or compliant.
    expect(new Set(values.filter((v) => v.slept === 'yes').map((v) => `${v.power}/${v.motors}`))).toEqual(new Set(['asleep/disabled', 'asleep/enabled', 'compliant/gravity_compensation']));
    expect(new Set(values.map((v) => `${v.interlock}/${v.lease}/${v.motion}`)).size).toBe(8);
  });

  // Every generated path, replayed on the real root: after every step its children are in the
  // world's states (pathTests compares this value with the model's) and the root is running.
  pathTests(model, paths, executors, () => ({ value: worldOf(current()), status: current().actor.getSnapshot().status }), () => {
    expect(current().actor.getSnapshot().value).toBe('running');
  });

  const worldKeys = [...prefixes.keys()];

  // In every reachable world state, for every RPC: `snapshot.can(rpc)` equals the oracle's decision
  // AND `explainRefusal` gives the oracle's `_tag` (they are one function).
  test.each(worldKeys.map((k) => [k] as const))('the gate decides as the oracle in %s (can() and explainRefusal agree)', async (key) => {
    const sut = current();
    for (const e of prefixes.get(key)!) await applyWorld(sut, e as WorldEvent);
    const world = JSON.parse(key) as World;
    expect(worldOf(sut)).toEqual(world);
    for (const [name, rpc] of RPCS) {
      const snapshot = sut.actor.getSnapshot();
      const tag = oracleRefusal(world, cfg, rpc);
      expect(snapshot.can(rpc), `can(${name})`).toBe(oracleTakes(world, cfg, rpc));
      // The gate explains only what the root's guard refused: there, the two are one function.
      // (Asked about an ungated RPC or an already-there wake/sleep, explainRefusal still applies the
      // gated rules — e.g. LeaseHeld for stop_motion — but the gate never asks.)
      if (UNGATED.has(rpc.type) || alreadyThere(world, cfg, rpc)) continue;
      expect(explainRefusal(snapshot, rpc)?._tag ?? null, `explainRefusal(${name})`).toBe(tag);
      expect(snapshot.can(rpc), `can(${name}) is explainRefusal(${name}) === undefined`).toBe(explainRefusal(snapshot, rpc) === undefined);
    }
  });

  // On a fresh root walked to each world state: an accepted RPC produces exactly one `rpc.outcome`
  // (answers flow back from the children), a refused one none.
  test.each(worldKeys.map((k) => [k] as const))('in %s every accepted RPC is answered exactly once, a refused one never', async (key) => {
    const world = JSON.parse(key) as World;
    for (const [name, rpc] of RPCS) {
      const sut = createSut(inputFor(cfg));
      for (const e of prefixes.get(key)!) await applyWorld(sut, e as WorldEvent);
      const mark = sut.outcomes.length;
      sut.actor.send(rpc);
      await vi.advanceTimersByTimeAsync(0);
      await vi.advanceTimersByTimeAsync(0);
      const requestId = (rpc as { requestId: string }).requestId;
      const answered = sut.outcomes.slice(mark).filter((o) => o.requestId === requestId);
      expect(answered.length, name).toBe(oracleTakes(world, cfg, rpc) ? 1 : 0);
      sut.actor.stop();
    }
  });

  test('every transition of the world is walked by some generated path', () => {
    const { all, unwalked } = coverageOf(adjacency, paths, serializeWorld);
    expect(all.length).toBeGreaterThan(100);
    expect(unwalked).toEqual([]);
  });
});

describe('root driver machine: answers flow from the children', () => {
  const current = useFakeClock(() => createSut(inputFor({ privilegedRpc: 'allowed', leasePolicy: 'enforced' })));

  async function readyRobot(sut: Sut) {
    for (const e of [{ type: 'W.link_start' }, { type: 'W.mode', mode: 'enabled' }] as WorldEvent[]) await applyWorld(sut, e);
  }

  test('emergency_stop trips the interlock first and answers with the stop outcome', async () => {
    const sut = current();
    await readyRobot(sut);
    const outcomes: unknown[] = [];
    sut.actor.on('rpc.outcome', (e) => void outcomes.push(e));
    sut.actor.send(motionEvent('m-1', 'alice', 'goto_pose', 'awake'));
    sut.actor.send({ type: 'rpc.emergency_stop', requestId: 'estop', reason: 'panic', owner: 'bob' });
    await vi.advanceTimersByTimeAsync(0);
    expect(worldOf(sut).interlock).toBe('tripped');
    expect(outcomes).toEqual([
      { type: 'rpc.outcome', requestId: 'm-1', ok: false, error: expect.objectContaining({ _tag: 'MotionCancelled' }) },
      { type: 'rpc.outcome', requestId: 'estop', ok: true, result: { status: 'tripped', interlock_state: 'tripped', reason: 'panic', stop: 'confirmed', stopped_moves: [], cancelled_in_flight: [{ function: 'goto_pose', owner: 'alice' }] } },
    ]);
  });

  test('wake_up on an awake robot answers already_awake without a daemon call', async () => {
    const sut = current();
    await readyRobot(sut);
    const outcomes: unknown[] = [];
    sut.actor.on('rpc.outcome', (e) => void outcomes.push(e));
    sut.actor.send(motionEvent('m-wake', 'bob', 'wake_up', 'wake'));
    await vi.advanceTimersByTimeAsync(0);
    expect(outcomes).toEqual([{ type: 'rpc.outcome', requestId: 'm-wake', ok: true, result: { status: 'already_awake' } }]);
    expect(sut.actor.getSnapshot().context.children.motion.getSnapshot().context.lastCommander).toBeNull();
  });

  test('a motion command takes the free lease for its caller', async () => {
    const sut = current();
    await readyRobot(sut);
    sut.actor.send(motionEvent('m-1', 'alice', 'goto_pose', 'awake'));
    await vi.advanceTimersByTimeAsync(0);
    expect(worldOf(sut).lease).toBe('alice');
    expect(sut.outcomes).toEqual([{ requestId: 'm-1', ok: true }]);
  });
});

/** The report events the root declares are all reachable from the runtime (no dead handlers). */
test('every event the root declares is an RPC, a report or a child answer the tests send', () => {
  const declared = new Set<string>();
  const visit = (node: { transitions: Map<string, unknown>; states: Record<string, unknown> }) => {
    for (const key of node.transitions.keys()) declared.add(key);
    for (const child of Object.values(node.states)) visit(child as typeof node);
  };
  visit(driverMachine.root as unknown as { transitions: Map<string, unknown>; states: Record<string, unknown> });
  const sent = new Set<string>([...RPCS.map(([, e]) => e.type), ...WORLD_EVENTS.flatMap((w) => reportsFor(w).map((e) => e.type))]);
  // Child answers and reports covered by the flow tests, the media gate and the respawns (driver-media.model.test.ts), reads, and the policy (test/integration/safety-policy.test.ts); the dead-man (test/model/deadman.model.test.ts, test/integration/deadman.test.ts).
  const elsewhere = ['motion.answer', 'motion.stop_answer', 'motion.accepted', 'lease.answer', 'interlock.stop_requested', 'connection.changed', 'daemon.move_update', 'sender.settled', 'pose.update', 'rpc.read', 'read.result', 'rpc.media', 'media.result', 'media.detector', 'mesh.restart', 'media.restart', 'rpc.get_safety_policy', 'supervisor.set_safety_policy', 'caller.heard', 'deadman.expired'];
  // Approvals: the approval stage's request, the supervisor's calls and the approvals child's reports (approvals.model.test.ts, test/integration/approval.test.ts).
  elsewhere.push('approval.request', 'supervisor.approve', 'supervisor.deny', 'supervisor.list_approvals', 'approvals.requested', 'approvals.decided', 'approvals.answer');
  // The media policy's supervisor switch (test/unit/caller-identity-media-policy.test.ts, test/integration/media-policy.test.ts).
  elsewhere.push('supervisor.set_media_enabled');
  // A sweep's found move, routed to motion (motion.model.test.ts; through the root in test/simulation/stop-sweep-after-reconnect.test.ts).
  elsewhere.push('sweep.found_running');
  // The sender's progress (expression step, goto plan), routed to motion (motion.model.test.ts; through the root in test/integration/narrowed-still-to-run.test.ts).
  elsewhere.push('motion.progress');
  // A cancelled command's motor mode put back, routed to motion (motion.model.test.ts; through the root in test/integration/mode-write-after-stop.test.ts).
  elsewhere.push('mode.reverted');
  // A realtime ramp's end, routed to motion (motion.model.test.ts; through the root in test/integration/ramp-wait-outcome.test.ts).
  elsewhere.push('sender.ramp_ended');
  expect([...declared].filter((t) => !sent.has(t) && !elsewhere.includes(t)).sort()).toEqual([]);
});


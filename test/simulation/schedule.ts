// One schedule of the fault simulation, drawn from a seed and nothing else: the link latency, an
// initial fault plan, and a list of steps (RPC calls through the gate from 2–3 owners, supervisor
// operations, reconfigure, fault changes, daemon restarts, event-loop lag, bursts of the races
// issue 9 reported), each followed by a gap of virtual time. Pure: no clock, no I/O, so a seed
// always yields the same schedule. The runner (run-schedule.ts) plays it; the invariants
// (invariants.ts) judge what happened.
import type { FaultPlan } from '../../src/sim/fault-injector.ts';
import { deriveSeed, SeededRandom } from '../../src/sim/seeded-random.ts';

export type Step =
  | { readonly kind: 'call'; readonly gate: 'robot' | 'supervisor'; readonly method: string; readonly params: Record<string, unknown>; readonly gapMs: number }
  | { readonly kind: 'faults'; readonly plan: FaultPlan; readonly gapMs: number }
  | { readonly kind: 'clear_faults'; readonly gapMs: number }
  | { readonly kind: 'pause'; readonly gapMs: number }
  | { readonly kind: 'resume'; readonly gapMs: number }
  | { readonly kind: 'restart'; readonly gapMs: number }
  /** `RunningDriver.reconfigure` while commands run: a live change (daemon transport) or a non-live one (simulate/no_media). */
  | { readonly kind: 'reconfigure'; readonly change: { readonly transportMode?: 'auto' | 'websocket'; readonly noMedia?: boolean; readonly leaseTtlS?: number }; readonly gapMs: number }
  /**
   * The driver's event loop is blocked for `ms`: the clock jumps, every timer due meanwhile fires
   * late; `during` is a request that arrives in the same loop turn, before those late timers run.
   */
  | { readonly kind: 'lag'; readonly ms: number; readonly during?: { readonly method: string; readonly params: Record<string, unknown> }; readonly gapMs: number };

export interface Schedule {
  readonly seed: number;
  /** One-way link latency range (ms) of every in-memory connection. */
  readonly latencyMs: readonly [number, number];
  /** Applied once the driver is connected, before the first step. */
  readonly initialPlan: FaultPlan;
  readonly owners: readonly string[];
  readonly steps: readonly Step[];
}

/** Steps per schedule: enough to interleave a few moves, stops and lease changes; few enough for 2,000 in a test run. */
const STEPS_MIN = 6;
const STEPS_MAX = 14;
/** Longest injected route delay (ms): the issue's slow link took 150–900 ms to reach the daemon. */
const ROUTE_DELAY_MAX_MS = 900;
/** Longest /ws/sdk push delay (ms): fifteen ticks, as a backed-up per-client push queue holds. */
const PUSH_DELAY_MAX_MS = 300;
/** Longest pause (ms): the issue's stalled daemon paused ~4.5 s. */
const PAUSE_MAX_MS = 4_500;
/** Longest event-loop lag (ms): the issue saw ~550 ms just past a lease expiry. */
const LAG_MAX_MS = 800;
/** Chance that a step is one of the reported races (burst) instead of a single random step. */
const BURST_CHANCE = 0.12;
/** Stream numbers of the schedule's PRNG (independent of the emulator's fault streams). */
const SCHEDULE_STREAM = 101;

const OWNER_NAMES = ['alice', 'bob', 'carol'] as const;

/** Integer in [lo, hi]. */
const int = (r: SeededRandom, lo: number, hi: number): number => Math.floor(r.between(lo, hi + 1 - 1e-9));
const round = (value: number, digits = 1): number => Number(value.toFixed(digits));
function pick<T>(r: SeededRandom, items: readonly T[]): T {
  return items[Math.min(items.length - 1, Math.floor(r.next() * items.length))] as T;
}
/** Picks a key with probability proportional to its weight. */
function weighted<K extends string>(r: SeededRandom, weights: Readonly<Record<K, number>>): K {
  const entries = Object.entries(weights) as [K, number][];
  let x = r.next() * entries.reduce((sum, [, w]) => sum + w, 0);
  for (const [key, w] of entries) {
    x -= w;
    if (x < 0) return key;
  }
  return (entries[entries.length - 1] as [K, number])[0];
}

/** Virtual ms after a step: often none (back-to-back calls race), often a move's worth. */
function gap(r: SeededRandom): number {
  const band = weighted(r, { none: 2, short: 3, medium: 4, long: 2 });
  if (band === 'none') return 0;
  if (band === 'short') return int(r, 1, 30);
  if (band === 'medium') return int(r, 30, 300);
  return int(r, 300, 1_000);
}

function faultPlan(r: SeededRandom): FaultPlan {
  const delayed = r.chance(0.6);
  const hi = int(r, 20, ROUTE_DELAY_MAX_MS);
  const lo = int(r, 0, Math.min(150, hi));
  return {
    ...(delayed
      ? {
          routeDelays: [
            { path: pick(r, ['/api/move/goto', '/api/move/*', '/ws/sdk', '/api/move/play/*']), requestMs: [lo, hi] as const, ...(r.chance(0.4) ? { responseMs: [0, int(r, 0, 300)] as const } : {}) },
            ...(r.chance(0.3) ? [{ path: '/api/move/stop', requestMs: [0, int(r, 0, 200)] as const }] : []),
          ],
        }
      : {}),
    ...(r.chance(0.3) ? { dropReplies: [{ path: pick(r, ['/api/move/goto', '/api/move/play/*', '/api/move/*']), probability: round(r.between(0.1, 0.5), 2) }] } : {}),
    ...(r.chance(0.4) ? { reorderMoveUpdatesMs: int(r, 5, 200) } : {}),
    ...(r.chance(0.25) ? { sdkPushDelayMs: int(r, 20, PUSH_DELAY_MAX_MS) } : {}),
  };
}

function motionCall(r: SeededRandom, owner: string): { method: string; params: Record<string, unknown> } {
  const wait = r.chance(0.2);
  switch (weighted(r, { goto_pose: 5, look_at_world: 2, look_at_point: 1, set_body_yaw: 2, antenna_pose: 3, wake_up: 1, goto_sleep: 0.5, set_motor_mode: 0.5 })) {
    case 'goto_pose':
      return { method: 'goto_pose', params: { yaw: round(r.between(-40, 40)), pitch: round(r.between(-15, 15)), duration_s: round(r.between(0.2, 1.5), 2), wait, owner } };
    case 'look_at_world':
      return { method: 'look_at_world', params: { yaw: round(r.between(-40, 40)), pitch: round(r.between(-20, 20)), roll: round(r.between(-10, 10)), owner } };
    case 'look_at_point':
      return { method: 'look_at_point', params: { x_m: round(r.between(0.3, 1), 2), y_m: round(r.between(-0.3, 0.3), 2), z_m: round(r.between(-0.2, 0.2), 2), duration_s: r.chance(0.5) ? 0 : round(r.between(0.2, 1), 2), owner } };
    case 'set_body_yaw':
      return { method: 'set_body_yaw', params: { yaw_deg: round(r.between(-60, 60)), duration_s: r.chance(0.5) ? 0 : round(r.between(0.2, 1.2), 2), owner } };
    case 'antenna_pose':
      return { method: 'antenna_pose', params: { left: round(r.between(-60, 60)), right: round(r.between(-60, 60)), owner } };
    case 'wake_up':
      return { method: 'wake_up', params: { owner } };
    case 'goto_sleep':
      return { method: 'goto_sleep', params: { owner } };
    case 'set_motor_mode':
      return { method: 'set_motor_mode', params: { mode: pick(r, ['enabled', 'enabled', 'disabled', 'gravity_compensation']), owner } };
  }
}

function step(r: SeededRandom, owners: readonly string[], paused: boolean): Step {
  const owner = pick(r, owners);
  const gapMs = gap(r);
  const call = (method: string, params: Record<string, unknown>, gate: 'robot' | 'supervisor' = 'robot'): Step => ({ kind: 'call', gate, method, params, gapMs });
  const kind = weighted(r, { motion: 45, stop_motion: 8, emergency_stop: 7, reset_interlock: 9, acquire_lease: 9, release_lease: 5, supervisor: 5, fault: 12 });
  switch (kind) {
    case 'motion': {
      const { method, params } = motionCall(r, owner);
      return call(method, params);
    }
    case 'stop_motion':
      return call('stop_motion', { owner });
    case 'emergency_stop':
      return call('emergency_stop', { owner, reason: 'simulated e-stop' });
    case 'reset_interlock':
      return call('reset_interlock', { owner, reason: 'simulated all clear' });
    case 'acquire_lease':
      return call('acquire_lease', { owner, ttl_s: round(r.between(0.5, 3), 1) });
    case 'release_lease':
      return call('release_lease', { owner });
    case 'supervisor': {
      const op = weighted(r, { trip: 2, reset_interlock: 2, revoke_lease: 1 });
      return call(op, { reason: `supervisor ${op}`, owner: 'supervisor' }, 'supervisor');
    }
    case 'fault': {
      if (paused) return { kind: 'resume', gapMs };
      switch (weighted(r, { plan: 4, clear: 1, pause: 2, restart: 1, lag: 2, reconfigure: 1 })) {
        case 'reconfigure':
          return { kind: 'reconfigure', change: pick(r, [{ transportMode: 'auto' as const }, { transportMode: 'websocket' as const }, { noMedia: false }, { leaseTtlS: round(r.between(1, 10), 0) }]), gapMs };
        case 'plan':
          return { kind: 'faults', plan: faultPlan(r), gapMs };
        case 'clear':
          return { kind: 'clear_faults', gapMs };
        case 'pause':
          return { kind: 'pause', gapMs: int(r, 100, PAUSE_MAX_MS) };
        case 'restart':
          return { kind: 'restart', gapMs };
        case 'lag':
          return { kind: 'lag', ms: int(r, 50, LAG_MAX_MS), gapMs };
      }
    }
  }
}

/**
 * The races issue 9 reported, as step bursts a schedule may contain (with drawn timings): a stop
 * 20–150 ms behind a goto on a slow route; a stop while the daemon is paused with gotos queued
 * behind it; a lease acquire right after an event-loop lag across the holder's expiry, and a
 * third owner 0–60 ms later.
 */
function burst(r: SeededRandom, owners: readonly string[]): Step[] {
  const [a, b] = [pick(r, owners), pick(r, owners)];
  const stop = (): Step => ({ kind: 'call', gate: 'robot', method: pick(r, ['emergency_stop', 'stop_motion']), params: { owner: b }, gapMs: int(r, 0, 400) });
  switch (weighted(r, { slow_goto_stop: 3, paused_stop: 2, lease_lag: 3 })) {
    case 'slow_goto_stop':
      return [
        { kind: 'faults', plan: { routeDelays: [{ path: pick(r, ['/api/move/goto', '/api/move/*']), requestMs: [int(r, 100, 200), int(r, 300, ROUTE_DELAY_MAX_MS)] }] }, gapMs: 0 },
        { kind: 'call', gate: 'robot', method: 'goto_pose', params: { yaw: round(r.between(-40, 40)), duration_s: round(r.between(0.5, 1.5), 2), owner: a }, gapMs: int(r, 20, 150) },
        stop(),
      ];
    case 'paused_stop': {
      const gotos: Step[] = Array.from({ length: int(r, 1, 3) }, (): Step =>
        r.chance(0.7)
          ? { kind: 'call', gate: 'robot', method: 'goto_pose', params: { yaw: round(r.between(-40, 40)), duration_s: round(r.between(0.3, 1.2), 2), owner: a }, gapMs: int(r, 50, 500) }
          : { kind: 'call', gate: 'robot', method: 'antenna_pose', params: { left: round(r.between(-60, 60)), right: round(r.between(-60, 60)), owner: a }, gapMs: int(r, 50, 500) },
      );
      return [{ kind: 'pause', gapMs: int(r, 0, 300) }, ...gotos, stop(), { kind: 'resume', gapMs: int(r, 100, 1_000) }];
    }
    case 'lease_lag': {
      const ttl = round(r.between(0.5, 2), 1);
      const third = pick(r, owners);
      return [
        { kind: 'call', gate: 'robot', method: 'acquire_lease', params: { owner: a, ttl_s: ttl }, gapMs: Math.max(0, Math.round(ttl * 1000) - int(r, 0, 300)) },
        { kind: 'lag', ms: int(r, 300, LAG_MAX_MS), during: { method: 'acquire_lease', params: { owner: b, ttl_s: round(r.between(5, 60), 0) } }, gapMs: int(r, 0, 60) },
        { kind: 'call', gate: 'robot', method: 'acquire_lease', params: { owner: third, ttl_s: round(r.between(0.5, 3), 1) }, gapMs: int(r, 0, 300) },
      ];
    }
  }
}

export function scheduleFor(seed: number): Schedule {
  const r = new SeededRandom(deriveSeed(seed, SCHEDULE_STREAM));
  const owners = OWNER_NAMES.slice(0, r.chance(0.5) ? 2 : 3);
  const latencyHi = round(r.between(0.2, r.chance(0.3) ? 25 : 3), 1);
  const steps: Step[] = [];
  let paused = false;
  const count = int(r, STEPS_MIN, STEPS_MAX);
  for (let i = 0; i < count; i += 1) {
    const next = !paused && r.chance(BURST_CHANCE) ? burst(r, owners) : [step(r, owners, paused)];
    for (const s of next) {
      if (s.kind === 'pause') paused = true;
      if (s.kind === 'resume' || s.kind === 'restart' || s.kind === 'clear_faults') paused = false;
      steps.push(s);
    }
  }
  return { seed, latencyMs: [round(latencyHi / 4, 2), latencyHi], initialPlan: r.chance(0.5) ? faultPlan(r) : {}, owners, steps };
}

/** One line per step, for failure reports. */
export function describeStep(s: Step): string {
  switch (s.kind) {
    case 'call':
      return `${s.gate === 'supervisor' ? 'supervisor.' : ''}${s.method} ${JSON.stringify(s.params)} +${s.gapMs}ms`;
    case 'faults':
      return `faults.apply ${JSON.stringify(s.plan)} +${s.gapMs}ms`;
    case 'reconfigure':
      return `reconfigure ${JSON.stringify(s.change)} +${s.gapMs}ms`;
    case 'lag':
      return `lag ${s.ms}ms${s.during ? `, during it ${s.during.method} ${JSON.stringify(s.during.params)}` : ''} +${s.gapMs}ms`;
    default:
      return `${s.kind} +${s.gapMs}ms`;
  }
}

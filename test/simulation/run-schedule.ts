// Plays one schedule (schedule.ts) against the real composed driver and the emulator (sim-world.ts)
// on virtual time: warm-up, the initial fault plan, each step then its gap, the invariants after
// every step, then a drain (faults cleared, daemon resumed, time runs until every call is
// answered and every move has ended) and the final check. Returns the violations, a signature of
// what happened (replays compare it) and the replay command. Owns nothing else.
import type { GateResult } from '../../src/actors/rpc-gate.ts';
import { pathMatches, type FaultPlan } from '../../src/sim/fault-injector.ts';
import { InvariantChecker, type CallRecord, type Violation, type WorldView } from './invariants.ts';
import { describeStep, scheduleFor, type Schedule, type Step } from './schedule.ts';
import { openWorld, type SimWorld } from './sim-world.ts';

/** Drain: virtual time is let run in slices this long until everything settled. */
const DRAIN_SLICE_MS = 250;
/** Longest drain: past the gate's 20 s outcome timeout and the longest wait:true goto. */
const DRAIN_MAX_MS = 35_000;
const NO_CALLER = { sourceDevice: null, traceId: null } as const;

export interface ScheduleResult {
  readonly seed: number;
  readonly schedule: Schedule;
  readonly violations: readonly Violation[];
  /** What happened, without uuids or request ids: equal for two runs of one seed. */
  readonly signature: string;
  readonly supervisorSkipped: number;
  readonly calls: number;
}

/** The command that replays one seed exactly. */
export function replayCommand(seed: number): string {
  return `npm run soak -- --seed ${seed} --schedules 1   (= SIM_SEED=${seed} SIM_SCHEDULES=1 npx vitest run test/simulation/fault-simulation.test.ts -t 'keep the safety'; SIM_LOG_LEVEL=debug for the driver's log)`;
}

/** Daemon paths a stop travels (list, stop, the /ws/sdk stop) or learns a late move from (move updates). */
const STOP_PATHS = ['/api/move/stop', '/api/move/running', '/ws/sdk', '/api/move/ws/updates'];

/**
 * One stop round trip under this schedule: the link both ways, twice (the move update that shows
 * a late move, then the stop), plus the worst delay any of its plans adds on the stop's paths and
 * the move-update reorder window. Delays on the goto route do not slow a stop.
 */
function stopRoundTripMs(schedule: Schedule): number {
  let worst = 0;
  for (const plan of plansOf(schedule)) {
    const onStopPath = (plan.routeDelays ?? []).filter((d) => STOP_PATHS.some((path) => pathMatches(d.path, path)));
    const delay = Math.max(0, ...onStopPath.map((d) => (d.requestMs?.[1] ?? 0) + (d.responseMs?.[1] ?? 0)));
    worst = Math.max(worst, delay + (plan.reorderMoveUpdatesMs ?? 0));
  }
  return 4 * schedule.latencyMs[1] + worst;
}

/** The longest /ws/sdk push delay any plan of `schedule` sets: a stall is seen that much late. */
function pushDelayMs(schedule: Schedule): number {
  return Math.max(0, ...plansOf(schedule).map((plan) => plan.sdkPushDelayMs ?? 0));
}

/** Every fault plan `schedule` applies: its initial one and each fault step's. */
function plansOf(schedule: Schedule): FaultPlan[] {
  return [schedule.initialPlan, ...schedule.steps.flatMap((s) => (s.kind === 'faults' ? [s.plan] : []))];
}

class Run {
  readonly calls: CallRecord[] = [];
  readonly pauses: Array<{ from: number; to: number | null }> = [];
  /** Event-loop lags: the whole process (driver and emulator) froze from..to. */
  readonly freezes: Array<{ from: number; to: number }> = [];
  supervisorSkipped = 0;

  readonly world: SimWorld;

  constructor(world: SimWorld) {
    this.world = world;
  }

  view(): WorldView {
    const record = this.world.emulator.motionRecord;
    return { calls: this.calls, audit: this.world.audit, moves: record.moves, targets: record.targets, pauses: this.pauses, freezes: this.freezes, outcomesPerRequest: this.world.outcomesPerRequest, now: performance.now() };
  }

  call(step: number, s: Extract<Step, { kind: 'call' }>): void {
    const gate = s.gate === 'supervisor' ? this.world.supervisor : this.world.driver.gate;
    if (!gate) {
      this.supervisorSkipped += 1;
      return;
    }
    const record: CallRecord = { index: this.calls.length + 1, step, gate: s.gate, method: s.method, params: s.params, issuedAt: performance.now(), auditAtIssue: this.world.audit.length, settleCount: 0 };
    this.#track(record, gate.call(s.method, s.params, NO_CALLER));
  }

  /** Tracks the settle of a promise as the answer to a call record. */
  #track(record: CallRecord, answer: Promise<GateResult>): void {
    this.calls.push(record);
    const settle = (result: GateResult) => {
      record.settleCount += 1;
      record.settledAt ??= performance.now();
      record.auditAtSettle ??= this.world.audit.length;
      record.settledWallMs ??= Date.now();
      record.result ??= result;
    };
    answer.then(settle, (error: unknown) => settle({ ok: false, error: { _tag: 'Threw', message: String(error) } as never }));
  }

  reconfigure(step: number, change: Extract<Step, { kind: 'reconfigure' }>['change']): void {
    const record: CallRecord = { index: this.calls.length + 1, step, gate: 'driver', method: 'reconfigure', params: { ...change }, issuedAt: performance.now(), auditAtIssue: this.world.audit.length, settleCount: 0 };
    const driver = this.world.driver;
    this.#track(record, driver.reconfigure({ ...driver.config, ...change }).then((result) => ({ ok: true as const, result })));
  }

  async play(step: number, s: Step): Promise<void> {
    const emulator = this.world.emulator;
    switch (s.kind) {
      case 'call':
        this.call(step, s);
        return;
      case 'faults':
        emulator.faults.apply(s.plan, step);
        return;
      case 'clear_faults':
        this.resumed();
        emulator.faults.clear();
        return;
      case 'pause':
        if (!emulator.faults.paused) this.pauses.push({ from: performance.now(), to: null });
        emulator.faults.pause();
        return;
      case 'resume':
        this.resumed();
        emulator.faults.resume();
        return;
      case 'restart':
        this.resumed();
        await emulator.restart();
        return;
      case 'reconfigure':
        this.reconfigure(step, s.change);
        return;
      case 'lag': {
        const during = s.during;
        const from = performance.now();
        this.freezes.push({ from, to: from + s.ms });
        await this.world.lag(s.ms, during ? () => this.call(step, { kind: 'call', gate: 'robot', method: during.method, params: during.params, gapMs: 0 }) : undefined);
        return;
      }
    }
  }

  resumed(): void {
    const open = this.pauses.find((p) => p.to === null);
    if (open) open.to = performance.now();
  }

  async status(): Promise<Record<string, unknown> | undefined> {
    const reply = this.world.driver.gate.call('get_status', {}, NO_CALLER);
    await this.world.advance(0);
    const settled = await Promise.race([reply, Promise.resolve(undefined)]);
    return settled?.ok ? ((settled.result as { driver_state?: Record<string, unknown> }).driver_state ?? undefined) : undefined;
  }

  settled(): boolean {
    return this.calls.every((c) => c.settledAt !== undefined) && this.world.emulator.motionRecord.moves.every((m) => m.endedAt !== null);
  }
}

function signatureOf(run: Run, violations: readonly Violation[]): string {
  const record = run.world.emulator.motionRecord;
  const calls = run.calls.map((c) => [c.index, c.method, Math.round(c.issuedAt), c.settledAt === undefined ? null : Math.round(c.settledAt), c.result?.ok ? 'ok' : errorTagOf(c.result)]);
  const audit = run.world.audit.map(({ record: r, at }) => [r.kind, r.owner, Math.round(at)]);
  const moves = record.moves.map((m) => [m.kind, Math.round(m.receivedAt), Math.round(m.startedAt), m.endedAt === null ? null : Math.round(m.endedAt), m.outcome]);
  const targets = record.targets.map((t) => [t.kind, Math.round(t.receivedAt), Math.round(t.appliedAt)]);
  return JSON.stringify({ calls, audit, moves, targets, violations: violations.map((v) => [v.invariant, v.step]) });
}

function errorTagOf(result: GateResult | undefined): string | null {
  return result && !result.ok ? result.error._tag : null;
}

export async function runSchedule(seed: number): Promise<ScheduleResult> {
  return await runScheduleOf(scheduleFor(seed));
}

/** Plays a given schedule (a seed's, or one written by hand to pin a scenario). */
export async function runScheduleOf(schedule: Schedule): Promise<ScheduleResult> {
  const seed = schedule.seed;
  const world = await openWorld(seed, schedule.latencyMs);
  const run = new Run(world);
  const checker = new InvariantChecker(stopRoundTripMs(schedule), pushDelayMs(schedule));
  try {
    world.emulator.faults.apply(schedule.initialPlan, 0);
    for (const [i, s] of schedule.steps.entries()) {
      const step = i + 1;
      await run.play(step, s);
      await world.advance(s.gapMs);
      checker.check(run.view(), step, false);
      checker.checkStatus(run.view(), step, await run.status());
    }
    run.resumed();
    world.emulator.faults.clear();
    for (let waited = 0; waited < DRAIN_MAX_MS && !run.settled(); waited += DRAIN_SLICE_MS) await world.advance(DRAIN_SLICE_MS);
    checker.check(run.view(), schedule.steps.length + 1, true);
    checker.checkStatus(run.view(), schedule.steps.length + 1, await run.status());
    if (process.env.SIM_DUMP) dumpTimeline(run.view(), world);
    return { seed, schedule, violations: checker.violations, signature: signatureOf(run, checker.violations), supervisorSkipped: run.supervisorSkipped, calls: run.calls.length };
  } finally {
    await world.close();
  }
}

/** SIM_DUMP=1: the calls, moves and daemon requests of a replayed seed, in emulator time, on stderr. */
function dumpTimeline(view: WorldView, world: SimWorld): void {
  const t = (ms: number | null | undefined) => (ms === null || ms === undefined ? '—' : `${Math.round(ms)}`);
  const lines: string[] = [];
  for (const c of view.calls) lines.push(`call #${c.index} step ${c.step} ${c.method} ${JSON.stringify(c.params)} issued ${t(c.issuedAt)} settled ${t(c.settledAt)} → ${JSON.stringify(c.result).slice(0, 300)}`);
  for (const m of view.moves) lines.push(`move ${m.uuid} ${m.kind} received ${t(m.receivedAt)} started ${t(m.startedAt)} ended ${t(m.endedAt)} ${m.outcome}`);
  for (const r of world.emulator.received) if (r.path.startsWith('/api/move')) lines.push(`daemon got ${r.method} ${r.path} ${JSON.stringify(r.body ?? '').slice(0, 80)} at wall ${r.ts}`);
  for (const a of view.audit) lines.push(`audit ${JSON.stringify(a).slice(0, 200)}`);
  process.stderr.write(`${lines.join('\n')}\n`);
}

/** A failing seed, its schedule and the exact replay command, for the test's message. */
export function describeFailure(result: ScheduleResult): string {
  const lines = [`seed ${result.seed}: ${result.violations.length} violation(s)`, `  replay: ${replayCommand(result.seed)}`];
  for (const v of result.violations) lines.push(`  [${v.invariant}] after step ${v.step}: ${v.message}`);
  lines.push(`  schedule (latency ${result.schedule.latencyMs.join('–')} ms, initial plan ${JSON.stringify(result.schedule.initialPlan)}):`);
  for (const [i, s] of result.schedule.steps.entries()) lines.push(`    ${i + 1}. ${describeStep(s)}`);
  return lines.join('\n');
}

// Test-controlled faults of the emulated daemon's transport and event loop, `emulator.faults`:
// per-route request/response delays, replies handled but never sent, move updates delivered out
// of order, /ws/sdk pushes delivered late, and a stalled API loop (pause/resume: work received
// meanwhile is held and run in arrival order on resume; the backend control loop keeps moving).
// Every draw comes from a seeded PRNG (seeded-random.ts) so a schedule replays exactly. Owns the
// plan, the draws and the held work; the transports (http-dispatch, ws-gateway, ws-*) call its
// hooks. Not a daemon feature.
import { deriveSeed, SeededRandom } from './seeded-random.ts';

export interface RouteDelay {
  /** Exact path, or a prefix ending in `*` (`/api/move/*`). The first matching rule applies. */
  readonly path: string;
  /** Wall ms, drawn uniformly in [lo, hi]: the request (or WS frame) reaches the daemon's handler this much later. */
  readonly requestMs?: readonly [number, number];
  /** Wall ms, drawn uniformly in [lo, hi]: the reply is held this long after the handler ran (HTTP only). */
  readonly responseMs?: readonly [number, number];
}

export interface FaultPlan {
  readonly routeDelays?: ReadonlyArray<RouteDelay>;
  /** The request is handled (the move starts) but its reply is never sent; the socket stays open. HTTP only. */
  readonly dropReplies?: ReadonlyArray<{ readonly path: string; readonly probability: number }>;
  /** `/api/move/ws/updates` frames are held and delivered shuffled within windows of this many wall ms. */
  readonly reorderMoveUpdatesMs?: number;
  /**
   * `/ws/sdk` pushes reach their clients this many wall ms after the tick that made them, in order
   * (the daemon's per-client push queue backed up behind a slow reader or link), while HTTP
   * replies go as usual: the newest push a client holds is a pose this much older than the robot's.
   */
  readonly sdkPushDelayMs?: number;
}

export interface EmulatorFaults {
  /** Replaces the plan; every draw comes from PRNG streams seeded with `seed`. */
  apply(plan: FaultPlan, seed: number): void;
  /** No plan; resumes if paused. */
  clear(): void;
  /**
   * The daemon's API loop stalls (a stalled uvicorn): HTTP requests, WS handshakes, text frames and
   * pings received meanwhile are held and handled in arrival order on resume (also when their
   * client has gone away: the bytes were already received); no pushes are sent; running moves go on.
   */
  pause(): void;
  resume(): void;
  readonly paused: boolean;
}

/** Independent PRNG streams of one seed, so adding one fault to a plan does not shift another's draws. */
const DELAY_STREAM = 1;
const DROP_STREAM = 2;
const REORDER_STREAM = 3;

/** `pattern` is an exact path or a prefix ending in `*`. */
export function pathMatches(pattern: string, path: string): boolean {
  return pattern.endsWith('*') ? path.startsWith(pattern.slice(0, -1)) : pattern === path;
}

function checkRange(range: readonly [number, number] | undefined, what: string): void {
  if (range === undefined) return;
  const [lo, hi] = range;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo >= 0 && hi >= lo)) {
    throw new RangeError(`${what} must be [lo, hi] with 0 <= lo <= hi, got [${String(lo)}, ${String(hi)}]`);
  }
}

/** A plan is written by a test: a malformed one is a bug in the test, refused before anything changes. */
function checkPlan(plan: FaultPlan): void {
  for (const delay of plan.routeDelays ?? []) {
    checkRange(delay.requestMs, `routeDelays[${delay.path}].requestMs`);
    checkRange(delay.responseMs, `routeDelays[${delay.path}].responseMs`);
  }
  for (const drop of plan.dropReplies ?? []) {
    if (!(drop.probability >= 0 && drop.probability <= 1)) throw new RangeError(`dropReplies[${drop.path}].probability must be in [0, 1]`);
  }
  const window = plan.reorderMoveUpdatesMs;
  if (window !== undefined && !(Number.isFinite(window) && window >= 0)) throw new RangeError('reorderMoveUpdatesMs must be a finite number >= 0');
  const late = plan.sdkPushDelayMs;
  if (late !== undefined && !(Number.isFinite(late) && late >= 0)) throw new RangeError('sdkPushDelayMs must be a finite number >= 0');
}

export class FaultInjector implements EmulatorFaults {
  #plan: FaultPlan = {};
  #delays = new SeededRandom(deriveSeed(0, DELAY_STREAM));
  #drops = new SeededRandom(deriveSeed(0, DROP_STREAM));
  #reorder = new SeededRandom(deriveSeed(0, REORDER_STREAM));
  #paused = false;
  #held: Array<() => void> = [];

  apply(plan: FaultPlan, seed: number): void {
    checkPlan(plan);
    this.#plan = plan;
    this.#delays = new SeededRandom(deriveSeed(seed, DELAY_STREAM));
    this.#drops = new SeededRandom(deriveSeed(seed, DROP_STREAM));
    this.#reorder = new SeededRandom(deriveSeed(seed, REORDER_STREAM));
  }

  clear(): void {
    this.#plan = {};
    this.resume();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const held = this.#held;
    this.#held = [];
    for (let i = 0; i < held.length; i += 1) {
      if (this.#paused) {
        // Work run on resume paused again: what is left waits, still ahead of anything newer.
        this.#held = [...held.slice(i), ...this.#held];
        return;
      }
      held[i]?.();
    }
  }

  get paused(): boolean {
    return this.#paused;
  }

  // --- hooks of the transports (not part of EmulatorFaults) -------------------------------------

  /** Runs `work` now, or holds it until resume(), after everything held before it. */
  whenRunning(work: () => void): void {
    if (this.#paused) this.#held.push(work);
    else work();
  }

  /** Number of pieces of work held by a pause. */
  get heldCount(): number {
    return this.#held.length;
  }

  /** Wall ms before the daemon handles a request/frame on `path` (0 when no rule; a draw only when one matches). */
  requestDelayMs(path: string): number {
    const range = this.#delayRule(path)?.requestMs;
    return range ? this.#delays.between(range[0], range[1]) : 0;
  }

  /** Wall ms a handled request's reply is held. */
  responseDelayMs(path: string): number {
    const range = this.#delayRule(path)?.responseMs;
    return range ? this.#delays.between(range[0], range[1]) : 0;
  }

  /** Whether this handled request's reply is never sent. */
  dropsReply(path: string): boolean {
    const rule = this.#plan.dropReplies?.find((drop) => pathMatches(drop.path, path));
    return rule ? this.#drops.chance(rule.probability) : false;
  }

  /** Move-update reorder window (wall ms); 0 = in order. */
  get reorderWindowMs(): number {
    return this.#plan.reorderMoveUpdatesMs ?? 0;
  }

  /** Wall ms each /ws/sdk push is held before it is sent; 0 = at once. */
  get sdkPushDelayMs(): number {
    return this.#plan.sdkPushDelayMs ?? 0;
  }

  /** Shuffles `items` in place with the reorder stream. */
  shuffle<T>(items: T[]): T[] {
    return this.#reorder.shuffle(items);
  }

  /** The daemon process died: held work is dropped (a dead loop resumes nothing); the next process is not stalled. The plan stays. */
  processDied(): void {
    this.#held = [];
    this.#paused = false;
  }

  #delayRule(path: string): RouteDelay | undefined {
    return this.#plan.routeDelays?.find((delay) => pathMatches(delay.path, path));
  }
}

/**
 * Releases work after a per-item delay without reordering: an item runs once its own delay has
 * passed and every item pushed before it has run (bytes on one TCP stream arrive in order).
 */
export class OrderedRelease {
  readonly #queue: Array<{ ready: boolean; readonly work: () => void }> = [];
  readonly #schedule: (delayMs: number, fn: () => void) => void;

  constructor(schedule: (delayMs: number, fn: () => void) => void) {
    this.#schedule = schedule;
  }

  push(delayMs: number, work: () => void): void {
    const entry = { ready: delayMs <= 0, work };
    this.#queue.push(entry);
    if (entry.ready) this.#drain();
    else {
      this.#schedule(delayMs, () => {
        entry.ready = true;
        this.#drain();
      });
    }
  }

  #drain(): void {
    while (this.#queue[0]?.ready) this.#queue.shift()?.work();
  }
}

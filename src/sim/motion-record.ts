// Ground truth of what the emulated robot was made to do, `emulator.motionRecord`: every move
// (REST goto / wake_up / goto_sleep, /ws/sdk goto_target / wake_up / goto_sleep / task) with when
// its request or frame was received, when it started and ended and how, and every realtime target
// applied (set_target / set_antennas / set_body_yaw / set_full_target / set_head_joints over
// /ws/sdk, REST or /api/move/ws/set_target), and the pose at every 50 Hz control tick (what the
// speed-limit tests compare tick to tick). Times are wall ms on the emulator's clock
// (`performance.now()` unless `wallNowMs` was injected). Owns the lists; the daemon appends. Not a daemon feature.
import { type Mat4, type XyzRpyPose, xyzRpyFromPose } from '../robot/pose-math.ts';

export type MoveKind = 'goto' | 'wake_up' | 'goto_sleep' | 'sdk_task' | 'recorded';
/** `rest`: `/api/move/*` (a uuid listed by `/api/move/running`); `sdk`: a `/ws/sdk` frame. */
export type MoveVia = 'rest' | 'sdk';
/**
 * `completed`: ran to its end; `stopped`: interrupted by `/ws/sdk` `stop_move`; `cancelled`:
 * `/api/move/stop` or the backend stopped; `failed`: raised; `killed`: the daemon process died.
 */
export type MoveOutcome = 'running' | 'completed' | 'stopped' | 'cancelled' | 'failed' | 'killed';

export interface MoveTarget {
  /** Head pose in the world frame (metres, radians); null when the command left the head alone. */
  readonly head: XyzRpyPose | null;
  /** `[right, left]` radians. */
  readonly antennas: readonly [number, number] | null;
  readonly bodyYaw: number | null;
  /** Simulated seconds. */
  readonly durationS: number;
}

export interface MoveRecordEntry {
  /** The daemon's uuid (REST), the task's uuid (sdk `task`), or `sdk-<n>` for other /ws/sdk moves. */
  readonly uuid: string;
  readonly kind: MoveKind;
  readonly via: MoveVia;
  /** null for the scripted sequences (wake_up, goto_sleep). */
  readonly target: MoveTarget | null;
  /** When the originating request/frame reached the emulator (before any injected delay or pause). */
  readonly receivedAt: number;
  readonly startedAt: number;
  /** null while running. */
  readonly endedAt: number | null;
  readonly outcome: MoveOutcome;
  /** The failure text for `failed`. */
  readonly details?: string;
}

export type TargetKind = 'set_target' | 'set_antennas' | 'set_body_yaw' | 'set_full_target' | 'set_head_joints';
/** `sdk`: `/ws/sdk`; `rest`: `POST /api/move/set_target`; `ws_set_target`: `/api/move/ws/set_target`. */
export type TargetVia = 'sdk' | 'rest' | 'ws_set_target';

export interface TargetValues {
  readonly head?: XyzRpyPose;
  readonly antennas?: readonly [number, number];
  readonly bodyYaw?: number;
  /** `set_head_joints`: `[body_yaw, stewart_1..6]`. */
  readonly joints?: readonly number[];
}

export interface TargetRecordEntry {
  readonly kind: TargetKind;
  readonly via: TargetVia;
  readonly receivedAt: number;
  readonly appliedAt: number;
  readonly values: TargetValues;
  /** False when the head target had no IK solution (the daemon keeps the previous pose). */
  readonly reachable: boolean;
}

/** The robot's present pose at one control tick (what the tick's joint_positions/head_pose pushes carry). */
export interface PoseSample {
  /** Wall ms of the tick, on the record's clock. */
  readonly at: number;
  /** Head pose in the world frame (metres, radians). */
  readonly head: XyzRpyPose;
  readonly bodyYaw: number;
  /** `[right, left]` radians. */
  readonly antennas: readonly [number, number];
}

export interface MotionRecord {
  /** Oldest first; an entry's `endedAt`/`outcome` change when the move ends. */
  readonly moves: readonly MoveRecordEntry[];
  /** Applied realtime targets, oldest first (targets dropped because a goto held the lock are not applied). */
  readonly targets: readonly TargetRecordEntry[];
  /** The pose at each control tick while the backend runs and is not paused, oldest first. */
  readonly poses: readonly PoseSample[];
  /** Now, on the clock the entries use. */
  nowMs(): number;
  clear(): void;
}

/** Entries kept per list before the oldest are dropped (a long `--sim` run must not grow without bound). */
export const MAX_MOTION_RECORDS = 10_000;

export interface MoveStart {
  readonly uuid: string;
  readonly kind: MoveKind;
  readonly via: MoveVia;
  readonly target: MoveTarget | null;
  readonly receivedAt: number;
}

type MutableMove = { -readonly [K in keyof MoveRecordEntry]: MoveRecordEntry[K] };

export class MotionLog implements MotionRecord {
  readonly #moves: MutableMove[] = [];
  readonly #targets: TargetRecordEntry[] = [];
  readonly #poses: PoseSample[] = [];
  readonly #now: () => number;

  constructor(nowMs: () => number) {
    this.#now = nowMs;
  }

  get moves(): readonly MoveRecordEntry[] {
    return this.#moves;
  }

  get targets(): readonly TargetRecordEntry[] {
    return this.#targets;
  }

  get poses(): readonly PoseSample[] {
    return this.#poses;
  }

  nowMs(): number {
    return this.#now();
  }

  clear(): void {
    this.#moves.length = 0;
    this.#targets.length = 0;
    this.#poses.length = 0;
  }

  /** Records a move starting now; returns the function that records its end. */
  moveStarted(start: MoveStart): (outcome: Exclude<MoveOutcome, 'running'>, details?: string) => void {
    const entry: MutableMove = { ...start, startedAt: this.#now(), endedAt: null, outcome: 'running' };
    this.#moves.push(entry);
    trim(this.#moves);
    return (outcome, details) => {
      if (entry.endedAt !== null) return;
      entry.endedAt = this.#now();
      entry.outcome = outcome;
      if (details !== undefined) entry.details = details;
    };
  }

  /** The pose at a control tick (ws-sdk.ts `#controlTick`), `at` being when it was evaluated. */
  poseSampled(at: number, headPose: Mat4, bodyYaw: number, antennas: readonly [number, number]): void {
    this.#poses.push({ at, head: xyzRpyFromPose(headPose), bodyYaw, antennas: [antennas[0], antennas[1]] });
    trim(this.#poses);
  }

  targetApplied(kind: TargetKind, via: TargetVia, receivedAt: number, values: TargetValues, reachable: boolean): void {
    this.#targets.push({ kind, via, receivedAt, appliedAt: this.#now(), values, reachable });
    trim(this.#targets);
  }
}

function trim(list: unknown[]): void {
  if (list.length > MAX_MOTION_RECORDS) list.splice(0, list.length - MAX_MOTION_RECORDS);
}

/** The channels a command sets, as the record keeps them (head as x/y/z/roll/pitch/yaw). */
export interface CommandedChannels {
  readonly head?: Mat4 | undefined;
  readonly antennas?: readonly [number, number] | undefined;
  readonly bodyYaw?: number | undefined;
}

export function moveTarget(channels: CommandedChannels, durationS: number): MoveTarget {
  return {
    head: channels.head ? xyzRpyFromPose(channels.head) : null,
    antennas: channels.antennas ? [channels.antennas[0], channels.antennas[1]] : null,
    bodyYaw: channels.bodyYaw ?? null,
    durationS,
  };
}

export function targetValues(channels: CommandedChannels): TargetValues {
  return {
    ...(channels.head ? { head: xyzRpyFromPose(channels.head) } : {}),
    ...(channels.antennas ? { antennas: [channels.antennas[0], channels.antennas[1]] as const } : {}),
    ...(channels.bodyYaw !== undefined ? { bodyYaw: channels.bodyYaw } : {}),
  };
}

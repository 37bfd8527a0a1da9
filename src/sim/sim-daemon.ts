// Daemon-level state of the emulator: lifecycle state and faults (running / stopped backend /
// error), the `DaemonStatus` document, media flags, robot name, sound log, recording buffer,
// and the start/stop/restart jobs (reachy-daemon-api.md §0 backend gate, §1.4, §5 DaemonStatus;
// fixtures/daemon/daemon_lifecycle.txt, daemon_start_bug.txt). Composes robot-model, move-tasks,
// daemon-jobs, the sim clock and the motion record; owns no transport (routes and sockets read it).
import type { DaemonLifecycleState, DaemonStatusPush } from '../protocol/daemon-wire-types.ts';
import { DaemonJobs } from './daemon-jobs.ts';
import { MotionLog, type MoveStart } from './motion-record.ts';
import { MoveTasks } from './move-tasks.ts';
import { resetToSleep, wakeUp, type SequenceContext } from './move-sequences.ts';
import { type BootPose, RobotModel } from './robot-model.ts';
import { SimClock } from './sim-clock.ts';
import { SoundUploads } from './sound-uploads.ts';
import { SimVolume } from './recorded-moves.ts';

export type RobotVariant = 'lite' | 'wireless';
export type DaemonState = DaemonLifecycleState;

/** Test-controlled failures of the daemon (the process being killed is `Emulator.stop()`). */
export type EmulatorFault =
  | { readonly kind: 'none' }
  /** As after `/api/daemon/stop`: state `stopped`, `backend_status` null, robot routes 503. */
  | { readonly kind: 'backend-not-running' }
  /** As the start bug of §1.4: state `error` with a message, no backend, robot routes 503. */
  | { readonly kind: 'daemon-error'; readonly error?: string };

export interface SimDaemonOptions {
  readonly variant: RobotVariant;
  readonly timeScale: number;
  readonly boot: BootPose;
  readonly withMedia: boolean;
  readonly robotName: string;
  readonly honourRestInterpolation: boolean;
  readonly wallNowMs?: (() => number) | undefined;
  /** Told when `/api/media/release` or `/acquire` changes the released flag (the emulator detaches/attaches its WebRTC producer). */
  readonly onMediaReleasedChange?: ((released: boolean) => void) | undefined;
}

/** Package version the fixtures were captured from (`version` of DaemonStatus). */
export const DAEMON_VERSION = '1.10.0.dev0';
/** The error text of the observed mockup-restart bug (daemon_start_bug.txt). */
export const DEFAULT_DAEMON_ERROR =
  'No Reachy Mini serial port found. Check USB connection and permissions. Or directly specify the serial port using --serialport.';

/** Abort reason of the /ws/sdk tasks when the daemon process dies (motion record outcome `killed`). */
class DaemonKilled extends Error {
  constructor() {
    super('daemon killed');
    this.name = 'DaemonKilled';
  }
}

const NO_FACE = { detected: false, x: null, y: null, roll: null, ts: null } as const;

export class SimDaemon {
  readonly clock: SimClock;
  readonly robot: RobotModel;
  /** Ground truth of moves and applied targets (tests, simulations). */
  readonly motion: MotionLog;
  readonly moves: MoveTasks;
  readonly jobs = new DaemonJobs();
  readonly variant: RobotVariant;
  readonly withMedia: boolean;
  /** Copy quirk §11.1 (REST goto ignores `interpolation`) unless told otherwise. */
  readonly honourRestInterpolation: boolean;
  robotName: string;
  /** Sound files the daemon was asked to play, in order (REST, /ws/sdk and sequences). */
  readonly playedSounds: string[] = [];
  /** `/tmp/reachy_mini_sounds` of the daemon: uploaded sounds (kept across stop/start). */
  readonly sounds = new SoundUploads();
  /** The host's speaker and microphone volume (§1.6). */
  readonly volume: SimVolume;
  #state: DaemonState = 'running';
  #error: string | null = null;
  #backendUp = true;
  #mediaReleased = false;
  #recording: Record<string, unknown>[] | null = null;
  readonly #sdkTasks = new Set<AbortController>();
  /** Numbers the /ws/sdk moves that carry no uuid of their own (`sdk-<n>` in the motion record). */
  #sdkMoveCount = 0;
  readonly #onMediaReleasedChange: ((released: boolean) => void) | undefined;

  constructor(options: SimDaemonOptions) {
    this.clock = new SimClock({ timeScale: options.timeScale, ...(options.wallNowMs ? { wallNowMs: options.wallNowMs } : {}) });
    this.robot = new RobotModel(this.clock, options.boot);
    this.motion = new MotionLog(() => this.clock.wallNowMs());
    this.moves = new MoveTasks(this.motion);
    this.volume = new SimVolume(options.withMedia);
    this.variant = options.variant;
    this.withMedia = options.withMedia;
    this.robotName = options.robotName;
    this.honourRestInterpolation = options.honourRestInterpolation;
    this.#onMediaReleasedChange = options.onMediaReleasedChange;
  }

  /** `get_backend` succeeds: a backend exists and is ready (else the route answers 503). */
  get backendReady(): boolean {
    return this.#backendUp;
  }

  get state(): DaemonState {
    return this.#state;
  }

  get mediaReleased(): boolean {
    return this.#mediaReleased;
  }

  /** `DaemonStatus` of the mockup daemon, key order as on the wire. */
  status(): Record<string, unknown> {
    return {
      type: 'daemon_status',
      robot_name: this.robotName,
      state: this.#state,
      wireless_version: this.variant === 'wireless',
      desktop_app_daemon: false,
      simulation_enabled: false,
      mockup_sim_enabled: true,
      no_media: !this.withMedia,
      media_released: this.#mediaReleased,
      camera_specs_name: this.withMedia ? this.variant : '',
      backend_status: this.#backendUp ? { motor_control_mode: this.robot.motorMode, error: null } : null,
      error: this.#error,
      wlan_ip: null,
      version: DAEMON_VERSION,
      hardware_id: null,
      face_target: { ...NO_FACE },
    } satisfies DaemonStatusPush;
  }

  /** `/api/media/status`. */
  mediaStatus(): Record<string, boolean> {
    return { available: this.withMedia && !this.#mediaReleased, released: this.#mediaReleased, no_media: !this.withMedia };
  }

  /** Release/acquire are idempotent no-ops without a media server, as on the daemon. */
  setMediaReleased(released: boolean): void {
    if (!this.withMedia || this.#mediaReleased === released) return;
    this.#mediaReleased = released;
    this.#onMediaReleasedChange?.(released);
  }

  playSound(file: string): void {
    this.playedSounds.push(file);
  }

  sequenceContext(signal?: AbortSignal): SequenceContext {
    return { robot: this.robot, clock: this.clock, playSound: (file) => this.playSound(file), signal };
  }

  setFault(fault: EmulatorFault): void {
    switch (fault.kind) {
      case 'none':
        this.#state = 'running';
        this.#error = null;
        this.#backendUp = true;
        return;
      case 'backend-not-running':
        this.#takeBackendDown('stopped', null);
        return;
      case 'daemon-error':
        this.#takeBackendDown('error', fault.error ?? DEFAULT_DAEMON_ERROR);
        return;
    }
  }

  #takeBackendDown(state: DaemonState, error: string | null): void {
    this.#state = state;
    this.#error = error;
    this.#backendUp = false;
    void this.moves.cancelAll(true);
    this.#abortSdkTasks(new Error('backend stopped'));
    this.robot.cancelAll(new Error('Backend not running'));
    this.#recording = null;
  }

  /**
   * A background motion started from `/ws/sdk` (not listed in `/api/move/running`), recorded in
   * the motion record under `uuid` (a `task` frame's) or `sdk-<n>`. A body resolving `stopped` was
   * interrupted by `stop_move`.
   */
  runSdkTask(body: (signal: AbortSignal) => Promise<unknown>, meta: Omit<MoveStart, 'uuid' | 'via'> & { readonly uuid?: string }): Promise<void> {
    const controller = new AbortController();
    this.#sdkTasks.add(controller);
    this.#sdkMoveCount += 1;
    const ended = this.motion.moveStarted({ ...meta, uuid: meta.uuid ?? `sdk-${this.#sdkMoveCount}`, via: 'sdk' });
    return body(controller.signal).then(
      (end) => ended(end === 'stopped' ? 'stopped' : 'completed'),
      (error: unknown) => {
        const reason: unknown = controller.signal.reason;
        if (!controller.signal.aborted) ended('failed', error instanceof Error ? error.message : String(error));
        else ended(reason instanceof DaemonKilled ? 'killed' : 'cancelled');
        throw error;
      },
    ).finally(() => this.#sdkTasks.delete(controller));
  }

  #abortSdkTasks(reason: Error): void {
    for (const controller of this.#sdkTasks) controller.abort(reason);
    this.#sdkTasks.clear();
  }

  /** `/api/daemon/stop?goto_sleep=`: optional reset-to-sleep, then the backend is gone. */
  async stopBackend(gotoSleepFirst: boolean): Promise<void> {
    if (this.#state === 'stopped') return;
    const sleepFirst = gotoSleepFirst && this.#state !== 'error' && this.#backendUp;
    this.#state = 'stopping';
    if (sleepFirst) {
      try {
        await resetToSleep(this.sequenceContext());
      } catch {
        // A sleep cut short (emulator closing) still ends with the backend stopped.
      }
    }
    this.#takeBackendDown('stopped', null);
  }

  /** `/api/daemon/start?wake_up=`: a fresh mockup backend boots at the sleep joints. */
  async startBackend(wakeUpAfter: boolean): Promise<void> {
    if (this.#state === 'running') return;
    this.#state = 'starting';
    this.#error = null;
    this.robot.reboot('asleep');
    this.#backendUp = true;
    this.#state = 'running';
    if (wakeUpAfter) await wakeUp(this.sequenceContext());
  }

  startRecording(): void {
    this.#recording = [];
  }

  appendRecord(record: Record<string, unknown>): void {
    this.#recording?.push(record);
  }

  /** Ends a recording and returns what was appended (empty when none was running). */
  stopRecording(): Record<string, unknown>[] {
    const data = this.#recording ?? [];
    this.#recording = null;
    return data;
  }

  /** The daemon process dies: moves end silently, sequences stop, timers are cleared. */
  async kill(): Promise<void> {
    const cancelled = this.moves.cancelAll(false);
    this.#abortSdkTasks(new DaemonKilled());
    this.robot.cancelAll(new Error('daemon killed'));
    this.clock.cancelAll();
    await cancelled;
  }
}

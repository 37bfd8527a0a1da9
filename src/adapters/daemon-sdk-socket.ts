// Client of the daemon's `/ws/sdk` control socket (reachy-daemon-api.md §2; reference-driver.md
// §7, §12 bug 12). Owns: decoding the pushes (joint_positions, head_pose, imu_data, daemon_status,
// task_progress) into typed events, a cache of the latest of each with its receive time and a
// `stale` flag (a 50 Hz stream is decoded when read, or once per idle batch, its newest frame, for
// its listeners), checked realtime commands (fire-and-forget on the daemon side), the `task`
// request/`task_progress` pairing, and when the pushes are read relaxed (in batches, at idle) or live
// (while commands go out; issue 11). Connection policy (reconnect, liveness, how relaxed reading
// works) is the shared daemon-reconnecting-socket.ts. Not REST (daemon-http.ts), not what state means.
import { randomUUID } from 'node:crypto';
import { createLogger } from '../logging/logger.ts';
import { DaemonCommandInvalid, DaemonNotConnected, DaemonTimeout, type DaemonSendError } from './daemon-errors.ts';
import { DaemonPushClient, type CloseInfo, type DaemonSocketOverrides, type ReconnectInfo } from './daemon-reconnecting-socket.ts';
import {
  decodeSdkPush, parseJson, type Antennas, type DaemonStatusPush, type HeadPosePush, type ImuDataPush, type Interpolation,
  type JointPositionsPush, type SdkPush, type SdkPushType, type TaskProgressPush,
} from './daemon-wire.ts';

const log = createLogger('daemon-sdk');

/**
 * Age after which a cached 50 Hz push (joints, head pose, IMU) is stale: 25 missed control ticks,
 * far beyond jitter, yet short enough that nothing acts on a robot state half a second old.
 * The daemon also calls IMU data stale after 0.5 s (§1.1).
 */
export const STALE_AFTER_MS = 500;
/** `daemon_status` is pushed at 1 Hz, so it is stale only after more than two missed pushes. */
export const STATUS_STALE_AFTER_MS = 2_500;
/** Extra wait for a task's `task_progress` beyond its duration (the Python SDK waits duration + 1 s). */
export const TASK_COMPLETION_GRACE_MS = 1_000;
/**
 * At idle (no command for LIVE_QUIET_MS) the pushes are read in a batch this often instead of
 * 100–150 wake-ups a second. 200 ms: a cached push is then at most ~one interval old (well below
 * STALE_AFTER_MS), a closed socket is seen within it, and nothing decides on a batch (every command
 * first reads live). At 100 ms an idle driver read 0.15–0.2 points of a core more (issue 11).
 */
export const RELAXED_READ_INTERVAL_MS = 200;
/**
 * Reading stays live this long after the last command, task progress or move: longer than the
 * motion executor's 1 s realtime hold window, so a stop's hold always acts on a pose read live, and
 * a teleoperation stream (commands ≥ 1 Hz) never drops back to batches between its commands.
 */
export const LIVE_QUIET_MS = 2_000;
/**
 * `readLive` waits at most this for the first push read live: 7 missed 50 Hz ticks; a daemon silent
 * that long is stalled (the executor's stall check, also 150 ms, then refuses), so waiting longer gains nothing.
 */
export const LIVE_PUSH_WAIT_MS = 150;
/** Path of the socket on the daemon (no `/api` prefix, §0). */
export const SDK_SOCKET_PATH = '/ws/sdk';

const STALE_AFTER_BY_TYPE: Readonly<Record<SdkPushType, number>> = {
  joint_positions: STALE_AFTER_MS,
  head_pose: STALE_AFTER_MS,
  imu_data: STALE_AFTER_MS,
  daemon_status: STATUS_STALE_AFTER_MS,
  task_progress: STALE_AFTER_MS,
};

type PushOf<K extends SdkPushType> = Extract<SdkPush, { type: K }>;

export interface CachedPush<T> {
  readonly value: T;
  /** Wall-clock receive time (`Date.now()`). */
  readonly receivedAt: number;
  /** Milliseconds since it was received (monotonic clock). */
  readonly ageMs: number;
  /** Older than its threshold (STALE_AFTER_MS, STATUS_STALE_AFTER_MS for daemon_status), from an earlier connection, or the socket is down. */
  readonly stale: boolean;
  /** Received on the connection open now (false while down, and for a push from before a reconnect). */
  readonly thisConnection: boolean;
}

/** Flat row-major 4×4 head pose, as the daemon's commands take it (§5). */
export type HeadMatrix = readonly number[];

export interface TaskRequest {
  /** Target head pose, flat row-major [16]; null/absent keeps the current one. */
  readonly head?: HeadMatrix | null;
  readonly antennas?: Antennas | null;
  readonly body_yaw?: number | null;
  /** Seconds. */
  readonly duration: number;
  /** Honoured on this socket (unlike REST goto). */
  readonly method?: Interpolation;
}

/** Realtime commands of §2/§3 the driver sends; the daemon never replies to them here. */
export type SdkCommand =
  | { readonly type: 'set_target'; readonly head: HeadMatrix }
  | { readonly type: 'set_antennas'; readonly antennas: Antennas }
  | { readonly type: 'set_body_yaw'; readonly body_yaw: number }
  | { readonly type: 'set_full_target'; readonly head?: HeadMatrix; readonly antennas?: Antennas; readonly body_yaw?: number }
  | { readonly type: 'task'; readonly uuid: string; readonly timestamp: string; readonly req: TaskRequest };

export type SdkSendResult = { readonly ok: true } | { readonly ok: false; readonly error: DaemonSendError };

export interface SdkSocketEvents {
  open: () => void;
  close: (info: CloseInfo) => void;
  reconnecting: (info: ReconnectInfo) => void;
  joint_positions: (push: JointPositionsPush) => void;
  head_pose: (push: HeadPosePush) => void;
  imu_data: (push: ImuDataPush) => void;
  daemon_status: (push: DaemonStatusPush) => void;
  task_progress: (push: TaskProgressPush) => void;
}

export interface DaemonSdkSocketOptions extends DaemonSocketOverrides {
  /** `ws://host:port` or `http://host:port` of the daemon; the path is added. */
  readonly baseUrl: string;
  /** Batch period at idle (RELAXED_READ_INTERVAL_MS); null reads every push live always. */
  readonly relaxedReadIntervalMs?: number | null;
  /** Live period after the last command (LIVE_QUIET_MS; tests shorten it). */
  readonly liveQuietMs?: number;
}

/**
 * The 50 Hz state streams (§2: joint_positions and head_pose on every robot, imu_data on the
 * wireless one). While nobody listens to one, its frames are kept as text and decoded when read
 * (`latest`): at 100–150 frames a second, parsing what nobody reads was most of an idle driver's
 * CPU (issue 11). A listener hears every frame read live; of a batch read at idle (several ticks
 * that waited in the kernel, read in one loop turn) it hears the newest only, at the end of that
 * turn: the older ones were superseded before anyone could act on them.
 */
const READ_ON_DEMAND: ReadonlySet<string> = new Set<SdkPushType>(['joint_positions', 'head_pose', 'imu_data']);
/**
 * The pushes that show the daemon's control loop is running (its 50 Hz state): the stall check
 * counts these only — not the 1 Hz daemon_status, a binary frame or a frame of another type, which
 * a daemon whose loop stalled can still send.
 */
const STATE_PUSHES: ReadonlySet<string> = new Set<SdkPushType>(['joint_positions', 'head_pose']);
/** The daemon (json.dumps) and the emulator both put `type` first; anything else takes the full decode. */
const LEADING_TYPE = /^\{\s*"type"\s*:\s*"([a-z_]{1,32})"/;

interface PendingFrame {
  readonly text: string;
  readonly receivedAt: number;
  readonly receivedMono: number;
}

interface CacheEntry {
  readonly value: SdkPush;
  readonly receivedAt: number;
  readonly receivedMono: number;
}

const isFiniteNumber = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value);

/** Why the daemon would drop this command silently, or null when it is well-formed. */
function commandProblem(command: SdkCommand): string | null {
  const list = (value: unknown, length: number, name: string): string | null =>
    Array.isArray(value) && value.length === length && value.every(isFiniteNumber) ? null : `${name} must be ${length} finite numbers`;
  switch (command.type) {
    case 'set_target':
      return list(command.head, 16, 'head');
    case 'set_antennas':
      return list(command.antennas, 2, 'antennas');
    case 'set_body_yaw':
      return isFiniteNumber(command.body_yaw) ? null : 'body_yaw must be a finite number';
    case 'set_full_target':
      return (
        (command.head === undefined ? null : list(command.head, 16, 'head')) ??
        (command.antennas === undefined ? null : list(command.antennas, 2, 'antennas')) ??
        (command.body_yaw === undefined || isFiniteNumber(command.body_yaw) ? null : 'body_yaw must be a finite number')
      );
    case 'task': {
      const req = command.req;
      if (!isFiniteNumber(req.duration) || req.duration < 0) return 'req.duration must be a finite number ≥ 0';
      return (
        (req.head === undefined || req.head === null ? null : list(req.head, 16, 'req.head')) ??
        (req.antennas === undefined || req.antennas === null ? null : list(req.antennas, 2, 'req.antennas')) ??
        (req.body_yaw === undefined || req.body_yaw === null || isFiniteNumber(req.body_yaw) ? null : 'req.body_yaw must be a finite number')
      );
    }
  }
}

/** Naive local ISO time, the shape the SDK puts in `task.timestamp`. */
function naiveLocalIso(): string {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60_000).toISOString().slice(0, -1);
}

export class DaemonSdkSocket extends DaemonPushClient<SdkSocketEvents> {
  readonly #cache = new Map<SdkPushType, CacheEntry>();
  /** The newest undecoded frame of a READ_ON_DEMAND stream, newer than its cache entry. */
  readonly #pending = new Map<SdkPushType, PendingFrame>();
  readonly #relaxedEveryMs: number | null;
  readonly #liveQuietMs: number;
  /** performance.now() until which reading stays live. */
  #liveUntilMono = 0;
  #quietTimer: NodeJS.Timeout | null = null;
  /** Tasks sent and not yet finished: reading stays live while any runs. */
  #runningTasks = 0;
  /** A batch's newest frames are to be handed to their listeners at the end of this loop turn. */
  #batchFlushQueued = false;
  /** `performance.now()` (as dated on receipt) of the newest state push (STATE_PUSHES); 0 before any. */
  #statePushMono = 0;

  /** Creates the client and starts connecting at once (reading relaxed until a command goes out). */
  constructor(options: DaemonSdkSocketOptions) {
    super('sdk', options.baseUrl, SDK_SOCKET_PATH, options, log);
    this.#relaxedEveryMs = options.relaxedReadIntervalMs === undefined ? RELAXED_READ_INTERVAL_MS : options.relaxedReadIntervalMs;
    this.#liveQuietMs = options.liveQuietMs ?? LIVE_QUIET_MS;
    if (this.#relaxedEveryMs !== null) this.socket.relax(this.#relaxedEveryMs);
  }

  /** True while pushes are read in batches (idle); false while read as they arrive. */
  get readsRelaxed(): boolean {
    return this.socket.relaxed;
  }

  /** Reads live from now until `forMs` plus LIVE_QUIET_MS from now (a move of known length keeps it live throughout). */
  keepLive(forMs = 0): void {
    if (this.#relaxedEveryMs === null) return;
    this.#liveUntilMono = Math.max(this.#liveUntilMono, performance.now() + forMs + this.#liveQuietMs);
    this.socket.readLive();
    if (this.#quietTimer === null) this.#armQuiet();
  }

  /**
   * keepLive, then resolves once a push has been read live — so `latest` and `silentForMs` describe
   * the present, not a batch — or after LIVE_PUSH_WAIT_MS; at once when already live or not open;
   * right after the catch-up read when even that read nothing and nothing was read for longer than
   * LIVE_PUSH_WAIT_MS (surely stalled: the stall check then refuses without a wait).
   */
  async readLive(forMs = 0): Promise<void> {
    const calledAt = performance.now();
    this.keepLive(forMs);
    if (this.socket.readsLive || !this.socket.connected) return;
    // What waited in the kernel is read first (a loop turn or two; dated no later than the pause).
    await this.socket.caughtUp();
    if (!this.socket.connected || this.socket.silentAtLeastMs() > LIVE_PUSH_WAIT_MS) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        offMessage();
        offClose();
        resolve();
      };
      const offMessage = this.socket.on('message', (_text, receivedMono) => (receivedMono >= calledAt ? done() : undefined));
      const offClose = this.socket.on('close', done);
      const timer = setTimeout(done, LIVE_PUSH_WAIT_MS);
    });
  }

  /**
   * Resolves once the socket is open as read now: a relaxed socket first reads live (readLive: what
   * waited in the kernel, then a push read live, the close, or LIVE_PUSH_WAIT_MS), so a close the
   * daemon sent since the last drain is seen before this answers. One drain is not enough: libuv
   * reads data and the end of stream behind it in separate polls. The link's probe asks this after
   * a daemon restart; a pause must not vouch for a dead socket. Costs the probe ~one push period.
   */
  override async waitOpen(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.connected && !this.socket.readsLive) await this.readLive();
    return await super.waitOpen(timeoutMs, signal);
  }

  /** Relaxes once the live period has passed (one timer, re-armed for the rest when it was extended). */
  #armQuiet(): void {
    const remaining = Math.max(0, this.#liveUntilMono - performance.now());
    this.#quietTimer = setTimeout(() => {
      this.#quietTimer = null;
      // A running task's end calls keepLive, which re-arms this.
      if (this.#relaxedEveryMs === null || this.#runningTasks > 0) return;
      if (performance.now() < this.#liveUntilMono) this.#armQuiet();
      else this.socket.relax(this.#relaxedEveryMs);
    }, remaining);
  }

  /** Stops reconnecting, the live timer and the socket; the cache stays readable (and stale). */
  override async close(): Promise<void> {
    if (this.#quietTimer) clearTimeout(this.#quietTimer);
    this.#quietTimer = null;
    await super.close();
  }

  /** The latest push of `type`, with its age and staleness; undefined if none arrived yet. */
  latest<K extends SdkPushType>(type: K): CachedPush<PushOf<K>> | undefined {
    this.#decodePending(type);
    const entry = this.#cache.get(type);
    if (!entry) return undefined;
    const ageMs = performance.now() - entry.receivedMono;
    // A push from before the current connection opened describes a robot others may have moved since.
    const thisConnection = entry.receivedMono >= this.socket.openedMono;
    return {
      value: entry.value as PushOf<K>,
      receivedAt: entry.receivedAt,
      ageMs,
      stale: ageMs > STALE_AFTER_BY_TYPE[type] || !thisConnection,
      thisConnection,
    };
  }

  /**
   * How long the daemon's control loop has pushed no state on the open connection (Infinity while
   * not open; counted from the opening until the first push). Other frames do not count.
   */
  override silentForMs(): number {
    if (!this.socket.connected) return Number.POSITIVE_INFINITY;
    return performance.now() - Math.max(this.#statePushMono, this.socket.openedMono);
  }

  /** Sends a realtime command; a typed error (never a throw, never a silent drop) when it cannot go out. */
  send(command: SdkCommand): SdkSendResult {
    const problem = commandProblem(command);
    if (problem !== null) {
      return { ok: false, error: new DaemonCommandInvalid({ message: `${command.type}: ${problem}`, command: command.type, problem }) };
    }
    // Whatever the daemon does next is read as it happens (sending itself is never batched).
    this.keepLive();
    return this.socket.send(JSON.stringify(command));
  }

  /**
   * Runs a `task` goto (interpolation honoured) and resolves with its `task_progress`; rejects with
   * the send error, DaemonNotConnected if the socket drops first, or DaemonTimeout after
   * duration + TASK_COMPLETION_GRACE_MS. A progress with `error` set still resolves (caller decides).
   */
  runTask(req: TaskRequest, timeoutMs = req.duration * 1000 + TASK_COMPLETION_GRACE_MS): Promise<TaskProgressPush> {
    const uuid = randomUUID();
    // Its progress is read the moment it arrives, however long it runs, and live for the quiet period after.
    this.#runningTasks += 1;
    this.keepLive();
    return new Promise((resolve, reject) => {
      const cleanups: (() => void)[] = [() => (this.#runningTasks -= 1), () => this.keepLive()];
      const finish = (): void => {
        for (const cleanup of cleanups) cleanup();
      };
      cleanups.push(
        this.on('task_progress', (push) => {
          if (push.uuid !== uuid || !push.finished) return;
          finish();
          resolve(push);
        }),
        this.on('close', (info) => {
          finish();
          reject(new DaemonNotConnected({ message: `daemon socket closed before task ${uuid} finished: ${info.reason}`, url: this.url, state: 'connecting' }));
        }),
      );
      const timer = setTimeout(() => {
        finish();
        reject(new DaemonTimeout({ message: `task ${uuid} not finished within ${timeoutMs} ms`, method: 'WS', route: `${SDK_SOCKET_PATH} task`, timeoutMs }));
      }, timeoutMs);
      cleanups.push(() => clearTimeout(timer));
      const sent = this.send({ type: 'task', uuid, timestamp: naiveLocalIso(), req });
      if (!sent.ok) {
        finish();
        reject(sent.error);
      }
    });
  }

  protected onMessage(text: string, receivedMono: number): void {
    // Dated when it may have arrived (a batch read at idle: the pause before it), never later.
    const receivedAt = Date.now() - (performance.now() - receivedMono);
    const leading = LEADING_TYPE.exec(text)?.[1];
    if (leading !== undefined && STATE_PUSHES.has(leading)) this.#statePushMono = Math.max(this.#statePushMono, receivedMono);
    if (leading !== undefined && READ_ON_DEMAND.has(leading)) {
      const heard = this.events.has(leading as SdkPushType);
      if (!heard || !this.socket.readsLive) {
        this.#pending.set(leading as SdkPushType, { text, receivedAt, receivedMono });
        if (heard) this.#queueBatchFlush();
        return;
      }
    }
    const push = this.#decode(text);
    if (push === null) return;
    this.#pending.delete(push.type);
    this.#cache.set(push.type, { value: push, receivedAt, receivedMono });
    if (push.type === 'task_progress') this.keepLive();
    this.#emit(push);
  }

  #emit(push: SdkPush): void {
    // The switch keeps each event's payload type exact.
    switch (push.type) {
      case 'joint_positions':
        this.events.emit('joint_positions', push);
        return;
      case 'head_pose':
        this.events.emit('head_pose', push);
        return;
      case 'imu_data':
        this.events.emit('imu_data', push);
        return;
      case 'daemon_status':
        this.events.emit('daemon_status', push);
        return;
      case 'task_progress':
        this.events.emit('task_progress', push);
        return;
    }
  }

  /** A frame as a push; null (counted and logged when malformed) when the driver has no use for it. */
  #decode(text: string): SdkPush | null {
    const parsed = parseJson(text);
    const decoded = parsed ? decodeSdkPush(parsed.json) : { ok: false as const, problem: 'not JSON' };
    if (!decoded.ok) {
      this.countInvalidFrame();
      log.debug('push dropped', { problem: decoded.problem, frame: text.slice(0, 200) });
      return null;
    }
    // Null: a push the driver does not use (recorded_data, uploads, ...).
    return decoded.value;
  }

  /**
   * Decodes the kept frame of `type`, if any, into the cache and answers it (null when none was
   * kept). A malformed one is counted and dropped then (the previous push stays, and ages); one
   * superseded before being read is never decoded, so it is not counted either.
   */
  #decodePending(type: SdkPushType): SdkPush | null {
    const pending = this.#pending.get(type);
    if (pending === undefined) return null;
    this.#pending.delete(type);
    const push = this.#decode(pending.text);
    if (push === null) return null;
    this.#cache.set(push.type, { value: push, receivedAt: pending.receivedAt, receivedMono: pending.receivedMono });
    return push;
  }

  /**
   * Once per loop turn that read a batch: on the turn's check phase (after every frame of the read),
   * decodes the newest kept frame of each listened stream and hands it to its listeners.
   */
  #queueBatchFlush(): void {
    if (this.#batchFlushQueued) return;
    this.#batchFlushQueued = true;
    setImmediate(() => {
      this.#batchFlushQueued = false;
      for (const type of READ_ON_DEMAND as ReadonlySet<SdkPushType>) {
        if (!this.events.has(type)) continue;
        const push = this.#decodePending(type);
        if (push !== null) this.#emit(push);
      }
    });
  }
}

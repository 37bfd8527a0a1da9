// The embedded Reachy Mini daemon emulator, the driver's `--sim` target: one node:http server on
// 127.0.0.1 (ephemeral port by default) serving the daemon's REST routes and WebSockets with the
// real shapes (reachy-daemon-api.md §1, §2, §10.3), over a kinematic robot that moves in
// (scalable) time. Owns the public API and lifecycle — start (the media producer then or, deferred,
// at `startMediaProducer`), stop/start on the same port ("daemon killed and back"), close — plus the received-command log, the motion record
// (motion-record.ts) and fault injection (`setFault`, and `faults`: fault-injector.ts).
// Behaviour lives in the modules it composes (sim-daemon, http-dispatch, ws-*).
import type { SimVolume } from './recorded-moves.ts';
import type { Server } from 'node:http';
import { http, https } from '../adapters/http-builtins.ts';
import { DaemonAuthCheck, type AuthAttempt } from './daemon-auth-check.ts';
import type { Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { createLogger } from '../logging/logger.ts';
import { CommandLog, type ReceivedCommand } from './command-log.ts';
import { type EmulatorFaults, FaultInjector, type FaultPlan, type RouteDelay } from './fault-injector.ts';
import { createRequestHandler } from './http-dispatch.ts';
import type { MotionRecord, MoveRecordEntry, TargetRecordEntry } from './motion-record.ts';
import { rotationOf, type XyzRpyPose, xyzRpyFromPose } from '../robot/pose-math.ts';
import type { BootPose, MotorMode } from './robot-model.ts';
import type { EmulatorMedia } from './media/emulator-media.ts';
import type { SimMediaMode, SimMediaProducer } from './media/sim-media-producer.ts';
import { type DaemonState, type EmulatorFault, type RobotVariant, SimDaemon } from './sim-daemon.ts';
import type { UploadedSound } from './sound-uploads.ts';
import { listenOn } from './server-listen.ts';
import { WsGateway } from './ws-gateway.ts';
import { MoveUpdatesSocket } from './ws-move-updates.ts';
import { SdkSocket } from './ws-sdk.ts';
import { SetTargetSocket } from './ws-set-target.ts';
import { StateFullSocket } from './ws-state-full.ts';

export type { EmulatorFaults, FaultPlan, RouteDelay, MotionRecord, MoveRecordEntry, TargetRecordEntry };
export type { EmulatorFault, ReceivedCommand, RobotVariant, BootPose, MotorMode, DaemonState, XyzRpyPose, UploadedSound, SimMediaMode, SimMediaProducer };

export interface EmulatorOptions {
  /** Bind address; the daemon binds loopback unless it is the wireless robot (§0). */
  readonly host?: string;
  /** 0 picks an ephemeral port, kept across stop()/start(). */
  readonly port?: number;
  /** Wall seconds per simulated second of motion; 0.05 plays a 4 s goto_sleep in 200 ms. */
  readonly timeScale?: number;
  /** `wireless` reports `wireless_version: true`, its camera, and pushes `imu_data`. */
  readonly model?: RobotVariant;
  /** Robot state at boot: `awake` (init pose, the daemon's default wake-up on start) or `asleep`. */
  readonly boot?: BootPose;
  /**
   * Run a media server (status `available`, release/acquire toggle) with a WebRTC signalling server
   * and the `reachymini` producer (src/sim/media/). Default: none.
   */
  readonly withMedia?: boolean;
  /**
   * With media: the signalling server comes up with the daemon but the `reachymini` producer (the
   * native WebRTC stacks and encoders, the costly part of a start) only at `startMediaProducer()`
   * (the driver's --sim serves the mesh first). Default: both at start.
   */
  readonly deferMediaProducer?: boolean;
  /** Signalling port of the media server; 0 (default) is ephemeral, kept across stop()/start(). The robot uses 8443. */
  readonly mediaPort?: number;
  /** What the producer sends: `h264` (default for `wireless`, the robot's pre-encoded stream) or `vp8` (default otherwise). */
  readonly mediaMode?: SimMediaMode;
  readonly robotName?: string;
  /** Honour REST goto `interpolation` instead of copying quirk §11.1 (always min-jerk). */
  readonly honourRestInterpolation?: boolean;
  /** Test hook: monotonic wall clock in ms driving simulated time (default `performance.now`). */
  readonly wallNowMs?: () => number;
  /** Require `Authorization: Bearer <token>` on every request and upgrade (REACHY_DAEMON_TOKEN); 401 otherwise. */
  readonly token?: string;
  /** Serve https/wss with this PEM key and certificate (the daemon behind TLS). */
  readonly tls?: { readonly key: string; readonly cert: string };
  /**
   * Listening sockets the driver bound and handed to the emulator's own process (emulator-child.ts):
   * the first start serves them instead of binding `port` (and `mediaPort`); a start after stop()
   * binds the port they had.
   */
  readonly sockets?: { readonly daemon: NetServer; readonly signalling?: NetServer };
}

export interface EmulatorSnapshot {
  readonly headPose: XyzRpyPose;
  /** Row-major 4×4, as `{"m":[16]}`. */
  readonly headPoseMatrix: readonly number[];
  /** `[body_yaw, stewart_1..6]`. */
  readonly headJoints: readonly number[];
  readonly bodyYaw: number;
  /** `[right, left]`. */
  readonly antennas: readonly [number, number];
  readonly motorMode: MotorMode;
  /** A goto is being played (the move lock REST `set_target` checks). */
  readonly isMoveRunning: boolean;
  /** uuids listed by `/api/move/running`. */
  readonly runningMoves: readonly string[];
  readonly daemonState: DaemonState;
  readonly backendReady: boolean;
  readonly mediaReleased: boolean;
  readonly playedSounds: readonly string[];
  /** Files in the daemon's sound temp directory (`/api/media/sounds/upload`), sorted by name. */
  readonly uploadedSounds: readonly UploadedSound[];
}

export interface Emulator {
  readonly host: string;
  readonly port: number;
  /** `http://host:port`. */
  readonly url: string;
  /** `ws://host:port`. */
  readonly wsUrl: string;
  /** Every HTTP request and WebSocket frame received, oldest first. */
  readonly received: readonly ReceivedCommand[];
  /** True while the server listens (false after stop() until start()). */
  readonly running: boolean;
  /** `ws://host:port` of the WebRTC signalling server; null without media. */
  readonly signallingUrl: string | null;
  /** The fake camera / microphone / speaker; null without media (and until `startMediaProducer()` with `deferMediaProducer`). */
  readonly media: SimMediaProducer | null;
  /**
   * Brings up the `reachymini` producer deferred by `deferMediaProducer` and resolves once it is
   * registered (attached unless media is released or the daemon is stopped); at once without media
   * or when it is already up. Rejects when its WebRTC stacks cannot load.
   */
  startMediaProducer(): Promise<void>;
  clearReceived(): void;
  snapshot(): EmulatorSnapshot;
  /** The `DaemonStatus` document `/api/daemon/status` would return now. */
  daemonStatus(): Record<string, unknown>;
  setFault(fault: EmulatorFault): void;
  /** Transport and event-loop faults: delays, dropped replies, reordered move updates, pause/resume. */
  readonly faults: EmulatorFaults;
  /** Ground truth of every move and applied realtime target, on the emulator's clock. */
  readonly motionRecord: MotionRecord;
  /** The host's volume control (set `available = false` for a host without one). */
  readonly volume: SimVolume;
  /** Kills the daemon: sockets dropped, moves end silently, port freed. Robot state is kept. */
  stop(): Promise<void>;
  /** Brings the daemon back on the same port (after stop()). */
  start(): Promise<void>;
  restart(): Promise<void>;
  /**
   * Hands one in-memory byte stream to the daemon's HTTP server as a connection accepted on its
   * port (the fault simulation's transport, src/sim/in-memory-transport.ts); false while stopped.
   */
  acceptConnection(socket: Duplex): boolean;
  /** With `token`: every request and upgrade seen, accepted or refused (empty without a token). */
  readonly authAttempts: ReadonlyArray<AuthAttempt>;
  /** Final stop; clears every timer. The emulator cannot be started again. */
  close(): Promise<void>;
}

const DEFAULT_HOST = '127.0.0.1';
/** The daemon's default robot name (`--robot-name`). */
const DEFAULT_ROBOT_NAME = 'reachy_mini';

class DaemonEmulator implements Emulator {
  readonly host: string;
  readonly #daemon: SimDaemon;
  readonly #log = new CommandLog();
  readonly #logger = createLogger('sim');
  readonly #gateway: WsGateway;
  readonly #sdk: SdkSocket;
  readonly #moveUpdates: MoveUpdatesSocket;
  readonly #faults = new FaultInjector();
  readonly #mediaOptions: { readonly port: number; readonly mode: SimMediaMode; readonly deferProducer: boolean; readonly socket: NetServer | undefined } | null;
  #port: number;
  /** The handed-over daemon socket until the first start serves it. */
  #socket: NetServer | undefined;
  #server: Server | null = null;
  #media: EmulatorMedia | null = null;
  #closed = false;
  readonly #auth: DaemonAuthCheck;
  readonly #tls: EmulatorOptions['tls'];

  constructor(options: EmulatorOptions) {
    this.host = options.host ?? DEFAULT_HOST;
    this.#auth = new DaemonAuthCheck(options.token);
    this.#tls = options.tls;
    this.#port = options.port ?? 0;
    this.#socket = options.sockets?.daemon;
    this.#mediaOptions = options.withMedia
      ? { port: options.mediaPort ?? 0, mode: options.mediaMode ?? (options.model === 'wireless' ? 'h264' : 'vp8'), deferProducer: options.deferMediaProducer ?? false, socket: options.sockets?.signalling }
      : null;
    this.#daemon = new SimDaemon({
      variant: options.model ?? 'lite',
      timeScale: options.timeScale ?? 1,
      boot: options.boot ?? 'awake',
      withMedia: options.withMedia ?? false,
      robotName: options.robotName ?? DEFAULT_ROBOT_NAME,
      honourRestInterpolation: options.honourRestInterpolation ?? false,
      wallNowMs: options.wallNowMs,
      onMediaReleasedChange: (released) => this.#media?.setReleased(released),
    });
    this.#sdk = new SdkSocket(this.#daemon, this.#logger, this.#faults);
    this.#moveUpdates = new MoveUpdatesSocket(this.#daemon.moves, this.#faults, this.#daemon.clock);
    this.#gateway = new WsGateway(
      [this.#sdk, this.#moveUpdates, new StateFullSocket(this.#daemon, this.#faults), new SetTargetSocket(this.#daemon)],
      { log: this.#log, logger: this.#logger, faults: this.#faults, clock: this.#daemon.clock },
    );
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `${this.#tls ? 'https' : 'http'}://${this.host}:${this.#port}`;
  }

  get wsUrl(): string {
    return `${this.#tls ? 'wss' : 'ws'}://${this.host}:${this.#port}`;
  }

  get signallingUrl(): string | null {
    return this.#media?.url ?? null;
  }

  get media(): SimMediaProducer | null {
    return this.#media?.producer ?? null;
  }

  get authAttempts(): ReadonlyArray<AuthAttempt> {
    return this.#auth.attempts;
  }

  get received(): readonly ReceivedCommand[] {
    return this.#log.entries;
  }

  get running(): boolean {
    return this.#server !== null;
  }

  clearReceived(): void {
    this.#log.clear();
  }

  snapshot(): EmulatorSnapshot {
    const robot = this.#daemon.robot.snapshot();
    return {
      headPose: xyzRpyFromPose(robot.headPose),
      headPoseMatrix: [...robot.headPose],
      headJoints: [...robot.headJoints],
      bodyYaw: robot.bodyYaw,
      antennas: [robot.antennas[0], robot.antennas[1]],
      motorMode: robot.motorMode,
      isMoveRunning: robot.isMoveRunning,
      runningMoves: this.#daemon.moves.running(),
      daemonState: this.#daemon.state,
      backendReady: this.#daemon.backendReady,
      mediaReleased: this.#daemon.mediaReleased,
      playedSounds: [...this.#daemon.playedSounds],
      uploadedSounds: this.#daemon.sounds.list(),
    };
  }

  daemonStatus(): Record<string, unknown> {
    return this.#daemon.status();
  }

  setFault(fault: EmulatorFault): void {
    this.#logger.debug('fault injected', { kind: fault.kind });
    this.#daemon.setFault(fault);
  }

  get faults(): EmulatorFaults {
    return this.#faults;
  }

  get motionRecord(): MotionRecord {
    return this.#daemon.motion;
  }

  get volume(): SimVolume {
    return this.#daemon.volume;
  }

  async start(): Promise<void> {
    if (this.#closed) throw new Error('emulator closed');
    if (this.#server) return;
    const handler = this.#auth.http(createRequestHandler({ daemon: this.#daemon, log: this.#log, logger: this.#logger, faults: this.#faults }));
    const server: Server = this.#tls ? https.createServer({ key: this.#tls.key, cert: this.#tls.cert }, handler) : http.createServer(handler);
    server.on('upgrade', this.#auth.upgrade((request, socket, head: Buffer) => this.#gateway.handleUpgrade(request, socket, head)));
    const socket = this.#socket;
    this.#socket = undefined;
    this.#port = await listenOn(server, socket ? { socket } : { port: this.#port, host: this.host });
    this.#server = server;
    this.#sdk.startPushing();
    try {
      await this.#startMedia();
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.#logger.debug('daemon emulator listening', { url: this.url, signallingUrl: this.signallingUrl });
  }

  async startMediaProducer(): Promise<void> {
    await this.#media?.startProducer();
  }

  /** The media server comes up with the daemon (first start loads the WebRTC stacks lazily, or later when deferred). */
  async #startMedia(): Promise<void> {
    const options = this.#mediaOptions;
    if (!options) return;
    if (this.#media) {
      await this.#media.start();
      return;
    }
    const { EmulatorMedia } = await import('./media/emulator-media.ts');
    const robot = this.#daemon.robot;
    // The camera looks into the world scene from the head's present pose (world frame, §5).
    const camera = { specsName: String(this.#daemon.status().camera_specs_name ?? ''), headRotation: () => rotationOf(robot.snapshot().headPose) };
    this.#media = await EmulatorMedia.start({ host: this.host, port: options.port, ...(options.socket ? { socket: options.socket } : {}), mode: options.mode, released: this.#daemon.mediaReleased, camera, deferProducer: options.deferProducer });
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = null;
    // A dead process resumes nothing: work held by a pause or a reorder window is lost.
    this.#faults.processDied();
    this.#moveUpdates.processDied();
    this.#sdk.processDied();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    this.#gateway.terminateAll();
    await this.#media?.stop();
    await this.#daemon.kill();
    await closed;
    this.#logger.debug('daemon emulator stopped', { port: this.#port });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  acceptConnection(socket: Duplex): boolean {
    if (!this.#server) return false;
    this.#server.emit('connection', socket);
    return true;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.stop();
    this.#closed = true;
    await this.#media?.close();
    await this.#gateway.close();
    this.#daemon.clock.cancelAll();
  }
}

/** Starts the emulator and resolves once it listens. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const emulator = new DaemonEmulator(options);
  await emulator.start();
  return emulator;
}

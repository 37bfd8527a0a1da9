// `/ws/sdk`, the Python SDK's control socket (RM:src/reachy_mini/io/ws_server.py;
// reachy-daemon-api.md §2; fixtures/daemon/ws1.txt, ws2.txt): every client gets every push —
// joint_positions and head_pose each 50 Hz control tick (+ imu_data on the wireless variant),
// daemon_status at 1 Hz, task_progress / recorded_data as they happen — and its frames are run
// as fire-and-forget commands. Paused (fault-injector.ts), it skips the periodic pushes and holds
// event pushes until resume; a push delay fault sends every push late, in order. Each tick's pose
// also goes to the motion record (not a daemon feature). Owns the push loop and the client set;
// what a command does is sdk-commands.ts's and the message shapes are wire-format.ts's.
import type { WebSocket } from 'ws';
import type { Logger } from '../logging/logger.ts';
import { type FaultInjector, OrderedRelease } from './fault-injector.ts';
import { executeSdkCommand, parseSdkFrame } from './sdk-commands.ts';
import type { SimDaemon } from './sim-daemon.ts';
import { headPoseMessage, imuMessage, jointPositionsMessage } from './wire-format.ts';
import type { Admission, WsEndpoint } from './ws-gateway.ts';

/** The backend control loop runs at 50 Hz; each tick publishes joints and pose (§2, §7). */
export const CONTROL_TICK_MS = 20;
/** The daemon's status thread publishes `daemon_status` once per second. */
export const STATUS_PUSH_MS = 1000;
/**
 * Unsent bytes beyond which a slow client misses pushes: the daemon keeps a 100-message queue
 * per client and drops the oldest; 100 of these ~400-byte frames is ~40 KiB.
 */
const MAX_BUFFERED_BYTES = 40 * 1024;

export class SdkSocket implements WsEndpoint {
  readonly path = '/ws/sdk';
  readonly #daemon: SimDaemon;
  readonly #logger: Logger;
  readonly #faults: FaultInjector;
  readonly #clients = new Set<WebSocket>();
  /** Pushes held by the push delay fault, sent in the order they were made. */
  #late: OrderedRelease;

  constructor(daemon: SimDaemon, logger: Logger, faults: FaultInjector) {
    this.#daemon = daemon;
    this.#logger = logger;
    this.#faults = faults;
    this.#late = this.#pushQueue();
  }

  /** The daemon process died: pushes still held are lost (their timers went with its clock). */
  processDied(): void {
    this.#late = this.#pushQueue();
  }

  #pushQueue(): OrderedRelease {
    return new OrderedRelease((ms, fn) => this.#daemon.clock.afterWall(ms, fn));
  }

  /** Arms the 50 Hz and 1 Hz push timers on the daemon clock (cleared when the daemon dies). */
  startPushing(): void {
    this.#daemon.clock.every(CONTROL_TICK_MS, () => this.#controlTick());
    this.#daemon.clock.every(STATUS_PUSH_MS, () => {
      if (this.#clients.size > 0 && !this.#faults.paused) this.#send(this.#daemon.status());
    });
  }

  admit(): Admission {
    return { accept: true };
  }

  connect(socket: WebSocket): void {
    this.#clients.add(socket);
    socket.on('close', () => this.#clients.delete(socket));
  }

  frame(_socket: WebSocket, data: Buffer, isBinary: boolean, receivedAt: number): void {
    if (isBinary) return;
    const raw = data.toString('utf8');
    const command = parseSdkFrame(raw);
    if (!command) {
      this.#logger.debug('sdk frame dropped', { raw: raw.slice(0, 200) });
      return;
    }
    if (!this.#daemon.backendReady) return;
    executeSdkCommand(command, { daemon: this.#daemon, broadcast: (m) => this.broadcast(m), logger: this.#logger, receivedAt });
  }

  /** An event push (task_progress, recorded_data): sent now, or on resume when the daemon is paused. */
  broadcast(message: object): void {
    this.#faults.whenRunning(() => this.#send(message));
  }

  #send(message: object): void {
    const text = JSON.stringify(message);
    this.#late.push(this.#faults.sdkPushDelayMs, () => this.#deliver(text));
  }

  #deliver(text: string): void {
    for (const client of this.#clients) {
      if (client.readyState === client.OPEN && client.bufferedAmount <= MAX_BUFFERED_BYTES) client.send(text);
    }
  }

  #controlTick(): void {
    if (!this.#daemon.backendReady || this.#faults.paused) return;
    // The time a running goto is evaluated at (the snapshot's first step; its IK can take milliseconds).
    const at = this.#daemon.motion.nowMs();
    const snapshot = this.#daemon.robot.snapshot();
    this.#daemon.motion.poseSampled(at, snapshot.headPose, snapshot.bodyYaw, snapshot.antennas);
    if (this.#clients.size === 0) return;
    this.#send(jointPositionsMessage(snapshot));
    this.#send(headPoseMessage(snapshot));
    if (this.#daemon.variant === 'wireless') this.#send(imuMessage(snapshot));
  }
}

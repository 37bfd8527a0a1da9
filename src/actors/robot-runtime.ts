// Composes the robot side of the driver: the daemon adapters (HTTP, /ws/sdk, move updates), the
// child machines (daemon link, power, interlock, lease, motion) with their I/O provided here, and
// the wiring to the root driver machine: child emitted events → root, root `driver.forward`
// commands → children, daemon pushes → machines, reads answered from the adapters' timestamped
// caches. Also owns the safety trail (safety_event + audit) for refusals and interlock/lease
// changes. Decisions stay in the machines; the wire formats stay in the adapters.
import { createActor, fromCallback, fromPromise, type Actor, type InspectionEvent, type Observer } from 'xstate';
import { DaemonHttpClient } from '../adapters/daemon-http.ts';
import { DaemonMoveUpdates } from '../adapters/daemon-move-updates.ts';
import { DaemonSdkSocket } from '../adapters/daemon-sdk-socket.ts';
import type { DaemonStatus } from '../adapters/daemon-wire.ts';
import type { AuditLog } from '../adapters/audit-log.ts';
import type { DaemonTransport } from '../adapters/daemon-transport.ts';
import { DaemonUnavailable, HandlerFailed, messageOf, type RpcFailure } from '../errors.ts';
import { radToDeg } from '../robot/pose-math.ts';
import { createLogger } from '../logging/logger.ts';
import { connectionMachine, type ConnectionMachine } from '../machines/connection.machine.ts';
import { driverMachine, type ChildCommand, type DriverEvent, type DriverMachine, type LeasePolicy, type PrivilegedRpc } from '../machines/driver.machine.ts';
import { interlockMachine, type InterlockMachine } from '../machines/interlock.machine.ts';
import { leaseMachine, type LeaseMachine } from '../machines/lease.machine.ts';
import { motionMachine, type CommandAccepted, type MotionMachine } from '../machines/motion.machine.ts';
import { powerMachine, type PowerMachine } from '../machines/power.machine.ts';
import { isoSeconds } from '../protocol/json-rpc.ts';
import { REALTIME_SETTLE_MS } from '../rpc/robot-functions.ts';
import type { CallerMeta } from '../protocol/json-rpc.ts';
import type { MediaRpcEvent } from '../rpc/media-functions.ts';

const log = createLogger('robot');

/** Daemon wake_up takes ~2.3 s, goto_sleep ~4–5 s (daemon-api §7); the machines add their margins. */
export const WAKE_UP_EXPECTED_MS = 3_000;
export const GOTO_SLEEP_EXPECTED_MS = 5_500;
/** HTTP transport: how often the daemon status is polled (the WebSocket pushes it at 1 Hz). */
export const HTTP_STATUS_POLL_MS = 1_000;
/** `driver_state.current_pose` refresh: 10 Hz is plenty for status readers; 50 Hz would only churn. */
export const POSE_MIRROR_INTERVAL_MS = 100;

export interface RobotRuntimeOptions {
  readonly deviceId: string;
  readonly daemonBaseUrl: string;
  readonly transportMode: 'auto' | 'websocket' | 'http';
  readonly leasePolicy: LeasePolicy;
  readonly leaseTtlS: number;
  readonly privilegedRpc: PrivilegedRpc;
  readonly audit: AuditLog;
  /** Publishes a `safety_event` on the mesh (set once the mesh runtime exists). */
  readonly emitSafetyEvent: (payload: Record<string, unknown>) => void;
  readonly inspect?: Observer<InspectionEvent>;
  /** False with --no-media: the root machine refuses media RPCs (`disabled`). */
  readonly mediaEnabled?: boolean;
  /** Receives media RPCs the root machine accepted (the media runtime; set once it exists). */
  readonly deliverMedia?: (event: MediaRpcEvent) => void;
  /** The byte pipe to the daemon for every adapter (the fault simulation's in-memory one); TCP when absent. */
  readonly daemonTransport?: DaemonTransport;
}

export interface RobotRuntime {
  readonly driver: Actor<DriverMachine>;
  readonly children: { readonly connection: Actor<ConnectionMachine>; readonly power: Actor<PowerMachine>; readonly interlock: Actor<InterlockMachine>; readonly lease: Actor<LeaseMachine>; readonly motion: Actor<MotionMachine> };
  /** For the gate: a refusal is audited and announced as a safety_event. */
  recordRefusal(info: { fn: string; error: RpcFailure; caller: CallerMeta; event: { type: string } }): void;
  /**
   * Points the daemon link at another daemon or transport through the connection machine
   * (link.stop → new adapters → link.start). Interlock, lease, power and motion keep their state.
   */
  retarget(daemonBaseUrl: string, transportMode: RobotRuntimeOptions['transportMode']): Promise<void>;
  readonly daemonBaseUrl: string;
  /** The daemon HTTP client of the current link (swapped by `retarget`). */
  daemonHttp(): DaemonHttpClient;
  stop(): Promise<void>;
}


export function startRobotRuntime(options: RobotRuntimeOptions): RobotRuntime {
  /** The daemon adapters of the current target; swapped whole by `retarget`. */
  interface DaemonLink {
    readonly baseUrl: string;
    readonly http: DaemonHttpClient;
    readonly sdk: DaemonSdkSocket | undefined;
    readonly moves: DaemonMoveUpdates;
    readonly unsubscribe: Array<() => void>;
  }
  const transport = options.daemonTransport ? { transport: options.daemonTransport } : {};
  const openLink = (baseUrl: string, transportMode: RobotRuntimeOptions['transportMode']): DaemonLink => ({
    baseUrl,
    http: new DaemonHttpClient({ baseUrl, ...transport }),
    sdk: transportMode !== 'http' ? new DaemonSdkSocket({ baseUrl, ...transport }) : undefined,
    moves: new DaemonMoveUpdates({ baseUrl, ...transport }),
    unsubscribe: [],
  });
  let link = openLink(options.daemonBaseUrl, options.transportMode);
  const inspect = options.inspect ? { inspect: options.inspect } : {};

  const driver = createActor(driverMachine, {
    systemId: 'driver',
    input: { deviceId: options.deviceId, leasePolicy: options.leasePolicy, leaseTtlS: options.leaseTtlS, privilegedRpc: options.privilegedRpc, mediaEnabled: options.mediaEnabled ?? true },
    ...inspect,
  });
  const toRoot = (event: DriverEvent) => driver.send(event);

  const safety = (kind: string, reason: string, fn: string | null, owner: string | null, extra: Record<string, unknown> = {}) => {
    const snapshot = driver.getSnapshot().context;
    const state = { interlock: snapshot.interlock.state, power: snapshot.power.state, connection: snapshot.connection.state, execution: snapshot.motion.state, lease_owner: snapshot.lease.owner };
    const record = { kind, reason, function: fn, owner, state, ts: isoSeconds(Date.now()), ...extra };
    options.audit.append(record);
    options.emitSafetyEvent(record);
  };

  // --- Daemon status fan-out: root mirror, interlock (daemon error trips it), power (motor mode).
  const onStatus = (status: DaemonStatus) => {
    toRoot({ type: 'daemon.status', status, at: Date.now() });
    interlock.send({ type: 'daemon.state', state: status.state, error: status.error ?? null });
    const mode = status.backend_status?.motor_control_mode;
    if (mode === 'enabled' || mode === 'disabled' || mode === 'gravity_compensation') power.send({ type: 'daemon.motor_mode', mode });
  };

  const connection = createActor(
    connectionMachine.provide({
      actors: {
        probeDaemon: fromPromise<unknown>(async () => {
          const status = await link.http.daemonStatus();
          onStatus(status);
          // The backend's motor mode is in the status; ask directly when it is missing (older daemons).
          if (!status.backend_status?.motor_control_mode) {
            const motors = await link.http.motorsStatus();
            power.send({ type: 'daemon.motor_mode', mode: motors.mode });
          }
          return status;
        }),
        daemonLink: fromCallback(({ sendBack }) => {
          const cleanups: Array<() => void> = [];
          const { sdk, moves } = link;
          if (sdk) {
            cleanups.push(sdk.on('daemon_status', (push) => onStatus(push)));
            cleanups.push(sdk.on('close', (info) => sendBack({ type: 'daemon.lost', reason: `daemon socket closed: ${info.reason}` })));
          } else {
            const timer = setInterval(() => {
              link.http.daemonStatus().then(onStatus, (error: unknown) => sendBack({ type: 'daemon.lost', reason: messageOf(error) }));
            }, HTTP_STATUS_POLL_MS);
            cleanups.push(() => clearInterval(timer));
          }
          cleanups.push(moves.on('close', (info) => sendBack({ type: 'daemon.lost', reason: `move updates closed: ${info.reason}` })));
          return () => {
            for (const cleanup of cleanups) cleanup();
          };
        }),
      },
    }),
    { systemId: 'connection', ...inspect },
  );
  const power = createActor(powerMachine, { systemId: 'power', ...inspect });
  const interlock = createActor(interlockMachine, { systemId: 'interlock', ...inspect });
  const lease = createActor(leaseMachine, { systemId: 'lease', input: { policy: options.leasePolicy, defaultTtlS: options.leaseTtlS }, ...inspect });

  const realtime = async (command: Record<string, unknown>): Promise<CommandAccepted> => {
    const sdk = link.sdk;
    if (sdk) {
      const sent =
        command.op === 'head_target'
          ? sdk.send({ type: 'set_target', head: command.head as number[] })
          : command.op === 'antennas_target'
            ? sdk.send({ type: 'set_antennas', antennas: command.antennas as [number, number] })
            : sdk.send({ type: 'set_body_yaw', body_yaw: command.body_yaw as number });
      if (!sent.ok) throw sent.error;
    } else {
      const body =
        command.op === 'head_target'
          ? { target_head_pose: { m: command.head as number[] } }
          : command.op === 'antennas_target'
            ? { target_antennas: command.antennas as [number, number] }
            : { target_body_yaw: command.body_yaw as number };
      const result = await link.http.setTarget(body as never);
      if (result.status === 'ignored') throw new HandlerFailed({ message: `the daemon ignored the target (${result.reason}): a move is running; stop it or wait` });
    }
    return { uuid: null, expectedDurationMs: REALTIME_SETTLE_MS };
  };

  const stopRunning = async (): Promise<string[]> => {
    const running = await link.http.runningMoves();
    const stopped: string[] = [];
    for (const uuid of running) {
      try {
        await link.http.stopMove(uuid);
        stopped.push(uuid);
      } catch (error) {
        // A move that finished between list and stop answers 500 (daemon quirk): nothing to stop.
        log.debug('stop of a finished move', { uuid, error: messageOf(error) });
      }
    }
    return stopped;
  };

  const motion = createActor(
    motionMachine.provide({
      actors: {
        executeCommand: fromPromise<CommandAccepted, { command: Record<string, unknown>; supersedes: string | null }>(async ({ input }) => {
          const command = input.command;
          if (input.supersedes) await link.http.stopMove(input.supersedes).catch(() => undefined);
          switch (command.op) {
            case 'head_target':
            case 'antennas_target':
            case 'body_yaw_target':
              return await realtime(command);
            case 'goto': {
              const { op: _op, ...body } = command;
              const { uuid } = await link.http.goto(body as never);
              return { uuid, expectedDurationMs: Number(command.duration) * 1000 };
            }
            case 'play':
              if (command.move === 'wake_up') {
                // The daemon's wake_up does not enable the motors (daemon-api §7), and the 1 Hz status
                // may be older than a just-finished goto_sleep: enable every time (idempotent, no snap).
                await link.http.setMotorMode('enabled');
                const { uuid } = await link.http.playWakeUp();
                return { uuid, expectedDurationMs: WAKE_UP_EXPECTED_MS };
              }
              return { uuid: (await link.http.playGotoSleep()).uuid, expectedDurationMs: GOTO_SLEEP_EXPECTED_MS };
            case 'motor_mode':
              await link.http.setMotorMode(command.mode as 'enabled' | 'disabled' | 'gravity_compensation');
              power.send({ type: 'daemon.motor_mode', mode: command.mode as 'enabled' | 'disabled' | 'gravity_compensation' });
              return { uuid: null, expectedDurationMs: 0 };
            default:
              throw new HandlerFailed({ message: `unknown command ${String(command.op)}` });
          }
        }),
        stopMotion: fromPromise<ReadonlyArray<string>, { uuid: string | null }>(async () => await stopRunning()),
      },
    }),
    { systemId: 'motion', ...inspect },
  );

  // --- Children report to the root; interlock and lease changes are part of the safety trail.
  const subscriptions = [
    connection.on('connection.changed', (e) => toRoot(e)),
    power.on('power.changed', (e) => toRoot({ type: 'power.changed', state: e.state })),
    interlock.on('interlock.changed', (e) => {
      toRoot(e);
      safety(e.state === 'tripped' ? 'interlock_tripped' : 'interlock_reset', e.reason ?? '', null, e.owner, { source: e.source });
    }),
    interlock.on('interlock.stop_requested', (e) => toRoot(e)),
    lease.on('lease.changed', (e) => {
      toRoot({ type: 'lease.changed', state: e.state, owner: e.owner, expiresAt: e.expiresAt, reason: e.reason });
      safety(`lease_${e.reason}`, e.detail ?? e.reason, null, e.owner, { expires_at: e.expiresAt / 1000 });
    }),
    motion.on('motion.changed', (e) => toRoot(e)),
    motion.on('motion.accepted', (e) => toRoot(e)),
    motion.on('motion.finished', (e) => toRoot(e)),
    motion.on('motion.failed', (e) => toRoot(e)),
    motion.on('motion.stopped', (e) => toRoot(e)),
    driver.on('driver.forward', ({ command }) => deliver(command)),
    driver.on('driver.read', ({ requestId, function: fn }) => void answerRead(requestId, fn)),
  ];
  let lastPoseAt = 0;
  /** Pushes of the current link that feed the machines: joint stream → pose mirror, move updates. */
  const wireLink = (l: DaemonLink) => {
    if (l.sdk) {
      l.unsubscribe.push(
        l.sdk.on('joint_positions', (push) => {
          const t = Date.now();
          if (t - lastPoseAt < POSE_MIRROR_INTERVAL_MS) return;
          lastPoseAt = t;
          const [right, left] = push.antennas_joint_positions;
          toRoot({
            type: 'pose.update',
            pose: { head_joints_deg: push.head_joint_positions.map(radToDeg), antennas_deg: [radToDeg(left ?? 0), radToDeg(right ?? 0)], body_yaw_deg: radToDeg(push.head_joint_positions[0] ?? 0), read_at: new Date(t).toISOString() },
          });
        }),
      );
    }
    l.unsubscribe.push(
      l.moves.on('move', (update) => {
        if (update.type === 'move_started') return;
        const outcome = update.type === 'move_completed' ? 'completed' : update.type === 'move_failed' ? 'failed' : 'cancelled';
        motion.send({ type: 'daemon.move_done', uuid: update.uuid, outcome, details: update.details });
        power.send({ type: 'daemon.move_done', uuid: update.uuid, outcome, details: update.details });
      }),
    );
  };
  const closeLink = async (l: DaemonLink) => {
    for (const u of l.unsubscribe) u();
    await Promise.all([l.sdk?.close(), l.moves.close(), l.http.close()]);
  };
  wireLink(link);

  function deliver(command: ChildCommand): void {
    switch (command.to) {
      case 'lease':
        lease.send(command.event);
        return;
      case 'interlock':
        interlock.send(command.event);
        return;
      case 'motion':
        motion.send(command.event);
        return;
      case 'power':
        power.send(command.event);
        return;
      case 'media':
        if (options.deliverMedia) options.deliverMedia(command.event);
        else toRoot({ type: 'media.result', requestId: command.event.requestId, ok: false, error: new HandlerFailed({ message: 'no media runtime is running' }) });
        return;
    }
  }

  async function answerRead(requestId: string, fn: string): Promise<void> {
    const reply = (result: unknown) => toRoot({ type: 'read.result', requestId, ok: true, result });
    const fail = (message: string) =>
      toRoot({ type: 'read.result', requestId, ok: false, error: new DaemonUnavailable({ message, connectionState: driver.getSnapshot().context.connection.state }) });
    try {
      if (fn === 'get_imu') {
        const sdk = link.sdk;
        const imu = sdk?.latest('imu_data');
        if (!imu) return fail(sdk ? 'no IMU data received (only the Wireless robot has an IMU)' : 'the IMU is only pushed over the WebSocket transport; http mode has none');
        return reply({ status: 'success', imu: imu.value, read_at: new Date(imu.receivedAt).toISOString(), age_s: imu.ageMs / 1000, stale: imu.stale });
      }
      const joints = link.sdk?.latest('joint_positions');
      if (joints) {
        const head = joints.value.head_joint_positions;
        const [right, left] = joints.value.antennas_joint_positions;
        const bodyYaw = head[0] ?? 0;
        const common = { read_at: new Date(joints.receivedAt).toISOString(), age_s: joints.ageMs / 1000, stale: joints.stale };
        if (fn === 'get_body_yaw') return reply({ status: 'success', yaw_rad: bodyYaw, yaw_deg: radToDeg(bodyYaw), ...common });
        return reply({ status: 'success', head_degrees: head.map(radToDeg), antenna_degrees: [radToDeg(left ?? 0), radToDeg(right ?? 0)], body_yaw_deg: radToDeg(bodyYaw), body_yaw_rad: bodyYaw, ...common });
      }
      // HTTP transport (or no push yet): one state read, fresh by construction.
      const full = await link.http.fullState({ withHeadJoints: true, withBodyYaw: true, withAntennaPositions: true });
      const at = new Date().toISOString();
      const bodyYaw = full.body_yaw ?? 0;
      if (fn === 'get_body_yaw') return reply({ status: 'success', yaw_rad: bodyYaw, yaw_deg: radToDeg(bodyYaw), read_at: at, age_s: 0, stale: false });
      const [right, left] = full.antennas_position ?? [0, 0];
      return reply({ status: 'success', head_degrees: (full.head_joints ?? []).map(radToDeg), antenna_degrees: [radToDeg(left), radToDeg(right)], body_yaw_deg: radToDeg(bodyYaw), body_yaw_rad: bodyYaw, read_at: at, age_s: 0, stale: false });
    } catch (error) {
      fail(messageOf(error));
    }
  }

  for (const actor of [driver, power, interlock, lease, motion, connection]) actor.start();
  connection.send({ type: 'link.start' });
  log.info('robot link starting', { daemon: options.daemonBaseUrl, transport: link.sdk ? 'websocket' : 'http' });

  return {
    driver,
    children: { connection, power, interlock, lease, motion },
    get daemonBaseUrl() {
      return link.baseUrl;
    },
    daemonHttp: () => link.http,
    async retarget(daemonBaseUrl, transportMode) {
      connection.send({ type: 'link.stop' });
      const old = link;
      link = openLink(daemonBaseUrl, transportMode);
      wireLink(link);
      await closeLink(old);
      log.info('robot link retargeted', { daemon: daemonBaseUrl, transport: link.sdk ? 'websocket' : 'http' });
      connection.send({ type: 'link.start' });
    },
    recordRefusal({ fn, error, caller, event }) {
      const owner = caller.sourceDevice ?? ('owner' in event ? String((event as { owner: unknown }).owner) : null);
      safety('refused', error.message, fn, owner, { error_tag: error._tag });
    },
    async stop() {
      for (const s of subscriptions) s.unsubscribe();
      connection.send({ type: 'link.stop' });
      for (const actor of [connection, motion, lease, interlock, power, driver]) actor.stop();
      await closeLink(link);
    },
  };
}

// Composes the driver as ONE actor system: the root driver machine, which spawns its children
// (connection, power, interlock, lease, motion, and the mesh and media logic the other runtimes
// prepared), with the robot children's I/O provided here (the daemon link's probe and live link, the
// motion executor), plus the safety trail, the read answers, `startLink`, `retarget`, the stop an
// apply makes first (`settleForApply`) and shutdown's motion stop. Adapter pushes go to the root,
// which routes them to the children; nothing here keeps a copy of a child's state. Decisions stay
// in the machines, wire formats in the adapters. Design card "one system, one truth"; reference §12.
import { createActor, fromCallback, fromPromise, type Actor, type InspectionEvent, type Observer } from 'xstate';
import type { AuditLog } from '../adapters/audit-log.ts';
import type { DaemonTransport } from '../adapters/daemon-transport.ts';
import type { DaemonAuth } from '../adapters/daemon-auth.ts';
import type { DaemonHttpClient } from '../adapters/daemon-http.ts';
import type { DaemonStatus } from '../adapters/daemon-wire.ts';
import { DaemonUnavailable, InterlockTripped, messageOf, MotionCancelled, StopUnconfirmed, type RpcFailure } from '../errors.ts';
import { createLogger } from '../logging/logger.ts';
import { connectionMachine, type ConnectionEvent } from '../machines/connection.machine.ts';
import { commandLeaseRefusal, powerRefusal, powerView, type DriverChildren, type PrivilegedRpc } from '../machines/driver-policy.ts';
import { driverMachine, type DriverMachine, type ReportEvent } from '../machines/driver.machine.ts';
import type { LeasePolicy } from '../machines/lease.machine.ts';
import type { MediaSessionMachine } from '../machines/media-session.machine.ts';
import type { MeshInput, MeshMachine } from '../machines/mesh.machine.ts';
import { motionMachine, type ExecuteInput } from '../machines/motion.machine.ts';
import type { CallerMeta } from '../protocol/json-rpc.ts';
import { closeDaemonLink, openDaemonLink, statusReport, wireDaemonLink, type DaemonLink, type TransportMode } from './daemon-link.ts';
import { leaveRobot, SHUTDOWN } from './leave-robot.ts';
import { createMotionExecutor } from './motion-executor.ts';
import { daemonLinkNotice, type DaemonLinkNotice } from './daemon-link-notice.ts';
import { answerRobotRead } from './robot-reads.ts';
import { answerDaemonCall, DAEMON_CALLS } from './daemon-calls.ts';
import { startSafetyTrail, type AuditedChange, type SafetyTrail } from './safety-trail.ts';
import type { Envelope, SafetyPolicy } from '../safety/safety-policy.ts';
import { envelopeRefusal } from '../safety/envelope-check.ts';
import type { EstopDecision } from '../safety/d2d-estop.ts';
import type { MediaPolicyMode } from '../safety/media-policy.ts';

const log = createLogger('robot');

/**
 * A stop before an apply (`settleForApply`) or a retarget: done (`leftUnsettled`: why an unreachable
 * robot was left unconfirmed; null when it settled), or refused.
 */
export type SettleResult = { readonly ok: true; readonly leftUnsettled: string | null } | { readonly ok: false; readonly error: StopUnconfirmed };

/** The shutdown stop's outcome: motion settled, or why the robot may still be moving (also audited and logged). */
export type ShutdownStop = { readonly settled: true } | { readonly settled: false; readonly cause: string };

/** HTTP transport: how often the daemon status is polled (the WebSocket pushes it at 1 Hz). */
export const HTTP_STATUS_POLL_MS = 1_000;
/**
 * The link reads `connected` only once its sockets are open too (/ws/sdk carries the realtime
 * targets and the stall signal, move updates the late-move watchdog); a daemon that answers HTTP
 * but not the upgrade within this is treated as down and retried with back-off.
 */
export const SOCKETS_OPEN_TIMEOUT_MS = 3_000;

export interface RobotRuntimeOptions {
  readonly deviceId: string;
  readonly daemonBaseUrl: string;
  readonly transportMode: TransportMode;
  readonly leasePolicy: LeasePolicy;
  readonly leaseTtlS: number;
  readonly privilegedRpc: PrivilegedRpc;
  /** The safety policy in force at start (the root keeps it; set_safety_policy replaces it). */
  readonly policy?: SafetyPolicy;
  readonly audit: AuditLog;
  /** --media-policy: the camera/microphone policy at start (default allow). */
  readonly mediaPolicy?: MediaPolicyMode;
  /** Whether signed callers are verified (--trusted-callers): then an nkey-shaped owner in the audit is a verified caller. */
  readonly callersVerified?: boolean;
  /** Publishes a `safety_event` on the mesh (set once the mesh runtime exists). */
  readonly emitSafetyEvent: (payload: Record<string, unknown>) => void;
  readonly inspect?: Observer<InspectionEvent>;
  /** The mesh child's logic (device-runtime.ts `prepareDeviceRuntime`) and its input. */
  readonly mesh: MeshMachine;
  readonly meshInput: MeshInput;
  /** The media child's logic (media-runtime.ts `prepareMediaRuntime`); absent with --no-media (media RPCs refused, `disabled`). */
  readonly media?: MediaSessionMachine;
  /** How the adapters reach the daemon (default: TCP); the fault simulation passes an in-memory one. */
  readonly daemonTransport?: DaemonTransport;
  /** Bearer token and TLS trust of the daemon (adapters only: never machine context). */
  readonly daemonAuth?: DaemonAuth;
  /** The daemon HTTP lanes' default deadline (default daemon-http DEFAULT_REQUEST_TIMEOUT_MS); tests shorten it. */
  readonly daemonRequestTimeoutMs?: number;
  /** The composition starts the daemon link itself (`startLink`), e.g. once the mesh has answered; by default it starts at once. */
  readonly deferLinkStart?: boolean;
}

export interface RobotRuntime {
  /** The root of the actor system (its children are in its context). */
  readonly driver: Actor<DriverMachine>;
  readonly children: DriverChildren;
  /** For the gate: a refusal is audited and announced as a safety_event. */
  recordRefusal(info: { fn: string; error: RpcFailure; caller: CallerMeta; event: { type: string } }): void;
  /** For the D2D e-stop listener: its decision, audited and announced as a safety_event. */
  recordEstop(decision: EstopDecision): void;
  /** For the gate: an accepted motion command or media capture, audited. */
  recordAccepted(info: Parameters<SafetyTrail['accepted']>[0]): void;
  /** For the gate: a stop that ran with parameters ignored, audited once answered. */
  recordStopAnswered(info: Parameters<SafetyTrail['stopAnswered']>[0]): void;
  /** For the composition: a settings, credentials or configuration change, audited. */
  recordChange(change: AuditedChange): void;
  /** Starts the daemon link (once; nothing after a retarget started it or after stop). */
  startLink(): void;
  /**
   * Points the daemon link at another daemon or transport through the connection machine
   * (link.stop → new adapters → link.start) once motion has settled on the old one (leave-robot.ts);
   * refused with StopUnconfirmed while the old daemon is reachable and has not. Interlock, lease,
   * power and motion keep their state. `settled`: the apply stopped motion already
   * (`settleForApply`) and nothing could command the robot since (the mesh is down): not again.
   */
  retarget(daemonBaseUrl: string, transportMode: TransportMode, settled?: SettleResult & { readonly ok: true }): Promise<SettleResult>;
  /**
   * Before an apply takes a way to stop the robot away (the mesh connection restarts): motion is
   * stopped as stop_motion stops it (by `reconfigure`) and settled (leave-robot.ts), or the answer
   * is StopUnconfirmed (`stays`: what the refusal leaves as it was) while the daemon is reachable and
   * has not settled. An unreachable daemon does not hold the apply back (nothing moves it from here).
   */
  settleForApply(stays: string): Promise<SettleResult>;
  /**
   * The driver is about to stop: stops motion through the root as stop_motion does and waits for it
   * to settle (at most SHUTDOWN_STOP_WAIT_MS, less when the daemon cannot be reached); audited as
   * `shutdown_stop`. From its start every daemon write of a command is refused, so nothing accepted
   * meanwhile moves the robot either. Call it while callers still reach the driver; `stop` after.
   */
  stopMotionForShutdown(): Promise<ShutdownStop>;
  readonly daemonBaseUrl: string;
  /** The media lane of the current link (swapped by `retarget`): media and sound calls, on their own connections. */
  mediaHttp(): DaemonHttpClient;
  stop(): Promise<void>;
}

/**
 * Null when a command may write to the daemon now: interlock safe, fence (`epoch`) not raised, its
 * target inside the envelope in force, link up, the power state still the one it needs and the lease
 * still lets its owner move — the gate's own rules (`envelopeRefusal`, `powerRefusal`,
 * `commandLeaseRefusal`): a ramp or sequence outliving its owner's lease, running into a sleep
 * someone else started or into a narrower envelope, stops writing.
 */
function mayMove(children: DriverChildren, envelope: Envelope, { epoch, owner, power, target }: Pick<ExecuteInput, 'epoch' | 'owner' | 'power' | 'target'>): RpcFailure | null {
  const interlock = children.interlock.getSnapshot();
  if (interlock.value === 'tripped') {
    return new InterlockTripped({ message: `the interlock tripped (${interlock.context.reason ?? 'no reason'}) before the command reached the daemon`, reason: interlock.context.reason ?? '', source: interlock.context.source, trippedBy: interlock.context.owner });
  }
  if (children.motion.getSnapshot().context.epoch !== epoch) return new MotionCancelled({ message: 'a stop or a newer command came first', reason: 'stopped' });
  const outside = envelopeRefusal(envelope, String(target.kind ?? 'motion'), target);
  if (outside) return outside;
  const connection = children.connection.getSnapshot();
  if (connection.value !== 'connected') return new DaemonUnavailable({ message: `the daemon link is ${String(connection.value)}`, connectionState: String(connection.value) });
  return powerRefusal(powerView(children.power), power) ?? commandLeaseRefusal(children.lease.getSnapshot().context, owner);
}

/** A command's daemon write once shutdown began (robot-runtime `closing`). */
function shuttingDown(): DaemonUnavailable {
  return new DaemonUnavailable({ message: 'the driver is shutting down: it sends the daemon no more commands', connectionState: 'closing' });
}

/** The shutdown stop's outcome from `leaveRobot`'s answer: the cause names the daemon, its link state and the last stop error. */
function shutdownStopOutcome(unsettled: string | null, children: DriverChildren, daemon: string): ShutdownStop {
  if (unsettled === null) return { settled: true };
  const link = String(children.connection.getSnapshot().value);
  const lastError = children.motion.getSnapshot().context.lastError;
  return { settled: false, cause: `${unsettled} (daemon ${daemon}, link ${link}${lastError ? `, last motion error: ${lastError}` : ''})` };
}

/** The connection machine's I/O: one probe (status, then both sockets open) and the live link. */
function connectionActors(link: () => DaemonLink, toRoot: (event: ReportEvent) => void, notice: DaemonLinkNotice = daemonLinkNotice()) {
  return {
    probeDaemon: fromPromise<unknown>(async ({ signal }) => {
      const current = link();
      const status = await current.http.daemonStatus().catch((error: unknown) => notice.failed(current.baseUrl, error));
      toRoot(statusReport(status));
      // The backend's motor mode is in the status; ask directly when it is missing (older daemons).
      if (!status.backend_status?.motor_control_mode) toRoot({ type: 'daemon.motor_mode', mode: (await current.http.motorsStatus()).mode });
      const sockets = [current.moves, ...(current.sdk ? [current.sdk] : [])];
      const open = await Promise.all(sockets.map((s) => s.waitOpen(SOCKETS_OPEN_TIMEOUT_MS, signal)));
      if (open.includes(false)) throw new Error(`the daemon answers HTTP but its WebSockets did not open within ${SOCKETS_OPEN_TIMEOUT_MS} ms`);
      notice.connected(current.baseUrl);
      return status;
    }),
    daemonLink: fromCallback<ConnectionEvent>(({ sendBack }) => {
      const cleanups: Array<() => void> = [];
      const { sdk, moves, http } = link();
      if (sdk) {
        cleanups.push(sdk.on('daemon_status', (push) => toRoot(statusReport(push as unknown as DaemonStatus))));
        cleanups.push(sdk.on('close', (info) => sendBack({ type: 'daemon.lost', reason: `daemon socket closed: ${info.reason}` })));
      } else {
        // One poll at a time, the next HTTP_STATUS_POLL_MS after the last answered: a slow daemon
        // never has several polls holding the connections motion needs.
        let stopped = false;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const poll = (): void => {
          http.daemonStatus().then(
            (status) => {
              if (stopped) return;
              toRoot(statusReport(status));
              timer = setTimeout(poll, HTTP_STATUS_POLL_MS);
            },
            (error: unknown) => {
              if (!stopped) sendBack({ type: 'daemon.lost', reason: messageOf(error) });
            },
          );
        };
        timer = setTimeout(poll, HTTP_STATUS_POLL_MS);
        cleanups.push(() => {
          stopped = true;
          clearTimeout(timer);
        });
      }
      cleanups.push(moves.on('close', (info) => sendBack({ type: 'daemon.lost', reason: `move updates closed: ${info.reason}` })));
      // A socket that closed while the probe still waited for the other one closed unheard: the
      // link is not up (it reconnects from the lost state like any other loss).
      const down = [moves, ...(sdk ? [sdk] : [])].find((socket) => !socket.connected);
      if (down) queueMicrotask(() => sendBack({ type: 'daemon.lost', reason: `${down === moves ? 'move updates' : 'daemon socket'} closed while the link was being probed` }));
      return () => {
        for (const cleanup of cleanups) cleanup();
      };
    }),
  };
}

/** The root's input: the device, the access rules and whether media and the mesh take part. */
function rootInput(options: RobotRuntimeOptions) {
  return {
    deviceId: options.deviceId,
    leasePolicy: options.leasePolicy,
    leaseTtlS: options.leaseTtlS,
    privilegedRpc: options.privilegedRpc,
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.mediaPolicy ? { mediaPolicy: options.mediaPolicy } : {}),
    mediaEnabled: options.media !== undefined,
    mesh: options.meshInput,
  };
}

/** Answers the root's `driver.read` requests (robot reads, daemon calls) over the link in use, back as `read.result`. */
function answerReads(driver: Actor<DriverMachine>, link: () => DaemonLink) {
  const lastStatus = (): DaemonStatus | null => (driver.getSnapshot().context.daemonStatus?.value as DaemonStatus | undefined) ?? null;
  return driver.on('driver.read', ({ requestId, function: fn, params }) => {
    const state = String(driver.getSnapshot().context.children.connection.getSnapshot().value);
    const answer = DAEMON_CALLS.has(fn) ? answerDaemonCall(fn, params ?? {}, link(), state) : answerRobotRead(fn, link(), lastStatus(), state);
    void answer.then((a) => driver.send({ type: 'read.result', requestId, ...a }));
  });
}

export function startRobotRuntime(options: RobotRuntimeOptions): RobotRuntime {
  const open = (baseUrl: string, mode: TransportMode) => openDaemonLink(baseUrl, mode, options.daemonTransport, options.daemonAuth, options.daemonRequestTimeoutMs);
  let link = open(options.daemonBaseUrl, options.transportMode);
  const inspect = options.inspect ? { inspect: options.inspect } : {};
  // Declared before use by the closures below; assigned right after.
  let root: Actor<DriverMachine> | undefined;
  // Reports that outlive the root (a sender settling after stop) are dropped, not sent to a stopped actor.
  const toRoot = (event: ReportEvent) => {
    if (root?.getSnapshot().status === 'active') root.send(event);
  };
  const children = (): DriverChildren => (root as Actor<DriverMachine>).getSnapshot().context.children;
  /** Set as shutdown begins: from then on no command writes to the daemon (its stop is the last word). */
  let closing = false;
  let shutdownStop: Promise<ShutdownStop> | undefined;
  const executor = createMotionExecutor({ link: () => link, mayMove: (input) => (closing ? shuttingDown() : mayMove(children(), (root as Actor<DriverMachine>).getSnapshot().context.policy.envelope, input)), report: toRoot, policy: () => (root as Actor<DriverMachine>).getSnapshot().context.policy });
  const logic = driverMachine.provide({
    actors: {
      connection: connectionMachine.provide({ actors: connectionActors(() => link, toRoot) }),
      motion: motionMachine.provide({ actors: executor }),
      mesh: options.mesh,
      ...(options.media ? { media: options.media } : {}),
    },
  });
  const driver = createActor(logic, {
    systemId: 'driver',
    input: rootInput(options),
    ...inspect,
  });
  root = driver;
  const trail = startSafetyTrail(driver, options.audit, options.emitSafetyEvent, options.callersVerified ?? false);
  const subscriptions = [answerReads(driver, () => link)];
  wireDaemonLink(link, toRoot);
  driver.start();
  // Logged when the adapters are made: their sockets start connecting now, the probe at `startLink`.
  log.info('robot link starting', { daemon: options.daemonBaseUrl, transport: link.sdk ? 'websocket' : 'http' });
  let linkStarted = false;
  /** Set by stop(): a retarget still waiting for the old robot to settle then opens nothing. */
  let stopped = false;
  const startLink = () => {
    if (linkStarted || driver.getSnapshot().status !== 'active') return;
    linkStarted = true;
    driver.send({ type: 'link.start' });
  };
  if (!options.deferLinkStart) startLink();
  /** Stops motion and waits for it to settle; refused (StopUnconfirmed, `stays` said) while the daemon is reachable and has not. */
  const settle = async (stays: string): Promise<SettleResult> => {
    const unsettled = await leaveRobot(driver);
    // Stopped while it waited for the robot to settle: nothing to move to (a link opened now would never be closed).
    if (stopped) return { ok: false, error: new StopUnconfirmed({ message: 'the driver stopped before it left the robot', daemon: link.baseUrl, reason: 'driver stopped' }) };
    if (unsettled !== null && children().connection.getSnapshot().value === 'connected') {
      return { ok: false, error: new StopUnconfirmed({ message: `the robot at ${link.baseUrl} has not settled (${unsettled}); ${stays}: apply again once it has stopped`, daemon: link.baseUrl, reason: unsettled }) };
    }
    if (unsettled !== null) log.warn('going on while an unreachable daemon has not confirmed its stop', { daemon: link.baseUrl, why: unsettled });
    return { ok: true, leftUnsettled: unsettled };
  };

  return {
    driver,
    get children() {
      return children();
    },
    get daemonBaseUrl() {
      return link.baseUrl;
    },
    mediaHttp: () => link.media,
    startLink,
    async retarget(daemonBaseUrl, transportMode, already) {
      // Letting go of a robot must not leave it moving unsupervised: stop on the old link first,
      // and stay while it is reachable and has not settled (nothing would watch a late move there).
      const settled = already ?? (await settle('the driver stays on it'));
      if (!settled.ok) return settled;
      driver.send({ type: 'link.stop' });
      const old = link;
      link = open(daemonBaseUrl, transportMode);
      wireDaemonLink(link, toRoot);
      await closeDaemonLink(old);
      log.info('robot link retargeted', { daemon: daemonBaseUrl, transport: link.sdk ? 'websocket' : 'http' });
      linkStarted = true;
      driver.send({ type: 'link.start' });
      return settled;
    },
    settleForApply: settle,
    stopMotionForShutdown() {
      // Once: a second driver stop waits for the same stop.
      if (shutdownStop) return shutdownStop;
      if (driver.getSnapshot().status !== 'active') return Promise.resolve({ settled: false, cause: 'the robot runtime had stopped before motion was stopped' });
      closing = true;
      shutdownStop = leaveRobot(driver, SHUTDOWN).then((unsettled) => {
        const outcome = shutdownStopOutcome(unsettled, children(), link.baseUrl);
        const reason = outcome.settled ? 'motion stopped before the driver stops' : `the driver stops while the robot may still be moving: ${outcome.cause}`;
        trail.change({ kind: 'shutdown_stop', reason, owner: SHUTDOWN.owner, fields: { settled: outcome.settled, ...(outcome.settled ? {} : { cause: outcome.cause }) } });
        if (outcome.settled) log.info('motion stopped before the driver stops', { daemon: link.baseUrl });
        else log.warn('the driver stops while the robot may still be moving', { daemon: link.baseUrl, cause: outcome.cause });
        return outcome;
      });
      return shutdownStop;
    },
    recordRefusal: (info) => trail.refusal(info),
    recordEstop: (decision) => trail.d2dEstop(decision),
    recordAccepted: (info) => trail.accepted(info),
    recordStopAnswered: (info) => trail.stopAnswered(info),
    recordChange: (change) => trail.change(change),
    async stop() {
      stopped = true;
      closing = true;
      for (const s of subscriptions) s.unsubscribe();
      trail.stop();
      driver.send({ type: 'link.stop' });
      driver.stop();
      await closeDaemonLink(link);
    },
  };
}

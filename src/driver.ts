// Starts one driver from the frozen config as one actor system: mesh and media sides prepared over
// option holders, then the robot runtime starts the root machine, which spawns them with the robot
// children; the RPC and supervisor gates sit in front of the root. --sim's daemon emulator runs in its
// own process, so sim runs the same adapters as hardware. Owns start-up order (the mesh answers
// first; the daemon link and emulator start once its first dial has ended, media after), reconfigure
// (holders updated, the root respawns a child; a new identity or broker checked first; motion stopped
// and settled before the mesh or daemon link goes) and shutdown; not argv, exit codes or the sim broker (src/cli.ts).
import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { RateLimiter } from './rpc/rate-limits.ts';
import type { DriverConfig } from './config/config.ts';
import { createLogger } from './logging/logger.ts';
import { natsConnectionOptions } from './adapters/nats-options.ts';
import { openAuditLog, type AuditLog } from './adapters/audit-log.ts';
import { startAuditPublisher, type AuditPublisher } from './adapters/audit-stream.ts';
import type { DaemonTransport } from './adapters/daemon-transport.ts';
import { daemonAuthOf } from './adapters/daemon-auth.ts';
import { DuplicateDeviceId, refuseDuplicateDevice } from './adapters/duplicate-device.ts';
import { unreachableBrokers, type BrokerUnreachable } from './adapters/broker-reach.ts';
import { prepareDeviceRuntime, type DeviceRuntime, type DeviceRuntimeOptions, type PreparedDevice } from './actors/device-runtime.ts';
import { createRpcGate, type GateTarget, type RpcGate } from './actors/rpc-gate.ts';
import { startRobotRuntime, type RobotRuntime, type RobotRuntimeOptions, type SettleResult } from './actors/robot-runtime.ts';
import { auditedWhenAccepted, type AuditedChange } from './actors/safety-trail.ts';
import { createApprovalStage } from './actors/approval-stage.ts';
import { publishApprovalEvents } from './actors/approval-events.ts';
import { startHealthSummary } from './actors/health-summary.ts';
import { d2dEstopListener } from './actors/d2d-estop-listener.ts';
import { callerRefusal } from './safety/caller-allow.ts';
import { createCallerIdentity } from './safety/caller-identity.ts';
import { createReplayFloorWriter, readReplayFloors, replayFloorPath } from './adapters/replay-floor-file.ts';
import { callerHeardMatters, explainRefusal, viewOf } from './machines/driver.machine.ts';
import { availabilityOf } from './machines/driver-state.ts';
import { changedPolicyFields, inEffectAfter, reconfigurePlan, withPolicyKept } from './config/reconfigure-plan.ts';
import { PolicyConflict, RestartRequired, SimulatorInUse, type StopUnconfirmed } from './errors.ts';
import { leaveRobot, unsettledReason } from './actors/leave-robot.ts';
import { oneAtATime } from './one-at-a-time.ts';
import { subjects } from './protocol/subjects.ts';
import { APPROVABLE_FUNCTIONS, eventsFor, functionsFor, SUPERVISOR_FUNCTIONS } from './rpc/catalogue.ts';
import { policyDocument, validatePolicy, type SafetyPolicy } from './safety/safety-policy.ts';
import type { InspectionEvent, Observer } from 'xstate';
import { advertisedFunctions, sameEnvelope } from './safety/advertised-functions.ts';
import { narrowedAxes } from './safety/envelope-view.ts';
import { withConfiguredChanges, type ConfiguredPolicyChange } from './safety/configured-policy-change.ts';
import { ConfigError } from './config/config-error.ts';
import { prepareMediaRuntime, type MediaRuntime, type MediaRuntimeOptions } from './actors/media-runtime.ts';
import { DEFAULT_MONITOR_SETTINGS } from './actors/media-monitors.ts';
import { openMediaLink } from './adapters/media-link/open-media-link.ts';
import { signallingUrl } from './adapters/signalling/signalling-client.ts';
import type { Emulator } from './sim/emulator.ts';
import { prepareEmulatorProcess } from './adapters/emulator-process.ts';
import { DRIVER_VERSION } from './version.ts';

const log = createLogger('driver');

/** At stop, the audit publisher gets this long to send what is unsent (the file keeps the rest for the next start). */
export const AUDIT_STOP_DRAIN_MS = 2_000;

/**
 * A part of an apply left out while the rest was applied: why (`error`) and the settings fields it
 * names, which keep their earlier value in the configuration in effect. SimulatorInUse: the daemon
 * address of a --sim driver. PolicyConflict: the save's safety-policy fields, when the policy in
 * force changed while the apply ran (set_safety_policy) and the change now left an axis with no range.
 */
export interface LeftOut {
  readonly error: SimulatorInUse | PolicyConflict;
  readonly fields: ReadonlyArray<string>;
}

/**
 * The outcome of one apply: what restarted (and the parts left out as `notInEffect`, each kind at
 * most once: everything else was applied), or the refusal (RestartRequired naming the fields that
 * cannot change while the driver runs, PolicyConflict naming the axis a save would leave with no
 * range…; then nothing at all was applied).
 */
export type ReconfigureResult =
  | { readonly ok: true; readonly restarted: ReadonlyArray<'mesh' | 'daemon_link' | 'media'>; readonly notInEffect?: ReadonlyArray<LeftOut> }
  | { readonly ok: false; readonly error: RestartRequired | StopUnconfirmed | DuplicateDeviceId | BrokerUnreachable | PolicyConflict; readonly restarted: ReadonlyArray<never> };

export interface RunningDriver {
  readonly robot: RobotRuntime;
  readonly gate: RpcGate;
  /** The gate of the `.supervisor` subject (trip, reset_interlock, revoke_lease). */
  readonly supervisorGate: RpcGate;
  /** The mesh runtime over the root's `mesh` child (respawned by `reconfigure` when mesh settings change). */
  readonly runtime: DeviceRuntime;
  readonly config: DriverConfig;
  /**
   * Applies a new configuration without restarting the process: restarts only the mesh connection
   * (when identity, brokers, credentials, TLS or discovery changed), retargets the daemon link (when
   * the daemon target or transport changed) and/or restarts media. Safety state (interlock, lease)
   * is kept; of the safety policy only the fields whose configured value changed are changed, on the
   * live policy (a supervisor's run-time changes to the others stay). Compared over the whole
   * configuration: a change that needs a process restart (simulate, no_media, lease policy…)
   * refuses the whole apply, and so does a new device id, tenant or broker where another device
   * already answers with that id (DuplicateDeviceId, unless --replace), and so do brokers (or TLS
   * files, credentials) none of which accept a connection (BrokerUnreachable). Before the mesh connection
   * or the daemon link goes, motion is stopped as stop_motion stops it and waited for to settle
   * (StopUnconfirmed, nothing changed, while the daemon is reachable and has not). A --sim driver keeps its
   * emulator: a new daemon address is left out (`notInEffect`), the rest applied; so is a policy
   * change that conflicts only with what the supervisor set while the apply ran. Applies are serialised.
   */
  reconfigure(next: DriverConfig): Promise<ReconfigureResult>;
  /** Live machine states for the settings app's status panel. */
  statusSnapshot(): Record<string, unknown>;
  /** The --sim emulator when it runs in this process (`simInProcess`: tests read its ground truth); undefined otherwise. */
  readonly emulator: Emulator | undefined;
  /** The media side over the root's `media` child (undefined with --no-media). */
  readonly media: MediaRuntime | undefined;
  /** The audit trail's file and outbox (src/adapters/audit-log.ts). */
  readonly audit: AuditLog;
  /** Sends the audit trail to the broker's stream (src/adapters/audit-stream.ts). */
  readonly auditPublisher: AuditPublisher;
  /** Audits a change made outside the RPC path (the settings app's saves and credential uploads). */
  recordChange(change: AuditedChange): void;
  stop(): Promise<void>;
}

function daemonUrl(c: DriverConfig): string {
  return `${c.daemonTls ? 'https' : 'http'}://${c.daemonHost.includes(':') ? `[${c.daemonHost}]` : c.daemonHost}:${c.daemonPort}`;
}

/** The inspection observers given, fanned out as one (`inspect` takes a single observer). */
function inspectionOf(observers: ReadonlyArray<Observer<InspectionEvent> | undefined>): { inspect?: Observer<InspectionEvent> } {
  const present = observers.filter((o): o is Observer<InspectionEvent> => o !== undefined);
  if (present.length === 0) return {};
  return { inspect: { next: (event) => present.forEach((o) => o.next?.(event)) } };
}

function sameList(a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export interface DriverOverrides {
  readonly messagingUrls?: ReadonlyArray<string>;
  /** Point at an already running daemon (tests pass their own emulator). */
  readonly daemonBaseUrl?: string;
  /** Its signalling server (`ws://…`), with `daemonBaseUrl`. */
  readonly signallingUrl?: string;
  /** The byte pipe to the daemon (the fault simulation's in-memory one, src/sim/in-memory-transport.ts); TCP when absent. */
  readonly daemonTransport?: DaemonTransport;
  /** Prepares the mesh side (default `prepareDeviceRuntime`); the fault simulation keeps it off NATS. */
  readonly prepareDeviceRuntime?: typeof prepareDeviceRuntime;
  /** Period of the one-line health summary (default HEALTH_SUMMARY_INTERVAL_MS); tests shorten it. */
  readonly healthIntervalMs?: number;
  /** The RPC gates' wait for a function without its own (default rpc-gate DEFAULT_OUTCOME_TIMEOUT_MS); tests shorten it. */
  readonly gateOutcomeTimeoutMs?: number;
  /** The mesh's per-attempt broker connect timeout (default nats-options CONNECT_TIMEOUT_MS); tests of a hung broker shorten it. */
  readonly natsConnectTimeoutMs?: number;
  /** The start-up duplicate-id probe's dial of each broker (default duplicate-device DUPLICATE_PROBE_CONNECT_TIMEOUT_MS); tests of a hung broker shorten it. */
  readonly duplicateProbeConnectTimeoutMs?: number;
  /** The default deadline of every daemon HTTP call (default daemon-http DEFAULT_REQUEST_TIMEOUT_MS); tests of a late daemon shorten it. */
  readonly daemonRequestTimeoutMs?: number;
  /** The --inspect relay's retry after a failed dial (default inspector-relay-watch INSPECTOR_RETRY_MS); tests shorten it. */
  readonly inspectorRetryMs?: number;
  /** How long stop lets the audit publisher send what is unsent (default AUDIT_STOP_DRAIN_MS); tests that never reach a broker shorten it. */
  readonly auditStopDrainMs?: number;
  /** Another inspection observer of the actor system (the settings app's live view), next to `--inspect`. */
  readonly inspect?: Observer<InspectionEvent>;
  /**
   * Run --sim's emulator in this process, where a test can read its ground truth and inject faults
   * (`RunningDriver.emulator`). By default it runs in its own process, like a robot's daemon.
   */
  readonly simInProcess?: boolean;
}

/**
 * What the driver needs of its --sim emulator, in this process or in its own
 * (src/adapters/emulator-process.ts): its addresses at once, `launch` as the daemon link starts
 * (the process is forked then, off the path to the first answer), `serving` once it answers.
 */
export type SimTarget = Pick<Emulator, 'host' | 'url' | 'signallingUrl' | 'startMediaProducer' | 'close'> & { readonly serving: Promise<void>; launch(): void };

/**
 * The --sim emulator (none against a daemon URL the caller gives). Its media producer (the native
 * WebRTC stacks) waits until the mesh answers: see `mediaStart`.
 */
async function startSimTarget(config: DriverConfig, overrides: DriverOverrides): Promise<{ readonly target: SimTarget; readonly inProcess: Emulator | undefined } | undefined> {
  if (!config.sim || overrides.daemonBaseUrl) return undefined;
  const options = { timeScale: config.simTimeScale, model: config.simModel, withMedia: !config.noMedia, deferMediaProducer: true };
  if (!overrides.simInProcess) return { target: await prepareEmulatorProcess({ ...options, logLevel: config.logLevel }), inProcess: undefined };
  const { startEmulator } = await import('./sim/emulator.ts');
  const emulator = await startEmulator(options);
  // Already serving: nothing to launch.
  const target: SimTarget = { host: emulator.host, url: emulator.url, signallingUrl: emulator.signallingUrl, serving: Promise.resolve(), launch: () => undefined, startMediaProducer: () => emulator.startMediaProducer(), close: () => emulator.close() };
  return { target, inProcess: emulator };
}

/** What the media options take from the running driver (read when used). */
type MediaWiring = Pick<MediaRuntimeOptions, 'daemon' | 'audioSwitches' | 'toRoot' | 'emitEvent'>;

/** The media options against the emulator's signalling server (--sim) or the robot's port 8443. */
export function mediaOptions(config: DriverConfig, daemonApiUrl: string, emulator: SimTarget | undefined, overrides: DriverOverrides, wiring: MediaWiring): MediaRuntimeOptions {
  const url = overrides.signallingUrl ?? emulator?.signallingUrl ?? signallingUrl(config.signallingHost, config.signallingPort);
  const parsed = new URL(url);
  return {
    signallingUrl: url,
    signallingHost: parsed.hostname.replace(/^\[|\]$/g, ''),
    signallingPort: Number(parsed.port),
    openLink: openMediaLink,
    daemonHost: emulator ? emulator.host : config.daemonHost,
    daemonApiUrl,
    target: config.sim ? 'simulated' : config.daemonHost,
    soundsDir: config.soundsDir,
    allowOversizeRaw: config.allowOversizeRaw,
    monitors: { ...DEFAULT_MONITOR_SETTINGS, ...config.monitors },
    ...wiring,
  };
}

/** A gate target that reaches the root once it exists (the gates are built before the root spawns the mesh that uses them). */
function lateTarget(root: () => RobotRuntime['driver']): GateTarget {
  return {
    getSnapshot: () => root().getSnapshot(),
    send: (event) => root().send(event),
    on: (type, handler) => root().on(type, handler as never),
  };
}

/**
 * The configured policy, its function names checked against this device's catalogue (a ConfigError
 * otherwise). The settings app calls it right after loading a configuration, so an apply is refused
 * like any other unusable setting instead of failing half-way through `reconfigure`.
 */
export function startPolicy(config: DriverConfig): SafetyPolicy {
  const checked = validatePolicy(policyDocument(config.safetyPolicy), APPROVABLE_FUNCTIONS);
  if (!checked.ok) throw new ConfigError(checked.error.message.replace(/^Invalid policy: /, 'safety policy: '));
  return config.safetyPolicy;
}

/**
 * The latest the media session waits for the mesh's first dial: a healthy dial ends in 50–300 ms,
 * but one to a broker that silently drops packets lasts its connect timeout (5 s per server), and
 * the camera should not wait for the mesh that long.
 */
export const MEDIA_START_LATEST_MS = 2_000;

/**
 * The latest the daemon link waits for the mesh's first dial (see `firstDialEnded`): long enough
 * for a healthy dial (50–300 ms), short enough that the robot's state is mirrored within half a
 * second of start even when the broker is unreachable.
 */
export const DAEMON_LINK_START_LATEST_MS = 500;

/**
 * After the mesh's first dial, the daemon link waits this long before it starts. Presence goes out
 * on connect, and the first calls of agents that saw it are answered before the daemon client loads
 * (undici: ~25 ms with the event loop blocked). Spawn → first answer measured 190 → 159–165 ms with
 * 20–100 ms here; the robot's state is mirrored that much later, which nothing waits for (motion
 * is refused until the link is up).
 */
export const DAEMON_LINK_SETTLE_MS = 50;

/** Resolves once the mesh's first dial has ended (connected, or failed and retrying), at the latest after `latestMs`. */
async function firstDialEnded(mesh: DeviceRuntime, latestMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([mesh.dialed(), new Promise<void>((resolve) => (timer = setTimeout(resolve, latestMs)))]);
  clearTimeout(timer);
}

/**
 * When the media session starts: once the mesh's first dial has ended (at the latest after
 * MEDIA_START_LATEST_MS), so loading node-datachannel does not hold up the first answers; with
 * --sim, after the emulator's producer (libwebrtc, FFmpeg; in the emulator's process unless a test
 * keeps it here) is up. A producer that cannot start is logged and the session starts anyway (it
 * then reports no producer and retries, as with a robot).
 */
async function mediaStart(mesh: DeviceRuntime, emulator: SimTarget | undefined): Promise<void> {
  await firstDialEnded(mesh, MEDIA_START_LATEST_MS);
  // Each load blocks the event loop while it runs: calls already received are answered between them.
  await yieldToEventLoop();
  await emulator?.startMediaProducer().catch((error: unknown) => {
    log.error('the emulator media producer did not start', { error: error as Error });
  });
  await yieldToEventLoop();
}

/** How the mesh of `config` connects to `servers` (its brokers, credentials and TLS files). */
function connectionOptionsOf(config: DriverConfig, servers: ReadonlyArray<string>, connectTimeoutMs?: number) {
  return natsConnectionOptions({ servers, name: `reachy-mini-driver ${config.deviceId}`, credentials: config.credentials, tls: config.tls, ...(connectTimeoutMs === undefined ? {} : { connectTimeoutMs }) });
}

/** Throws DuplicateDeviceId when another device answers as `config`'s id on `servers` (warns and goes on with --replace). */
function refuseDuplicateOn(config: DriverConfig, servers: ReadonlyArray<string>, probeConnectTimeoutMs?: number): Promise<void> {
  return refuseDuplicateDevice(connectionOptionsOf(config, servers), config.tenant, config.deviceId, config.replace, probeConnectTimeoutMs);
}

export async function startDriver(config: DriverConfig, overrides: DriverOverrides = {}): Promise<RunningDriver> {
  // Refused before anything starts when another device already serves this id (issue 10 item 3);
  // a mesh side prepared by the caller (the fault simulation's) is not on NATS: nothing to ask.
  if (!overrides.prepareDeviceRuntime) await refuseDuplicateOn(config, overrides.messagingUrls ?? config.messagingUrls, overrides.duplicateProbeConnectTimeoutMs);
  const sim = await startSimTarget(config, overrides);
  try {
    return await composeDriver(config, overrides, sim);
  } catch (error) {
    // A start refused past this point (a policy naming unknown functions…) leaves no emulator behind.
    await sim?.target.close();
    throw error;
  }
}

/** Launches the --sim emulator (when there is one) and resolves once it serves or could not start. */
async function launchedSim(emulator: SimTarget | undefined): Promise<void> {
  emulator?.launch();
  await emulator?.serving.catch(() => undefined);
}

/** What the closures made during composition read late: the parts built after them, and what an apply replaces. */
interface Held {
  robot: RobotRuntime | undefined;
  mesh: DeviceRuntime | undefined;
  /** The configuration in force (the last start or successful apply). */
  config: DriverConfig;
  /** The brokers the mesh dials: the configured ones, or the private --sim broker's. */
  servers: ReadonlyArray<string>;
}

function rootOf(held: Held): RobotRuntime['driver'] {
  return (held.robot as RobotRuntime).driver;
}

/** The verifier of signed callers, with the replay floors the last run kept (src/adapters/replay-floor-file.ts). */
function callerIdentityOf(config: DriverConfig) {
  const path = replayFloorPath(config.configDir, config.tenant, config.deviceId);
  const restoredFloors = readReplayFloors(path, Date.now());
  return createCallerIdentity({ trusted: config.trustedCallers, requireSigned: config.requireSignedCallers, restoredFloors, onAheadAccepted: createReplayFloorWriter(path, restoredFloors) });
}

/** The gate of every RPC and the `.supervisor` subject's, in front of the root; one caller verifier and replay cache for both (--trusted-callers). */
function createGates(config: DriverConfig, functions: ReturnType<typeof functionsFor>, held: Held, gateOutcomeTimeoutMs?: number) {
  const root = () => rootOf(held);
  const identity = config.trustedCallers.length > 0 ? callerIdentityOf(config) : undefined;
  const identify = identity ? { identify: identity.identify, witness: identity.witness } : {};
  const waits = gateOutcomeTimeoutMs === undefined ? {} : { defaultOutcomeTimeoutMs: gateOutcomeTimeoutMs };
  const onAccepted = (info: Parameters<RobotRuntime['recordAccepted']>[0]) => (auditedWhenAccepted(info.fn, info.caller) ? held.robot?.recordAccepted(info) : undefined);
  const gate = createRpcGate({
    functions,
    target: lateTarget(root),
    explainRefusal,
    ...identify,
    ...waits,
    onRefusal: (info) => held.robot?.recordRefusal(info),
    onAccepted,
    onStopAnswered: (info) => held.robot?.recordStopAnswered(info),
    callerRefusal: ({ fn, labels, event, caller }) => callerRefusal(held.config.rpcAllow, fn, labels, caller, event),
    rateLimiter: new RateLimiter(() => root().getSnapshot().context.policy.rate_limits),
    onCall: (who) => held.robot && callerHeardMatters(held.robot.driver.getSnapshot().context, who) && held.robot.driver.send({ type: 'caller.heard', who }),
    hold: createApprovalStage(root),
  });
  const supervisorGate = createRpcGate({ functions: SUPERVISOR_FUNCTIONS, target: lateTarget(root), explainRefusal, ...identify, ...waits, onRefusal: (info) => held.robot?.recordRefusal(info), onAccepted, onStopAnswered: (info) => held.robot?.recordStopAnswered(info) });
  return { gate, supervisorGate, callersVerified: identity !== undefined };
}

/** What the mesh side's options are made from besides the configuration. */
interface MeshParts {
  readonly functions: ReturnType<typeof functionsFor>;
  readonly events: ReturnType<typeof eventsFor>;
  readonly gate: RpcGate;
  readonly supervisorGate: RpcGate;
  /** The policy at start, advertised until the root exists. */
  readonly policy: SafetyPolicy;
  readonly held: Held;
  /** DriverOverrides.natsConnectTimeoutMs. */
  readonly natsConnectTimeoutMs?: number;
}

function meshOptionsFor(c: DriverConfig, brokers: ReadonlyArray<string>, { functions, events, gate, supervisorGate, policy, held, natsConnectTimeoutMs }: MeshParts): DeviceRuntimeOptions {
  const root = () => rootOf(held);
  return {
    deviceId: c.deviceId,
    tenant: c.tenant,
    discoveryMode: c.discoveryMode,
    deviceTtlS: c.deviceTtlS,
    registerTimeoutMs: c.registerTimeoutS * 1000,
    registerJitterMs: c.registerJitterS * 1000,
    connectionOptions: connectionOptionsOf(c, brokers, natsConnectTimeoutMs),
    functions,
    // Advertised under the envelope in force (re-advertised when a policy change alters it).
    advertised: () => advertisedFunctions(functions, held.robot ? root().getSnapshot().context.policy : policy),
    events,
    gate,
    supervisorGate,
    // Subscribed only when DEVICE_CONNECT_ESTOP_ALLOW names devices: tenant-scoped credentials may not read other devices' events.
    ...(c.estopAllow.length > 0 ? { onEmergencyStop: d2dEstopListener({ allow: () => held.config.estopAllow, selfId: () => held.config.deviceId, trip: (e) => root().send(e), record: (d) => held.robot?.recordEstop(d) }) } : {}),
    status: () => ({ availability: availabilityOf(viewOf(root().getSnapshot().context).motion.state) }),
    version: DRIVER_VERSION,
  };
}

/** What an apply acts on; the two restarts replace the options their side reads before restarting it. */
interface Applying {
  readonly held: Held;
  readonly started: RobotRuntime;
  readonly meshRuntime: DeviceRuntime;
  readonly media: MediaRuntime | undefined;
  /** The mesh options made from `next` and these brokers, then the root respawns its (stopped) mesh child. */
  readonly respawnMesh: (next: DriverConfig, servers: ReadonlyArray<string>) => void;
  readonly restartMedia: (next: DriverConfig) => void;
  /** Whether a new connection is checked to reach a broker, and a new identity or broker for a device already answering (not for a mesh side off NATS). */
  readonly checksDuplicates: boolean;
}

/** The brokers the mesh dials under `next`: the private --sim broker stays in use while the configured URLs are unchanged. */
function serversFor(next: DriverConfig, held: Held): ReadonlyArray<string> {
  return sameList(next.messagingUrls, held.config.messagingUrls) ? held.servers : next.messagingUrls;
}

/** What refuses an apply once it has begun (RestartRequired is decided from the plan alone). */
type ApplyRefusal = DuplicateDeviceId | BrokerUnreachable | StopUnconfirmed | PolicyConflict;

/** The audit fields that say what a refusal was about. */
function refusalFields(error: ApplyRefusal): Record<string, unknown> {
  switch (error._tag) {
    case 'BrokerUnreachable':
      return { brokers: error.brokers, cause: error.cause };
    case 'DuplicateDeviceId':
      return { device_id: error.deviceId, tenant: error.tenant };
    case 'StopUnconfirmed':
      return { daemon: error.daemon };
    case 'PolicyConflict':
      return { axis: error.axis, set_by: error.set_by };
  }
}

/** An apply refused with `error`: logged, audited (with the state after), nothing changed. */
function refused(started: RobotRuntime, error: ApplyRefusal): ReconfigureResult {
  log.warn('configuration not applied', { error: error.message });
  started.recordChange({ kind: 'reconfigure_refused', reason: error.message, owner: 'settings', fields: { error_tag: error._tag, ...refusalFields(error) } });
  return { ok: false, error, restarted: [] };
}

/**
 * Takes the mesh down for an apply, never leaving the robot moving with no way to stop it: motion
 * is stopped (as stop_motion) and settled first — StopUnconfirmed, the mesh untouched, while the
 * daemon is reachable and has not settled — then the mesh drains. A command that came in between
 * (after that stop, before the mesh stopped taking calls) is stopped too.
 */
async function meshDown({ started, meshRuntime }: Applying): Promise<SettleResult> {
  const settled = await started.settleForApply('the mesh connection stays as it is');
  if (!settled.ok) return settled;
  await meshRuntime.stop();
  const motion = started.driver.getSnapshot().context.children.motion.getSnapshot();
  if (settled.leftUnsettled === null && unsettledReason(motion, Date.now()) !== null) {
    log.warn('a command reached the robot while the mesh drained for an apply: stopped too');
    await leaveRobot(started.driver);
  }
  return settled;
}

/** What `duplicateCheck` found: the refusal (the mesh as it was), or go on (`down`: the mesh already taken down for the probe). */
type DuplicateCheck = { readonly refusal: DuplicateDeviceId | StopUnconfirmed; readonly down?: undefined } | { readonly refusal?: undefined; readonly down: SettleResult | undefined };

/**
 * Before an apply moves the mesh to another device id, tenant or broker: is a device already
 * answering there with that id (issue 10 item 3, as at start)? With the same identity on other
 * brokers, our own mesh could answer through a shared cluster, so it is taken down first
 * (`meshDown`: motion stopped and settled) and brought back as it was when the apply is refused here.
 */
async function duplicateCheck(next: DriverConfig, applying: Applying): Promise<DuplicateCheck> {
  const { held } = applying;
  const current = held.config;
  const sameIdentity = next.deviceId === current.deviceId && next.tenant === current.tenant;
  if (sameIdentity && sameList(next.messagingUrls, current.messagingUrls)) return { down: undefined };
  const down = sameIdentity ? await meshDown(applying) : undefined;
  if (down && !down.ok) return { refusal: down.error };
  try {
    await refuseDuplicateOn(next, serversFor(next, held));
    return { down };
  } catch (error) {
    // Anything else (the probe says it never throws) is thrown, the mesh back as it was first.
    if (down) applying.respawnMesh(current, held.servers);
    if (error instanceof DuplicateDeviceId) return { refusal: error };
    throw error;
  }
}

/** What the apply would do to the policy in force now (src/safety/configured-policy-change.ts): the new policy, or PolicyConflict. */
function policyChangeOf(started: RobotRuntime, current: DriverConfig, next: DriverConfig): ConfiguredPolicyChange {
  const { policy, envelopeSetBy } = started.driver.getSnapshot().context;
  return withConfiguredChanges(policy, current.safetyPolicy, startPolicy(next), envelopeSetBy);
}

/** A policy change that conflicts only now, the rest of the apply done: the range in force was changed while the apply ran. */
function lateConflict(error: PolicyConflict): PolicyConflict {
  const { axis, saved, in_force: inForce, set_by: setBy } = error;
  const message = `safety policy not changed, the rest of the settings applied: while the apply ran, ${axis} in force became [${inForce.min}, ${inForce.max}] (set by ${setBy}), which leaves no range with the saved [${saved.min}, ${saved.max}]; the saved safety-policy fields are not in effect: save a range that overlaps the one in force, or have the supervisor widen it with set_safety_policy, then apply again`;
  return new PolicyConflict({ message, axis, saved, in_force: inForce, set_by: setBy });
}

/**
 * The safety-policy change, decided again on the policy in force at this moment (the supervisor may
 * have changed it while the daemon link or mesh moved), sent through the root like set_safety_policy
 * so it is audited as policy_changed with before and after; nothing is sent when no value in force
 * changes. Answers the paths whose value in force changed. If it now conflicts, the policy stays as
 * it is (never widened), the refusal is audited, and it is answered as the part left out.
 */
function applyPolicyChange(started: RobotRuntime, current: DriverConfig, next: DriverConfig): { readonly fields: ReadonlyArray<string>; readonly leftOut?: LeftOut } {
  const change = policyChangeOf(started, current, next);
  if (!change.ok) {
    const error = lateConflict(change.error);
    const fields = changedPolicyFields(current, next);
    log.warn('safety-policy change not applied; the rest of the configuration is', { error: error.message });
    started.recordChange({ kind: 'reconfigure_refused', reason: error.message, owner: 'settings', fields: { error_tag: error._tag, axis: error.axis, set_by: error.set_by, saved: error.saved, in_force: error.in_force, not_in_effect: fields } });
    return { fields: [], leftOut: { error, fields } };
  }
  if (change.fields.length === 0) return { fields: [] };
  started.driver.send({ type: 'supervisor.set_safety_policy', requestId: randomUUID(), policy: change.policy, reason: `settings applied: ${change.fields.join(', ')}`, owner: 'settings' });
  return { fields: change.fields };
}

/** One apply: refused whole when a field needs a restart, else only the parts that changed restart (a --sim driver's daemon address left out). */
async function applyConfig(next: DriverConfig, applying: Applying): Promise<ReconfigureResult> {
  const { held, started, media, respawnMesh, restartMedia } = applying;
  const plan = reconfigurePlan(held.config, next);
  const after = inEffectAfter(held.config, next);
  if (plan.restartRequired.length > 0) {
    const error = new RestartRequired({ message: `restart required: ${plan.restartRequired.join(', ')} cannot change while the driver runs (saved settings take effect at the next start)`, fields: plan.restartRequired });
    log.warn('configuration not applied', { restart_required: plan.restartRequired.join(',') });
    started.recordChange({ kind: 'reconfigure_refused', reason: error.message, owner: 'settings', fields: { restart_required: plan.restartRequired } });
    return { ok: false, error, restarted: [] };
  }
  // A save that would leave an envelope axis with no range: refused before anything changes.
  const policyCheck = plan.policy ? policyChangeOf(started, held.config, next) : undefined;
  if (policyCheck && !policyCheck.ok) return refused(started, policyCheck.error);
  // The mesh goes down before anything else changes, once motion has settled (the mesh is the way
  // to stop the robot); brokers that cannot be reached, or another device with the new id where it
  // goes, refuse the apply first.
  let down: SettleResult | undefined;
  if (plan.mesh) {
    const unreachable = plan.connection && applying.checksDuplicates ? await unreachableBrokers(connectionOptionsOf(next, serversFor(next, held))) : undefined;
    if (unreachable) return refused(started, unreachable);
    const check = applying.checksDuplicates ? await duplicateCheck(next, applying) : { down: undefined };
    if (check.refusal) return refused(started, check.refusal);
    down = check.down ?? (await meshDown(applying));
    if (!down.ok) return refused(started, down.error);
  }
  const restarted: Array<'mesh' | 'daemon_link' | 'media'> = [];
  let leftUnsettled = down?.ok ? down.leftUnsettled : null;
  // The robot next: a refusal to leave it (not settled) leaves everything as it was (the mesh back).
  if (plan.daemonLink) {
    // A --sim driver's link goes on to its own emulator (only the transport can change there).
    const retargeted = await started.retarget(held.config.sim ? started.daemonBaseUrl : daemonUrl(next), next.transportMode, down?.ok ? down : undefined);
    if (!retargeted.ok) {
      if (plan.mesh) respawnMesh(held.config, held.servers);
      return refused(started, retargeted.error);
    }
    leftUnsettled = retargeted.leftUnsettled;
  }
  const policyChange = plan.policy ? applyPolicyChange(started, held.config, next) : { fields: [] };
  // What runs now: a policy change left out keeps the configured policy it could not replace.
  const inEffect = policyChange.leftOut ? withPolicyKept(after, held.config) : after;
  if (plan.mesh) {
    const nextServers = serversFor(next, held);
    respawnMesh(next, nextServers);
    held.servers = nextServers;
    restarted.push('mesh');
  }
  if (plan.daemonLink) restarted.push('daemon_link');
  // Media follows the robot (signalling host and port) and its own settings.
  if (media && plan.media) {
    restartMedia(inEffect);
    restarted.push('media');
  }
  held.config = inEffect;
  const leftOut = [simulatorInUse(plan.simIgnored), policyChange.leftOut].filter((one): one is LeftOut => one !== undefined);
  return applied(started, { restarted, policyChanged: policyChange.fields.length > 0, leftOut, leftUnsettled, stoppedMotion: plan.mesh || plan.daemonLink });
}

/**
 * An apply done: logged, audited as `reconfigured` (with the parts left out, `not_in_effect` naming
 * their fields; `stopped_motion` when it stopped motion before moving the mesh or the daemon link,
 * the record's state being the one after), answered.
 */
function applied(started: RobotRuntime, outcome: { readonly restarted: Array<'mesh' | 'daemon_link' | 'media'>; readonly policyChanged: boolean; readonly leftOut: ReadonlyArray<LeftOut>; readonly leftUnsettled: string | null; readonly stoppedMotion: boolean }): ReconfigureResult {
  const { restarted, leftOut, leftUnsettled } = outcome;
  const notInEffect = [...new Set(leftOut.flatMap((one) => one.fields))];
  log.info('configuration applied', { restarted: restarted.join(',') || 'nothing', ...(leftOut.length > 0 ? { not_in_effect: notInEffect.join(',') } : {}) });
  // `error_tag` names the first part left out (as before there could be two); `left_out` each, with its fields.
  const noted = leftOut.length > 0 ? { not_in_effect: notInEffect, error_tag: leftOut[0]!.error._tag, left_out: leftOut.map(({ error, fields }) => ({ error_tag: error._tag, fields })) } : {};
  started.recordChange({ kind: 'reconfigured', reason: 'configuration applied', owner: 'settings', fields: { restarted, policy_changed: outcome.policyChanged, ...(outcome.stoppedMotion ? { stopped_motion: true } : {}), ...noted, ...(leftUnsettled ? { left_unsettled: leftUnsettled } : {}) } });
  return leftOut.length > 0 ? { ok: true, restarted, notInEffect: leftOut } : { ok: true, restarted };
}

/** The daemon address a --sim driver left out of an apply (it always uses its emulator), as a part left out; none when nothing was. */
function simulatorInUse(fields: ReadonlyArray<string>): LeftOut | undefined {
  if (fields.length === 0) return undefined;
  const message = `not in effect: ${fields.join(', ')} names a daemon, but this driver runs on its embedded emulator (--sim or simulate) and always uses it; a daemon address takes effect when the driver starts without simulation`;
  return { error: new SimulatorInUse({ message, fields }), fields };
}

/** The settings app's status panel: each side's state and since when, read from the children's snapshots now. */
function statusSnapshotOf({ held, started, meshRuntime, media, audit, auditPublisher }: Pick<Applying, 'held' | 'started' | 'meshRuntime' | 'media'> & { audit: AuditLog; auditPublisher: AuditPublisher }): Record<string, unknown> {
  const view = viewOf(started.driver.getSnapshot().context);
  const current = held.config;
  return {
    mesh: { state: view.mesh.state, since: new Date(view.mesh.since).toISOString(), device_id: current.deviceId, tenant: current.tenant, brokers: held.servers, registrations: meshRuntime.registrationCount() },
    daemon_link: { state: view.connection.state, since: new Date(view.connection.since).toISOString(), daemon: started.daemonBaseUrl, transport: current.transportMode, last_error: view.connection.lastError },
    power: view.power.state,
    interlock: { state: view.interlock.state, reason: view.interlock.reason },
    lease: { owner: view.lease.owner, expires_at: view.lease.expiresAt / 1000, policy: view.lease.policy },
    execution: view.motion.state,
    media: media ? { state: view.media.state, since: new Date(view.media.since).toISOString(), last_error: view.media.lastError, codec: media.link?.videoCodec ?? null } : { state: 'disabled' },
    last_error: view.motion.lastError || view.connection.lastError || null,
    safety_envelope: narrowedAxes(view.policy.envelope),
    audit: { delivery: auditPublisher.delivery, last_seq: audit.lastSeq, unsent: audit.lastSeq - audit.ackedSeq, file: audit.path ?? null },
  };
}

/** The robot runtime's options from the configuration; its media logic and inspection are added by the caller. */
function robotOptionsOf(config: DriverConfig, parts: { daemonBaseUrl: string; policy: SafetyPolicy; audit: AuditLog; callersVerified: boolean; held: Held; device: PreparedDevice; overrides: DriverOverrides }): RobotRuntimeOptions {
  const { held, device, overrides } = parts;
  return {
    deviceId: config.deviceId,
    daemonBaseUrl: parts.daemonBaseUrl,
    transportMode: config.transportMode,
    leasePolicy: config.leasePolicy,
    leaseTtlS: config.leaseTtlS,
    privilegedRpc: config.privilegedRpc,
    policy: parts.policy,
    audit: parts.audit,
    mediaPolicy: config.mediaPolicy,
    callersVerified: parts.callersVerified,
    emitSafetyEvent: (payload) => held.mesh?.emitEvent('safety_event', payload),
    mesh: device.logic,
    meshInput: device.input(),
    ...(overrides.daemonTransport ? { daemonTransport: overrides.daemonTransport } : {}),
    ...(overrides.daemonRequestTimeoutMs !== undefined ? { daemonRequestTimeoutMs: overrides.daemonRequestTimeoutMs } : {}),
    daemonAuth: daemonAuthOf(config.daemonToken, config.daemonCaFile),
    deferLinkStart: true,
  };
}

/** A new envelope changes the advertised ranges: the mesh registers and announces again (connection kept). */
function readvertiseOnEnvelopeChange(started: RobotRuntime, meshRuntime: DeviceRuntime): void {
  started.driver.on('policy.changed', (e) => {
    if (sameEnvelope(e.before.envelope, e.after.envelope)) return;
    meshRuntime.mesh.send({ type: 'mesh.readvertise' });
    log.info('safety envelope changed: capabilities re-advertised');
  });
}

/**
 * The mesh answers first: the daemon link (and the HTTP client it loads) starts shortly after the
 * mesh's first dial has ended (README "Where the time goes: start-up"). Under --sim the emulator's
 * process is forked then, and the link starts once it serves (a failed start is logged; the link
 * then reports the daemon unreachable).
 */
function startLinkAfterMesh(meshRuntime: DeviceRuntime, emulator: SimTarget | undefined, started: RobotRuntime): void {
  void firstDialEnded(meshRuntime, DAEMON_LINK_START_LATEST_MS).then(() => setTimeout(() => void launchedSim(emulator).then(() => started.startLink()), DAEMON_LINK_SETTLE_MS).unref());
}

/** What a running driver stops, in the order `stopInOrder` stops it. */
interface Stoppable {
  readonly health: { stop(): void };
  readonly auditPublisher: AuditPublisher;
  readonly meshRuntime: DeviceRuntime;
  readonly approvalEvents: { stop(): void };
  readonly media: MediaRuntime | undefined;
  readonly started: RobotRuntime;
  readonly inspector: { stop(): void } | undefined;
  readonly audit: AuditLog;
  readonly emulator: SimTarget | undefined;
  /** DriverOverrides.auditStopDrainMs. */
  readonly auditStopDrainMs: number;
}

/**
 * Motion stopped first (bounded: robot-runtime `stopMotionForShutdown`), while callers still reach
 * the driver and their own stops are answered; then the mesh drained (no new calls), then media,
 * then the robot link and the root with every child, and last --sim's emulator.
 */
async function stopInOrder(parts: Stoppable): Promise<void> {
  parts.health.stop();
  // Nothing the driver issued may go on moving the robot once nobody can reach the driver to stop it.
  await parts.started.stopMotionForShutdown();
  // The audit records so far reach the stream while the connection is still up (the rest wait in the file).
  await parts.auditPublisher.drained(parts.auditStopDrainMs);
  await parts.auditPublisher.stop();
  await parts.meshRuntime.stop();
  parts.approvalEvents.stop();
  await parts.media?.stop();
  await parts.started.stop();
  parts.inspector?.stop();
  parts.audit.close();
  await parts.emulator?.close();
}

/** Everything after the emulator: the actor system, its gates and sides, reconfigure and stop. */
async function composeDriver(config: DriverConfig, overrides: DriverOverrides, sim: Awaited<ReturnType<typeof startSimTarget>>): Promise<RunningDriver> {
  const emulator = sim?.target;
  const daemonBaseUrl = overrides.daemonBaseUrl ?? emulator?.url ?? daemonUrl(config);
  const mediaEnabled = !config.noMedia;
  const functions = functionsFor({ media: mediaEnabled });
  // @statelyai/inspect (and its serialisers) only when asked for: ~30 modules a plain start skips.
  const inspector = config.inspectUrl ? (await import('./adapters/state-inspector.ts')).createStateInspector(config.inspectUrl, overrides.inspectorRetryMs === undefined ? {} : { retryMs: overrides.inspectorRetryMs }) : undefined;
  const held: Held = { robot: undefined, mesh: undefined, config, servers: overrides.messagingUrls ?? config.messagingUrls };
  const audit = openAuditLog(config.auditLogPath);
  const auditPublisher = startAuditPublisher({ log: audit, connection: () => held.mesh?.connection(), subject: () => subjects.audit(held.config.tenant, held.config.deviceId), deviceId: () => held.config.deviceId });
  const { gate, supervisorGate, callersVerified } = createGates(config, functions, held, overrides.gateOutcomeTimeoutMs);
  const policy = startPolicy(config);
  const meshParts: MeshParts = { functions, events: eventsFor({ media: mediaEnabled }), gate, supervisorGate, policy, held, ...(overrides.natsConnectTimeoutMs === undefined ? {} : { natsConnectTimeoutMs: overrides.natsConnectTimeoutMs }) };
  // The options the prepared sides read; an apply replaces them before it restarts that side.
  let meshHeld = meshOptionsFor(config, held.servers, meshParts);
  const device = (overrides.prepareDeviceRuntime ?? prepareDeviceRuntime)(() => meshHeld);
  const wiring: MediaWiring = {
    daemon: () => (held.robot as RobotRuntime).mediaHttp(),
    audioSwitches: () => rootOf(held).getSnapshot().context.audio,
    toRoot: (event) => rootOf(held).send(event),
    emitEvent: (name, payload) => held.mesh?.emitEvent(name, payload),
  };
  let mediaHeld = mediaOptions(config, daemonBaseUrl, emulator, overrides, wiring);
  const preparedMedia = mediaEnabled ? prepareMediaRuntime(() => mediaHeld) : undefined;
  const started = startRobotRuntime({
    ...robotOptionsOf(config, { daemonBaseUrl, policy, audit, callersVerified, held, device, overrides }),
    ...(preparedMedia ? { media: preparedMedia.logic } : {}),
    ...inspectionOf([inspector?.inspect, overrides.inspect]),
  });
  held.robot = started;
  const meshRuntime = device.attach(() => started.children.mesh);
  held.mesh = meshRuntime;
  startLinkAfterMesh(meshRuntime, emulator, started);
  const approvalEvents = publishApprovalEvents(started.driver, (name, payload) => held.mesh?.emitEvent(name, payload));
  const media = preparedMedia?.attach(() => started.children.media as NonNullable<typeof started.children.media>, preparedMedia ? mediaStart(meshRuntime, emulator) : undefined);
  const health = startHealthSummary(() => viewOf(started.driver.getSnapshot().context), overrides.healthIntervalMs);
  log.info('driver started', { device_id: config.deviceId, tenant: config.tenant, discovery: config.discoveryMode, brokers: held.servers.join(','), daemon: daemonBaseUrl, sim: config.sim });
  readvertiseOnEnvelopeChange(started, meshRuntime);
  const applying: Applying = {
    held,
    started,
    meshRuntime,
    media,
    respawnMesh: (next, servers) => {
      meshHeld = meshOptionsFor(next, servers, meshParts);
      started.driver.send({ type: 'mesh.restart', input: device.input() });
    },
    restartMedia: (next) => {
      mediaHeld = mediaOptions(next, started.daemonBaseUrl, emulator, overrides, wiring);
      media?.restart(() => started.driver.send({ type: 'media.restart' }));
    },
    checksDuplicates: !overrides.prepareDeviceRuntime,
  };
  return {
    robot: started,
    gate,
    supervisorGate,
    runtime: meshRuntime,
    get config() {
      return held.config;
    },
    emulator: sim?.inProcess,
    media,
    audit,
    auditPublisher,
    recordChange: (change) => started.recordChange(change),
    reconfigure: oneAtATime((next: DriverConfig) => applyConfig(next, applying)),
    statusSnapshot: () => statusSnapshotOf({ ...applying, audit, auditPublisher }),
    stop: () => stopInOrder({ health, auditPublisher, meshRuntime, approvalEvents, media, started, inspector, audit, emulator, auditStopDrainMs: overrides.auditStopDrainMs ?? AUDIT_STOP_DRAIN_MS }),
  };
}

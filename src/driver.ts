// Starts one driver from the frozen config as one actor system: the mesh and media sides are
// prepared over option holders, then the robot runtime starts the root driver machine, which spawns
// them with the robot children; the RPC gate and the supervisor gate sit in front of the root. With
// --sim the daemon emulator runs in its own process (in this one for tests that read it), so sim runs
// the same adapters as hardware. Owns start-up order — the mesh answers first: the daemon link (and
// --sim's emulator process) starts shortly after the mesh's first dial has ended, the media session
// once it has — reconfigure (holders updated, then the root respawns a child) and shutdown; the CLI
// (src/cli.ts) owns argv, exit codes and the sim broker.
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
import { refuseDuplicateDevice } from './adapters/duplicate-device.ts';
import { prepareDeviceRuntime, type DeviceRuntime, type DeviceRuntimeOptions } from './actors/device-runtime.ts';
import { createRpcGate, type GateTarget, type RpcGate } from './actors/rpc-gate.ts';
import { startRobotRuntime, type RobotRuntime } from './actors/robot-runtime.ts';
import { auditedWhenAccepted, type AuditedChange } from './actors/safety-trail.ts';
import { createApprovalStage } from './actors/approval-stage.ts';
import { publishApprovalEvents } from './actors/approval-events.ts';
import { startHealthSummary } from './actors/health-summary.ts';
import { d2dEstopListener } from './actors/d2d-estop-listener.ts';
import { callerRefusal } from './safety/caller-allow.ts';
import { createCallerIdentity } from './safety/caller-identity.ts';
import { callerHeardMatters, explainRefusal, viewOf } from './machines/driver.machine.ts';
import { availabilityOf } from './machines/driver-state.ts';
import { reconfigurePlan } from './config/reconfigure-plan.ts';
import { RestartRequired } from './errors.ts';
import { subjects } from './protocol/subjects.ts';
import { APPROVABLE_FUNCTIONS, eventsFor, functionsFor, SUPERVISOR_FUNCTIONS } from './rpc/catalogue.ts';
import { policyDocument, validatePolicy, type SafetyPolicy } from './safety/safety-policy.ts';
import type { InspectionEvent, Observer } from 'xstate';
import { advertisedFunctions, sameEnvelope } from './safety/advertised-functions.ts';
import { narrowedAxes } from './safety/envelope-view.ts';
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
const AUDIT_STOP_DRAIN_MS = 2_000;

/**
 * The outcome of one apply: what restarted, or RestartRequired naming the fields that cannot change
 * while the driver runs (then nothing at all was applied).
 */
export type ReconfigureResult =
  | { readonly ok: true; readonly restarted: ReadonlyArray<'mesh' | 'daemon_link' | 'media'> }
  | { readonly ok: false; readonly error: RestartRequired; readonly restarted: ReadonlyArray<never> };

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
   * is kept. Compared over the whole configuration: a change that needs a process restart
   * (simulate, no_media, lease policy…) refuses the whole apply. Applies are serialised.
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

export async function startDriver(config: DriverConfig, overrides: DriverOverrides = {}): Promise<RunningDriver> {
  // Refused before anything starts when another device already serves this id (issue 10 item 3);
  // a mesh side prepared by the caller (the fault simulation's) is not on NATS: nothing to ask.
  if (!overrides.prepareDeviceRuntime) await refuseDuplicateDevice(natsConnectionOptions({ servers: overrides.messagingUrls ?? config.messagingUrls, name: `reachy-mini-driver ${config.deviceId}`, credentials: config.credentials, tls: config.tls }), config.tenant, config.deviceId, config.replace);
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

/** Everything after the emulator: the actor system, its gates and sides, reconfigure and stop. */
async function composeDriver(config: DriverConfig, overrides: DriverOverrides, sim: Awaited<ReturnType<typeof startSimTarget>>): Promise<RunningDriver> {
  const emulator = sim?.target;
  const daemonBaseUrl = overrides.daemonBaseUrl ?? emulator?.url ?? daemonUrl(config);
  const mediaEnabled = !config.noMedia;
  const functions = functionsFor({ media: mediaEnabled });
  const events = eventsFor({ media: mediaEnabled });
  // @statelyai/inspect (and its serialisers) only when asked for: ~30 modules a plain start skips.
  const inspector = config.inspectUrl ? (await import('./adapters/state-inspector.ts')).createStateInspector(config.inspectUrl) : undefined;
  // The root, the mesh runtime and the config in force are read late by the closures below.
  let robot: RobotRuntime | undefined;
  const root = () => (robot as RobotRuntime).driver;
  let mesh: DeviceRuntime | undefined;
  let current = config;
  const audit = openAuditLog(config.auditLogPath);
  const auditPublisher = startAuditPublisher({ log: audit, connection: () => mesh?.connection(), subject: () => subjects.audit(current.tenant, current.deviceId), deviceId: () => current.deviceId });
  // Signed callers (--trusted-callers): one verifier, one replay cache, for every path and both gates.
  const identity = config.trustedCallers.length > 0 ? createCallerIdentity({ trusted: config.trustedCallers, requireSigned: config.requireSignedCallers }) : undefined;
  const identify = identity ? { identify: identity.identify } : {};
  const gate = createRpcGate({ functions, target: lateTarget(root), explainRefusal, ...identify, onRefusal: (info) => robot?.recordRefusal(info), onAccepted: (info) => (auditedWhenAccepted(info.fn) ? robot?.recordAccepted(info) : undefined), callerRefusal: ({ fn, labels, event, caller }) => callerRefusal(current.rpcAllow, fn, labels, caller, event), rateLimiter: new RateLimiter(() => root().getSnapshot().context.policy.rate_limits), onCall: (who) => robot && callerHeardMatters(robot.driver.getSnapshot().context, who) && robot.driver.send({ type: 'caller.heard', who }), hold: createApprovalStage(root) });
  const supervisorGate = createRpcGate({ functions: SUPERVISOR_FUNCTIONS, target: lateTarget(root), explainRefusal, ...identify, onRefusal: (info) => robot?.recordRefusal(info) });
  const policy = startPolicy(config);
  const meshOptionsOf = (c: DriverConfig, brokers: ReadonlyArray<string>): DeviceRuntimeOptions => ({
    deviceId: c.deviceId,
    tenant: c.tenant,
    discoveryMode: c.discoveryMode,
    deviceTtlS: c.deviceTtlS,
    registerTimeoutMs: c.registerTimeoutS * 1000,
    registerJitterMs: c.registerJitterS * 1000,
    connectionOptions: natsConnectionOptions({ servers: brokers, name: `reachy-mini-driver ${c.deviceId}`, credentials: c.credentials, tls: c.tls }),
    functions,
    // Advertised under the envelope in force (re-advertised when a policy change alters it).
    advertised: () => advertisedFunctions(functions, robot ? root().getSnapshot().context.policy : policy),
    events,
    gate,
    supervisorGate,
    // Subscribed only when DEVICE_CONNECT_ESTOP_ALLOW names devices: tenant-scoped credentials may not read other devices' events.
    ...(c.estopAllow.length > 0 ? { onEmergencyStop: d2dEstopListener({ allow: () => current.estopAllow, selfId: () => current.deviceId, trip: (e) => root().send(e), record: (d) => robot?.recordEstop(d) }) } : {}),
    status: () => ({ availability: availabilityOf(viewOf(root().getSnapshot().context).motion.state) }),
    version: DRIVER_VERSION,
  });
  let servers = overrides.messagingUrls ?? config.messagingUrls;
  // The holders the prepared sides read; `reconfigure` replaces them before it respawns a child.
  let meshHeld = meshOptionsOf(config, servers);
  const device = (overrides.prepareDeviceRuntime ?? prepareDeviceRuntime)(() => meshHeld);
  const wiring: MediaWiring = {
    daemon: () => (robot as RobotRuntime).daemonHttp(),
    audioSwitches: () => root().getSnapshot().context.audio,
    toRoot: (event) => root().send(event),
    emitEvent: (name, payload) => mesh?.emitEvent(name, payload),
  };
  let mediaHeld = mediaOptions(config, daemonBaseUrl, emulator, overrides, wiring);
  const preparedMedia = mediaEnabled ? prepareMediaRuntime(() => mediaHeld) : undefined;
  const started = startRobotRuntime({
    deviceId: config.deviceId,
    daemonBaseUrl,
    transportMode: config.transportMode,
    leasePolicy: config.leasePolicy,
    leaseTtlS: config.leaseTtlS,
    privilegedRpc: config.privilegedRpc,
    policy,
    audit,
    mediaPolicy: config.mediaPolicy,
    callersVerified: identity !== undefined,
    emitSafetyEvent: (payload) => mesh?.emitEvent('safety_event', payload),
    mesh: device.logic,
    meshInput: device.input(),
    ...(preparedMedia ? { media: preparedMedia.logic } : {}),
    ...(overrides.daemonTransport ? { daemonTransport: overrides.daemonTransport } : {}),
    daemonAuth: daemonAuthOf(config.daemonToken, config.daemonCaFile),
    ...inspectionOf([inspector?.inspect, overrides.inspect]),
    deferLinkStart: true,
  });
  robot = started;
  const meshRuntime = device.attach(() => started.children.mesh);
  mesh = meshRuntime;
  // The mesh answers first: the daemon link (and the HTTP client it loads) starts shortly after the
  // mesh's first dial has ended (README "Where the time goes: start-up").
  // Under --sim the emulator's process is forked then, and the link starts once it serves (a failed
  // start is logged; the link then reports the daemon unreachable).
  void firstDialEnded(meshRuntime, DAEMON_LINK_START_LATEST_MS).then(() => setTimeout(() => void launchedSim(emulator).then(() => started.startLink()), DAEMON_LINK_SETTLE_MS).unref());
  const approvalEvents = publishApprovalEvents(started.driver, (name, payload) => mesh?.emitEvent(name, payload));
  const media = preparedMedia?.attach(() => started.children.media as NonNullable<typeof started.children.media>, preparedMedia ? mediaStart(meshRuntime, emulator) : undefined);
  const health = startHealthSummary(() => viewOf(started.driver.getSnapshot().context), overrides.healthIntervalMs);
  log.info('driver started', { device_id: config.deviceId, tenant: config.tenant, discovery: config.discoveryMode, brokers: servers.join(','), daemon: daemonBaseUrl, sim: config.sim });
  let applying: Promise<void> = Promise.resolve();
  /** One apply: refused whole when a field needs a restart, else only the parts that changed restart. */
  const applyConfig = async (next: DriverConfig): Promise<ReconfigureResult> => {
    const plan = reconfigurePlan(current, next);
    if (plan.restartRequired.length > 0) {
      const error = new RestartRequired({ message: `restart required: ${plan.restartRequired.join(', ')} cannot change while the driver runs (saved settings take effect at the next start)`, fields: plan.restartRequired });
      log.warn('configuration not applied', { restart_required: plan.restartRequired.join(',') });
      started.recordChange({ kind: 'reconfigure_refused', reason: error.message, owner: 'settings', fields: { restart_required: plan.restartRequired } });
      return { ok: false, error, restarted: [] };
    }
    const restarted: Array<'mesh' | 'daemon_link' | 'media'> = [];
    if (plan.policy) {
      const policy = startPolicy(next);
      started.driver.send({ type: 'supervisor.set_safety_policy', requestId: randomUUID(), policy, reason: 'settings applied', owner: 'settings' });
    }
    if (plan.mesh) {
      // The private --sim broker stays in use while the configured URLs are unchanged.
      const nextServers = sameList(next.messagingUrls, current.messagingUrls) ? servers : next.messagingUrls;
      await meshRuntime.stop();
      meshHeld = meshOptionsOf(next, nextServers);
      started.driver.send({ type: 'mesh.restart', input: device.input() });
      servers = nextServers;
      restarted.push('mesh');
    }
    if (plan.daemonLink) {
      await started.retarget(daemonUrl(next), next.transportMode);
      restarted.push('daemon_link');
    }
    // Media follows the robot (signalling host and port) and its own settings.
    if (media && plan.media) {
      mediaHeld = mediaOptions(next, started.daemonBaseUrl, emulator, overrides, wiring);
      media.restart(() => started.driver.send({ type: 'media.restart' }));
      restarted.push('media');
    }
    current = next;
    log.info('configuration applied', { restarted: restarted.join(',') || 'nothing' });
    started.recordChange({ kind: 'reconfigured', reason: 'configuration applied', owner: 'settings', fields: { restarted, policy_changed: plan.policy } });
    return { ok: true, restarted };
  };
  // A new envelope changes the advertised ranges: the mesh registers and announces again (connection kept).
  started.driver.on('policy.changed', (e) => {
    if (sameEnvelope(e.before.envelope, e.after.envelope)) return;
    meshRuntime.mesh.send({ type: 'mesh.readvertise' });
    log.info('safety envelope changed: capabilities re-advertised');
  });
  return {
    robot: started,
    gate,
    supervisorGate,
    runtime: meshRuntime,
    get config() {
      return current;
    },
    emulator: sim?.inProcess,
    media,
    audit,
    auditPublisher,
    recordChange: (change) => started.recordChange(change),
    reconfigure(next) {
      // Applies run one at a time: each sees the configuration the previous one left in force.
      const run = applying.then(() => applyConfig(next));
      applying = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    },
    statusSnapshot() {
      const view = viewOf(started.driver.getSnapshot().context);
      return {
        mesh: { state: view.mesh.state, since: new Date(view.mesh.since).toISOString(), device_id: current.deviceId, tenant: current.tenant, brokers: servers, registrations: meshRuntime.registrationCount() },
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
    },
    async stop() {
      // Mesh drained first (no new calls), then media, then the robot link and the root with every child.
      health.stop();
      // The audit records so far reach the stream while the connection is still up (the rest wait in the file).
      await auditPublisher.drained(AUDIT_STOP_DRAIN_MS);
      await auditPublisher.stop();
      await meshRuntime.stop();
      approvalEvents.stop();
      await media?.stop();
      await started.stop();
      inspector?.stop();
      audit.close();
      await emulator?.close();
    },
  };
}

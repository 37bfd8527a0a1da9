// Starts one driver from the frozen config: the robot runtime (daemon adapters + machines), the
// RPC gate in front of the root driver machine, the supervisor gate, and the device runtime on the
// mesh; with --sim, the embedded daemon emulator first, so sim runs the same adapters as hardware.
// Owns start-up order and shutdown; the CLI (src/cli.ts) owns argv, exit codes and the sim broker.
import type { DriverConfig } from './config/config.ts';
import { createLogger } from './logging/logger.ts';
import { natsConnectionOptions } from './adapters/nats-options.ts';
import { openAuditLog } from './adapters/audit-log.ts';
import type { DaemonTransport } from './adapters/daemon-transport.ts';
import { createStateInspector } from './adapters/state-inspector.ts';
import { startDeviceRuntime, type DeviceRuntime } from './actors/device-runtime.ts';
import { createRpcGate, type RpcGate } from './actors/rpc-gate.ts';
import { startRobotRuntime, type RobotRuntime } from './actors/robot-runtime.ts';
import { explainRefusal, viewOf } from './machines/driver.machine.ts';
import { availabilityOf } from './machines/driver-state.ts';
import { reconfigurePlan } from './config/reconfigure-plan.ts';
import { RestartRequired } from './errors.ts';
import { subjects } from './protocol/subjects.ts';
import { eventsFor, functionsFor, SUPERVISOR_FUNCTIONS } from './rpc/catalogue.ts';
import { startMediaRuntime, type MediaRuntime } from './actors/media-runtime.ts';
import { DEFAULT_MONITOR_SETTINGS } from './actors/media-monitors.ts';
import { openMediaLink } from './adapters/media-link/open-media-link.ts';
import { signallingUrl } from './adapters/signalling/signalling-client.ts';
import { startEmulator, type Emulator } from './sim/emulator.ts';
import { DRIVER_VERSION } from './version.ts';

const log = createLogger('driver');

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
  /** The current mesh runtime (replaced by `reconfigure` when mesh settings change). */
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
  /** The embedded emulator when running with --sim. */
  readonly emulator: Emulator | undefined;
  /** The media side (undefined with --no-media). */
  readonly media: MediaRuntime | undefined;
  stop(): Promise<void>;
}

function daemonUrl(c: DriverConfig): string {
  return `http://${c.daemonHost.includes(':') ? `[${c.daemonHost}]` : c.daemonHost}:${c.daemonPort}`;
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
  /** Starts the mesh side (default `startDeviceRuntime`); the fault simulation records it in memory instead of NATS. */
  readonly startDeviceRuntime?: typeof startDeviceRuntime;
}

/** The media runtime against the emulator's signalling server (--sim) or the robot's port 8443. */
function startMedia(
  config: DriverConfig,
  robot: RobotRuntime,
  emulator: Emulator | undefined,
  overrides: DriverOverrides,
  emit: (name: 'audio_event' | 'motion_event', payload: Record<string, unknown>) => void,
  inspect: { inspect?: NonNullable<Parameters<typeof startMediaRuntime>[0]['inspect']> },
): MediaRuntime {
  const url = overrides.signallingUrl ?? emulator?.signallingUrl ?? signallingUrl(config.daemonHost, config.signallingPort);
  const parsed = new URL(url);
  return startMediaRuntime({
    signallingUrl: url,
    signallingHost: parsed.hostname.replace(/^\[|\]$/g, ''),
    signallingPort: Number(parsed.port),
    openLink: openMediaLink,
    daemon: () => robot.daemonHttp(),
    daemonHost: emulator ? emulator.host : config.daemonHost,
    daemonApiUrl: robot.daemonBaseUrl,
    target: config.sim ? 'simulated' : config.daemonHost,
    soundsDir: config.soundsDir,
    allowOversizeRaw: config.allowOversizeRaw,
    monitors: { ...DEFAULT_MONITOR_SETTINGS, ...config.monitors },
    audioSwitches: () => robot.driver.getSnapshot().context.media,
    toRoot: (event) => robot.driver.send(event),
    emitEvent: emit,
    ...inspect,
  });
}

export async function startDriver(config: DriverConfig, overrides: DriverOverrides = {}): Promise<RunningDriver> {
  const emulator = config.sim && !overrides.daemonBaseUrl ? await startEmulator({ timeScale: config.simTimeScale, model: config.simModel, withMedia: !config.noMedia }) : undefined;
  const daemonBaseUrl = overrides.daemonBaseUrl ?? emulator?.url ?? daemonUrl(config);
  const mediaEnabled = !config.noMedia;
  const functions = functionsFor({ media: mediaEnabled });
  const events = eventsFor({ media: mediaEnabled });
  const inspector = config.inspectUrl ? createStateInspector(config.inspectUrl) : undefined;
  const inspect = inspector ? { inspect: inspector.inspect } : {};
  // The mesh runtime and the config in force change with `reconfigure`; closures read them late.
  let mesh: DeviceRuntime | undefined;
  let current = config;
  const audit = openAuditLog(config.auditLogPath, (record) => mesh?.publish(subjects.audit(current.tenant, current.deviceId), record));
  const robot = startRobotRuntime({
    deviceId: config.deviceId,
    daemonBaseUrl,
    transportMode: config.transportMode,
    leasePolicy: config.leasePolicy,
    leaseTtlS: config.leaseTtlS,
    privilegedRpc: config.privilegedRpc,
    audit,
    emitSafetyEvent: (payload) => mesh?.emitEvent('safety_event', payload),
    mediaEnabled,
    deliverMedia: (event) => media?.handle(event),
    ...(overrides.daemonTransport ? { daemonTransport: overrides.daemonTransport } : {}),
    ...inspect,
  });
  const openMedia = (c: DriverConfig) => startMedia(c, robot, emulator, overrides, (name, payload) => mesh?.emitEvent(name, payload), inspect);
  let media = mediaEnabled ? openMedia(config) : undefined;
  const gate = createRpcGate({ functions, target: robot.driver, explainRefusal, onRefusal: (info) => robot.recordRefusal(info) });
  const supervisorGate = createRpcGate({ functions: SUPERVISOR_FUNCTIONS, target: robot.driver, explainRefusal, onRefusal: (info) => robot.recordRefusal(info) });
  const initialServers = overrides.messagingUrls ?? config.messagingUrls;
  const startMesh = (c: DriverConfig, servers: ReadonlyArray<string>): DeviceRuntime =>
    (overrides.startDeviceRuntime ?? startDeviceRuntime)({
      deviceId: c.deviceId,
      tenant: c.tenant,
      discoveryMode: c.discoveryMode,
      deviceTtlS: c.deviceTtlS,
      registerTimeoutMs: c.registerTimeoutS * 1000,
      registerJitterMs: c.registerJitterS * 1000,
      connectionOptions: natsConnectionOptions({ servers, name: `reachy-mini-driver ${c.deviceId}`, credentials: c.credentials, tls: c.tls }),
      functions,
      events,
      gate,
      supervisorGate,
      status: () => ({ availability: availabilityOf(viewOf(robot.driver.getSnapshot().context).motion.state) }),
      version: DRIVER_VERSION,
      onMeshState: (state, at) => robot.driver.send({ type: 'mesh.state', state, at }),
      ...inspect,
    });
  mesh = startMesh(config, initialServers);
  /** Set just above, before anything below can run. */
  const live = (): DeviceRuntime => mesh as DeviceRuntime;
  log.info('driver started', { device_id: config.deviceId, tenant: config.tenant, discovery: config.discoveryMode, brokers: initialServers.join(','), daemon: daemonBaseUrl, sim: config.sim });
  let servers = initialServers;
  let applying: Promise<void> = Promise.resolve();
  /** One apply: refused whole when a field needs a restart, else only the parts that changed restart. */
  const applyConfig = async (next: DriverConfig): Promise<ReconfigureResult> => {
    const plan = reconfigurePlan(current, next);
    if (plan.restartRequired.length > 0) {
      const error = new RestartRequired({ message: `restart required: ${plan.restartRequired.join(', ')} cannot change while the driver runs (saved settings take effect at the next start)`, fields: plan.restartRequired });
      log.warn('configuration not applied', { restart_required: plan.restartRequired.join(',') });
      return { ok: false, error, restarted: [] };
    }
    const restarted: Array<'mesh' | 'daemon_link' | 'media'> = [];
    if (plan.mesh) {
      // The private --sim broker stays in use while the configured URLs are unchanged.
      const nextServers = sameList(next.messagingUrls, current.messagingUrls) ? servers : next.messagingUrls;
      await live().stop();
      mesh = startMesh(next, nextServers);
      servers = nextServers;
      restarted.push('mesh');
    }
    if (plan.daemonLink) {
      await robot.retarget(daemonUrl(next), next.transportMode);
      restarted.push('daemon_link');
    }
    // Media follows the robot (signalling host and port) and its own settings.
    if (media && plan.media) {
      await media.stop();
      media = openMedia(next);
      restarted.push('media');
    }
    current = next;
    log.info('configuration applied', { restarted: restarted.join(',') || 'nothing' });
    return { ok: true, restarted };
  };
  return {
    robot,
    gate,
    supervisorGate,
    get runtime() {
      return live();
    },
    get config() {
      return current;
    },
    emulator,
    get media() {
      return media;
    },
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
      const view = viewOf(robot.driver.getSnapshot().context);
      const seen = robot.driver.getSnapshot().context;
      return {
        mesh: { state: seen.meshState, since: new Date(seen.meshStateSince).toISOString(), device_id: current.deviceId, tenant: current.tenant, brokers: servers, registrations: live().registrationCount() },
        daemon_link: { state: view.connection.state, since: new Date(view.connection.since).toISOString(), daemon: robot.daemonBaseUrl, transport: current.transportMode, last_error: view.connection.lastError },
        power: view.power.state,
        interlock: { state: view.interlock.state, reason: view.interlock.reason },
        lease: { owner: view.lease.owner, expires_at: view.lease.expiresAt / 1000, policy: view.lease.policy },
        execution: view.motion.state,
        media: media ? { state: view.media.state, since: new Date(view.media.since).toISOString(), last_error: view.media.lastError, codec: media.link?.videoCodec ?? null } : { state: 'disabled' },
        last_error: view.motion.lastError || view.connection.lastError || null,
      };
    },
    async stop() {
      await live().stop();
      await media?.stop();
      await robot.stop();
      inspector?.stop();
      await emulator?.close();
    },
  };
}

// Starts one driver from the frozen config: the robot runtime (daemon adapters + machines), the
// RPC gate in front of the root driver machine, the supervisor gate, and the device runtime on the
// mesh; with --sim, the embedded daemon emulator first, so sim runs the same adapters as hardware.
// Owns start-up order and shutdown; the CLI (src/cli.ts) owns argv, exit codes and the sim broker.
import type { DriverConfig } from './config/config.ts';
import { createLogger } from './logging/logger.ts';
import { natsConnectionOptions } from './adapters/nats-options.ts';
import { openAuditLog } from './adapters/audit-log.ts';
import { createStateInspector } from './adapters/state-inspector.ts';
import { startDeviceRuntime, type DeviceRuntime } from './actors/device-runtime.ts';
import { createRpcGate, type RpcGate } from './actors/rpc-gate.ts';
import { startRobotRuntime, type RobotRuntime } from './actors/robot-runtime.ts';
import { explainRefusal } from './machines/driver.machine.ts';
import { availabilityOf } from './machines/driver-state.ts';
import { subjects } from './protocol/subjects.ts';
import { EVENTS, FUNCTIONS, SUPERVISOR_FUNCTIONS } from './rpc/catalogue.ts';
import { startEmulator, type Emulator } from './sim/emulator.ts';
import { DRIVER_VERSION } from './version.ts';

const log = createLogger('driver');

export interface RunningDriver {
  readonly robot: RobotRuntime;
  readonly gate: RpcGate;
  readonly runtime: DeviceRuntime;
  /** The embedded emulator when running with --sim. */
  readonly emulator: Emulator | undefined;
  stop(): Promise<void>;
}

export interface DriverOverrides {
  readonly messagingUrls?: ReadonlyArray<string>;
  /** Point at an already running daemon (tests pass their own emulator). */
  readonly daemonBaseUrl?: string;
}

export async function startDriver(config: DriverConfig, overrides: DriverOverrides = {}): Promise<RunningDriver> {
  const emulator = config.sim && !overrides.daemonBaseUrl ? await startEmulator({ timeScale: config.simTimeScale, model: config.simModel }) : undefined;
  const daemonBaseUrl = overrides.daemonBaseUrl ?? emulator?.url ?? `http://${config.daemonHost.includes(':') ? `[${config.daemonHost}]` : config.daemonHost}:${config.daemonPort}`;
  const inspector = config.inspectUrl ? createStateInspector(config.inspectUrl) : undefined;
  const inspect = inspector ? { inspect: inspector.inspect } : {};
  let runtime: DeviceRuntime | undefined;
  const audit = openAuditLog(config.auditLogPath, (record) => runtime?.publish(subjects.audit(config.tenant, config.deviceId), record));
  const robot = startRobotRuntime({
    deviceId: config.deviceId,
    daemonBaseUrl,
    transportMode: config.transportMode,
    leasePolicy: config.leasePolicy,
    leaseTtlS: config.leaseTtlS,
    privilegedRpc: config.privilegedRpc,
    audit,
    emitSafetyEvent: (payload) => runtime?.emitEvent('safety_event', payload),
    ...inspect,
  });
  const gate = createRpcGate({ functions: FUNCTIONS, target: robot.driver, explainRefusal, onRefusal: (info) => robot.recordRefusal(info) });
  const supervisorGate = createRpcGate({ functions: SUPERVISOR_FUNCTIONS, target: robot.driver, explainRefusal, onRefusal: (info) => robot.recordRefusal(info) });
  const servers = overrides.messagingUrls ?? config.messagingUrls;
  runtime = startDeviceRuntime({
    deviceId: config.deviceId,
    tenant: config.tenant,
    discoveryMode: config.discoveryMode,
    deviceTtlS: config.deviceTtlS,
    registerTimeoutMs: config.registerTimeoutS * 1000,
    registerJitterMs: config.registerJitterS * 1000,
    connectionOptions: natsConnectionOptions({ servers, name: `reachy-mini-driver ${config.deviceId}`, credentials: config.credentials, tls: config.tls }),
    functions: FUNCTIONS,
    events: EVENTS,
    gate,
    supervisorGate,
    status: () => ({ availability: availabilityOf(robot.driver.getSnapshot().context.motion.state) }),
    version: DRIVER_VERSION,
    onMeshState: (state, at) => robot.driver.send({ type: 'mesh.state', state, at }),
    ...inspect,
  });
  log.info('driver started', { device_id: config.deviceId, tenant: config.tenant, discovery: config.discoveryMode, brokers: servers.join(','), daemon: daemonBaseUrl, sim: config.sim });
  const mesh = runtime;
  return {
    robot,
    gate,
    runtime: mesh,
    emulator,
    async stop() {
      await mesh.stop();
      await robot.stop();
      inspector?.stop();
      await emulator?.close();
    },
  };
}

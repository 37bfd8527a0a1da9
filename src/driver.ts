// Starts one driver: the root driver actor, the RPC gate in front of it, and the device runtime on
// the mesh, all from the frozen config. Owns start-up order and shutdown; the CLI (src/cli.ts)
// owns argv, exit codes and the sim broker. Used by the CLI and by the integration tests.
import { createActor, type Actor } from 'xstate';
import type { DriverConfig } from './config/config.ts';
import { createLogger } from './logging/logger.ts';
import { driverMachine, type DriverMachine } from './machines/driver.machine.ts';
import { availabilityOf } from './machines/driver-state.ts';
import { natsConnectionOptions } from './adapters/nats-options.ts';
import { startDeviceRuntime, type DeviceRuntime } from './actors/device-runtime.ts';
import { createRpcGate, type RpcGate } from './actors/rpc-gate.ts';
import { EVENTS, FUNCTIONS } from './rpc/catalogue.ts';
import { DRIVER_VERSION } from './version.ts';
import { createStateInspector } from './adapters/state-inspector.ts';

const log = createLogger('driver');

export interface RunningDriver {
  readonly driver: Actor<DriverMachine>;
  readonly gate: RpcGate;
  readonly runtime: DeviceRuntime;
  stop(): Promise<void>;
}

export function startDriver(config: DriverConfig, overrides: { messagingUrls?: ReadonlyArray<string> } = {}): RunningDriver {
  const inspector = config.inspectUrl ? createStateInspector(config.inspectUrl) : undefined;
  const inspect = inspector ? { inspect: inspector.inspect } : {};
  const driver = createActor(driverMachine, { systemId: 'driver', input: { deviceId: config.deviceId }, ...inspect });
  driver.start();
  const gate = createRpcGate({ functions: FUNCTIONS, target: driver });
  const servers = overrides.messagingUrls ?? config.messagingUrls;
  const runtime = startDeviceRuntime({
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
    status: () => ({ availability: availabilityOf(driver.getSnapshot().context.state.execution_state) }),
    version: DRIVER_VERSION,
    onMeshState: (state, at) => driver.send({ type: 'mesh.state', state, at }),
    ...inspect,
  });
  log.info('driver started', { device_id: config.deviceId, tenant: config.tenant, discovery: config.discoveryMode, brokers: servers.join(',') });
  return {
    driver,
    gate,
    runtime,
    async stop() {
      await runtime.stop();
      driver.stop();
      inspector?.stop();
    },
  };
}

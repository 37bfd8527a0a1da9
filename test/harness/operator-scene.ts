// The operator's side of a scenario test (issue 9 scenarios): a real nats-server, a fake registry,
// the real driver in-process (its own --sim emulator, or the daemon URL a test passes), and the
// transcript tools — JSON-RPC on `.cmd` and `.supervisor`, recorders of `safety_event` and the
// `.audit` subject, and the audit file read back as JSON lines. Owns nothing of the driver; the
// driver is configured exactly as the CLI would configure it (startTestDriver).
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import type { DriverOverrides } from '../../src/driver.ts';
import { startNatsServer, type NatsServerHandle } from './nats-server.ts';
import { fakeRegistry, openClient, recorder, rpc, type FakeRegistry, type MessageQueue } from './mesh-peer.ts';
import { startTestDriver, waitFor, type TestDriver } from './driver-harness.ts';

/** A JSON-RPC reply body (`result` or `error`), loosely typed for transcript assertions. */
export type Reply = Record<string, any>;

export interface OperatorScene {
  readonly server: NatsServerHandle;
  readonly nc: NatsConnection;
  readonly registry: FakeRegistry;
  readonly driver: TestDriver;
  readonly deviceId: string;
  /** `device-connect.default.<id>.event.safety_event` messages (bodies are JSON-RPC notifications). */
  readonly safetyEvents: MessageQueue;
  /** `device-connect.default.<id>.audit` messages (bodies are the audit records). */
  readonly auditBus: MessageQueue;
  /** The `--audit-log` file of this scene. */
  readonly auditPath: string;
  call(method: string, params?: Record<string, unknown>, timeoutMs?: number): Promise<Reply>;
  supervise(method: string, params?: Record<string, unknown>, timeoutMs?: number): Promise<Reply>;
  /** `get_status` → `driver_state`. */
  status(): Promise<Record<string, any>>;
  /** The audit file as parsed JSON lines (empty before the first record). */
  auditFile(): Array<Record<string, any>>;
  /** The `params` of every `safety_event` received so far. */
  safetyParams(): Array<Record<string, any>>;
  stop(): Promise<void>;
}

export interface OperatorSceneOptions {
  readonly deviceId: string;
  /** Extra driver argv (e.g. `--sim`, `--sim-time-scale`, `--lease-ttl`). */
  readonly argv?: ReadonlyArray<string>;
  readonly env?: Readonly<Record<string, string>>;
  /** E.g. `daemonBaseUrl` of an emulator (or a proxy in front of one) the test owns. */
  readonly overrides?: DriverOverrides;
  /** Wait for `connection_state` connected and `power_state` awake (default true). */
  readonly waitReady?: boolean;
}

/** Start-up of the driver against the emulator: under 1 s locally; 10 s on a loaded 2-core box. */
const READY_TIMEOUT_MS = 10_000;

export async function startOperatorScene(options: OperatorSceneOptions): Promise<OperatorScene> {
  const id = options.deviceId;
  const auditPath = join(mkdtempSync(join(tmpdir(), 'rmd-scen-audit-')), 'audit.jsonl');
  const server = await startNatsServer();
  const nc = await openClient(server.url);
  const registry = fakeRegistry(nc);
  const safetyEvents = recorder(nc, `device-connect.default.${id}.event.safety_event`);
  const auditBus = recorder(nc, `device-connect.default.${id}.audit`);
  await nc.flush();
  const driver = await startTestDriver(
    ['--device-id', id, '--messaging-url', server.url, '--audit-log', auditPath, ...(options.argv ?? [])],
    { DEVICE_CONNECT_ALLOW_INSECURE: 'true', REACHY_AUDIT_LOG: auditPath, ...options.env },
    options.overrides ?? {},
  );
  let seq = 0;
  const request = (subject: string) => (method: string, params: Record<string, unknown> = {}, timeoutMs = 5_000) =>
    rpc(nc, subject, { jsonrpc: '2.0', id: `${method}-${++seq}`, method, params }, timeoutMs);
  const call = request(`device-connect.default.${id}.cmd`);
  const status = async () => ((await call('get_status')).result as { driver_state: Record<string, any> }).driver_state;
  const scene: OperatorScene = {
    server,
    nc,
    registry,
    driver,
    deviceId: id,
    safetyEvents,
    auditBus,
    auditPath,
    call,
    supervise: request(`device-connect.default.${id}.supervisor`),
    status,
    auditFile: () => (existsSync(auditPath) ? readFileSync(auditPath, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, any>) : []),
    safetyParams: () => safetyEvents.messages.map((m) => (m.body as { params: Record<string, any> }).params),
    async stop() {
      await driver.stop();
      await nc.close();
      await server.stop();
    },
  };
  if (options.waitReady ?? true) {
    try {
      await waitFor(
        async () => {
          const s = await status().catch(() => undefined);
          return s?.connection_state === 'connected' && s?.power_state === 'awake';
        },
        READY_TIMEOUT_MS,
        `${id}: daemon link connected and robot awake`,
      );
    } catch (error) {
      await scene.stop();
      throw error;
    }
  }
  return scene;
}

/** The error `data` of a refused reply (`{}` when the reply is a result). */
export function errorData(reply: Reply): Record<string, any> {
  return (reply.error?.data ?? {}) as Record<string, any>;
}

// A ready --sim driver on one daemon transport for the body tests (body-swing-back,
// body-prediction-walk): its robot and supervisor JSON-RPC over NATS, the emulator's body yaw in
// degrees, the body envelope set by the supervisor under the default speed limits, and the daemon's
// sockets dropped and reconnected. Owns that set-up only; the scene is driver-harness.ts's, what a
// test expects of the body the test's.
import { expect } from 'vitest';
import { DEFAULT_SPEED_LIMITS } from '../../src/safety/safety-policy.ts';
import { waitFor, type MeshScene } from './driver-harness.ts';
import { rpc } from './mesh-peer.ts';
import { startReadyScene } from './ready-state.ts';

export type Reply = Record<string, any>;

/** A robot call waits up to this (a move of a few seconds, answered when done, on a loaded box). */
const CALL_TIMEOUT_MS = 20_000;
const SUPERVISOR_TIMEOUT_MS = 10_000;
/** Longer than the driver takes to hear its daemon sockets dropped and to retry once. */
const RECONNECT_SETTLE_MS = 1_000;
const RECONNECT_TIMEOUT_MS = 10_000;

export interface BodyScene {
  readonly scene: MeshScene;
  /** A `.cmd` call, answered (a result or an error). */
  call(method: string, params?: Record<string, unknown>): Promise<Reply>;
  /** The emulator's body yaw now, in degrees. */
  body(): number;
  /** The supervisor sets the body envelope to [min, max] degrees and the speed limits to the defaults. */
  setBodyEnvelope(min: number, max: number): Promise<void>;
  /** The daemon's sockets dropped (it keeps running, holding its targets); resolves once the driver is connected again and stays so. */
  dropDaemonSockets(): Promise<void>;
  stop(): Promise<void>;
}

/** `device` started with `--sim --no-media --transport-mode <transport>` and ready (connected, awake). */
export async function startBodyScene(device: string, transport: string): Promise<BodyScene> {
  const scene = await startReadyScene(device, ['--sim', '--no-media', '--log-level', 'error', '--transport-mode', transport]);
  const base = `device-connect.default.${device}`;
  let n = 0;
  const call = (method: string, params: Record<string, unknown> = {}): Promise<Reply> =>
    rpc(scene.nc, `${base}.cmd`, { jsonrpc: '2.0', id: `${method}-${n++}`, method, params }, CALL_TIMEOUT_MS) as Promise<Reply>;
  const supervise = (method: string, params: Record<string, unknown>): Promise<Reply> =>
    rpc(scene.nc, `${base}.supervisor`, { jsonrpc: '2.0', id: `${method}-${n++}`, method, params }, SUPERVISOR_TIMEOUT_MS) as Promise<Reply>;
  return {
    scene,
    call,
    body: () => (scene.driver.emulator!.snapshot().bodyYaw * 180) / Math.PI,
    setBodyEnvelope: async (min, max) => {
      const policy = (await call('get_safety_policy')).result.policy;
      const changed = { ...policy, envelope: { ...policy.envelope, body_yaw_deg: { min, max } }, speed: { ...DEFAULT_SPEED_LIMITS } };
      const set = await supervise('set_safety_policy', { policy: changed, reason: `body envelope [${min}, ${max}]`, owner: 'ops' });
      expect(set.result, JSON.stringify(set)).toBeDefined();
    },
    dropDaemonSockets: async () => {
      await scene.driver.emulator!.restart();
      const connected = async (): Promise<boolean> => (await call('get_status')).result?.driver_state?.connection_state === 'connected';
      // The driver hears its sockets close at once; connected again, and still so a moment later.
      for (let settled = 0; settled < 2; settled++) {
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_SETTLE_MS));
        await waitFor(connected, RECONNECT_TIMEOUT_MS, 'the daemon link back');
      }
    },
    stop: () => scene.stop(),
  };
}

// What a test waits for before its first motion command: the driver's daemon link and the robot's
// power, as get_status reports them, in one string (`connected/awake`) — awake alone is not enough
// (a motion command before the daemon's websocket link is up is answered DaemonUnavailable). Owns
// that reading, the ready wait on a device's `.cmd` and the scene start that ends with it; not the
// scene itself (driver-harness.ts) nor what tests do once the robot is ready.
import type { NatsConnection } from '@nats-io/nats-core';
import { startMeshScene, waitFor, type MeshScene } from './driver-harness.ts';
import { rpc } from './mesh-peer.ts';

/** The driver registers, links its daemon and reads power in 1–3 s idle; 20 s covers a loaded 2-core CI box. */
export const READY_TIMEOUT_MS = 20_000;
/**
 * Each probe's own reply timeout. A get_status sent before the driver's mesh subscribed is never
 * answered: a long timeout would sit it out whole (seen costing 10–15 s per file in CI).
 */
const PROBE_TIMEOUT_MS = 1_000;

/** `<connection_state>/<power_state>` from a get_status result (`undefined/undefined` before the driver answers). */
export function linkAndPower(result: unknown): string {
  const state = (result as { driver_state?: { connection_state?: unknown; power_state?: unknown } } | undefined)?.driver_state;
  return `${String(state?.connection_state)}/${String(state?.power_state)}`;
}

/** Polls get_status on `device`'s `.cmd` (tenant `default`) until the driver reads `connected/awake`. */
export async function waitUntilReady(nc: NatsConnection, device: string, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const subject = `device-connect.default.${device}.cmd`;
  let probe = 0;
  const ready = async (): Promise<boolean> => {
    const reply = await rpc(nc, subject, { jsonrpc: '2.0', id: `ready-${probe++}`, method: 'get_status', params: {} }, PROBE_TIMEOUT_MS).catch((): Record<string, unknown> => ({}));
    return linkAndPower(reply.result) === 'connected/awake';
  };
  await waitFor(ready, timeoutMs, `${device}: the driver connected to its daemon, the robot awake`);
}

/** startMeshScene with `--device-id device`, then the ready wait; a scene that never gets ready is stopped before the error. */
export async function startReadyScene(device: string, argv: string[], env: Record<string, string> = {}): Promise<MeshScene> {
  const scene = await startMeshScene(['--device-id', device, ...argv], env);
  try {
    await waitUntilReady(scene.nc, device);
  } catch (error) {
    await scene.stop();
    throw error;
  }
  return scene;
}

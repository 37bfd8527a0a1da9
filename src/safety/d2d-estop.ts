// The D2D emergency stop of the prior art (reference-driver.md §13): another device on the mesh
// publishes an `emergencyStop` event (`device-connect.<tenant>.<device>.event.emergencyStop`, a
// JSON-RPC notification `{jsonrpc, method: "emergencyStop", params: {reason, …}}`); if its device id
// matches DEVICE_CONNECT_ESTOP_ALLOW the driver trips the interlock (the root's `trip`), otherwise it
// ignores it. Both are audited. Pure: decodes the notification and decides; the mesh adapter
// subscribes and the driver sends the trip. Owns no I/O.
import { matchesAny } from './caller-allow.ts';

/** The event name the prior art's devices emit (its `@on(event_name="emergencyStop")` handler). */
export const EMERGENCY_STOP_EVENT = 'emergencyStop';
/** A reason longer than this is cut (it lands in the interlock state, the audit and every refusal message). */
export const MAX_ESTOP_REASON_CHARS = 200;

export type EstopDecision =
  | { readonly act: 'trip'; readonly emitter: string; readonly reason: string }
  | { readonly act: 'ignore'; readonly emitter: string; readonly reason: string; readonly why: 'not_allowed' | 'own_event' };

/** The `reason` of an emergencyStop notification body (bytes of JSON); a default when absent or undecodable. */
export function estopReasonOf(body: string): string {
  try {
    const doc = JSON.parse(body) as { params?: { reason?: unknown } };
    const reason = doc?.params?.reason;
    if (typeof reason === 'string' && reason.trim() !== '') return reason.slice(0, MAX_ESTOP_REASON_CHARS);
  } catch {
    // An undecodable body still says "stop": the subject alone names the event and its emitter.
  }
  return 'no reason given';
}

/** Trip when `emitter` matches `allow` (empty list: nobody may), never for this device's own events. */
export function estopDecision(allow: ReadonlyArray<string>, emitter: string, selfId: string, reason: string): EstopDecision {
  if (emitter === selfId) return { act: 'ignore', emitter, reason, why: 'own_event' };
  if (matchesAny(allow, emitter)) return { act: 'trip', emitter, reason };
  return { act: 'ignore', emitter, reason, why: 'not_allowed' };
}

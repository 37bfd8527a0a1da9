// Calls that come with nobody to answer them the usual way run only when they stop the robot: a
// JSON-RPC notification on `.cmd` or `.supervisor` (no `id`: a motion command's outcome would reach
// nobody, so it is not run — a stop is, since missing a stop is never the safe side) and a
// broadcast whose addressing this driver cannot evaluate (a `where` condition, `targets` that are
// not a list: a stop fails open — stopping a robot that was not meant is harmless, missing one that
// was meant is not; anything else fails closed, as before). Owns the one decision with the StopsOnly
// refusal explaining it; pure. Which functions are stops is the catalogue's (their `stop` form,
// src/rpc/catalogue.ts STOP_FUNCTIONS); the wires mark the calls (src/protocol/json-rpc.ts,
// mesh-wire.ts), the gate applies the decision (src/actors/rpc-gate.ts).
import { StopsOnly } from '../errors.ts';
import type { CallerMeta } from '../protocol/json-rpc.ts';
import { STOP_FUNCTIONS } from '../rpc/catalogue.ts';

/** Whether `fn` stops the robot (and so runs from a notification or an unevaluable broadcast). */
export function isStop(fn: string): boolean {
  return STOP_FUNCTIONS.has(fn);
}

const STOP_LIST = [...STOP_FUNCTIONS].join(', ');

/**
 * THE decision: null when the call may go on through the gate (a plain call, or a stop however it
 * came), else the StopsOnly refusal saying why and what to send instead.
 */
export function stopsOnlyRefusal(fn: string, caller: CallerMeta): StopsOnly | null {
  const delivery = caller.delivery;
  if (!delivery || isStop(fn)) return null;
  if (delivery.kind === 'notification') {
    return new StopsOnly({
      message: `${fn} came as a JSON-RPC notification (no "id", or "id": null), so nobody would hear its outcome; only the stops (${STOP_LIST}) run from a notification. Send it as a request with an "id" to run it`,
      function: fn,
      delivery: delivery.kind,
    });
  }
  return new StopsOnly({
    message: `${fn} came in a broadcast whose addressing this driver cannot evaluate (${delivery.addressing}); only the stops (${STOP_LIST}) run then. Address it with a list of "targets" and no "where" to run it`,
    function: fn,
    delivery: delivery.kind,
  });
}

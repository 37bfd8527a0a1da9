// Calls that come with nobody to answer them the usual way run only when they stop the robot
// (stopsOnlyRefusal): a JSON-RPC notification on `.cmd` or `.supervisor`, and a broadcast whose
// addressing this driver cannot evaluate — missing a stop is never the safe side. Likewise a stop
// whose envelope is malformed runs as far as it can be read (stopDespite); any other call so sent
// stays refused. Owns these decisions, with the StopsOnly refusal explaining the first; pure. Which
// functions are stops is the catalogue's (their `stop` form, src/rpc/catalogue.ts STOP_FUNCTIONS); the
// wires mark the calls (src/protocol/mesh-wire.ts), the gate applies the decision (src/actors/rpc-gate.ts).
import { StopsOnly } from '../errors.ts';
import type { CallerMeta } from '../protocol/json-rpc.ts';
import { STOP_FUNCTIONS } from '../rpc/catalogue.ts';
import type { IgnoredParam } from '../protocol/ignored-param.ts';

/** Whether `fn` stops the robot (and so runs from a notification or an unevaluable broadcast). */
export function isStop(fn: string): boolean {
  return STOP_FUNCTIONS.has(fn);
}

const STOP_LIST = [...STOP_FUNCTIONS].join(', ');

/** The stop names as they appear quoted in a JSON body. */
const QUOTED_STOPS = [...STOP_FUNCTIONS].map((name) => Buffer.from(JSON.stringify(name)));

/** Whether a body names a stop at all: only then is a body over the size limit read, to run it. */
export function mentionsStop(bytes: Uint8Array): boolean {
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return QUOTED_STOPS.some((name) => body.includes(name));
}

/** A call as the wires hand it on (src/protocol/mesh-wire.ts MeshCall). */
interface ReadCall {
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly caller: CallerMeta;
}

/**
 * THE decision for a call whose envelope (not its params) the wire cannot take (a bad id, positional
 * params, NaN, over the size limit, a broadcast late to skip or scheduled ahead, no correlation id…):
 * a stop runs anyway, with `params` and `caller` as far as they could be read and each problem of the
 * envelope named in `caller.ignoredEnvelope` (the gate puts them first in the stop's
 * `ignored_params`); undefined for every other function, which the wire refuses (or drops) as before.
 */
export function stopDespite(method: unknown, ignored: ReadonlyArray<IgnoredParam>, params: Record<string, unknown>, caller: CallerMeta): ReadCall | undefined {
  if (typeof method !== 'string' || !isStop(method)) return undefined;
  return { method, params, caller: { ...caller, ignoredEnvelope: [...(caller.ignoredEnvelope ?? []), ...ignored] } };
}

/**
 * THE decision: null when the call may go on through the gate (a plain call, or a stop however it
 * came), else the StopsOnly refusal saying why and what to send instead. A notification (no `id`)
 * would bring a motion command's outcome to nobody, so it is not run — a stop is. A broadcast whose
 * addressing this driver cannot evaluate (a `where` condition, `targets` that are not a list): a stop
 * fails open — stopping a robot that was not meant is harmless, missing one that was meant is not;
 * anything else fails closed, as before.
 */
export function stopsOnlyRefusal(fn: string, caller: CallerMeta): StopsOnly | null {
  const delivery = caller.delivery;
  if (!delivery || isStop(fn)) return null;
  if (delivery.kind === 'unanswered_broadcast') {
    return new StopsOnly({
      message: `${fn} came in a broadcast that cannot be answered (${delivery.why}); only the stops (${STOP_LIST}) run then. Send it with a correlation_id to run it`,
      function: fn,
      delivery: delivery.kind,
    });
  }
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

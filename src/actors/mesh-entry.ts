// The one entry for every call that reaches the device over the mesh — `.cmd`, `.supervisor`,
// `.svc.<fn>`, `.broadcast` (device-connect-protocol.md §2.1–2.3, §2.11; ecosystem.md §3.3): decode →
// the RPC gate → encode → reply-size check against the broker's max_payload (too big → a
// PayloadTooLarge reply that fits) → send, in one try/catch: no reply on any path throws out of a
// handler. Notifications go through the same gate and are never answered (outcome logged,
// rate-limited). Knows the calls in flight (`settled`) so a draining mesh answers them. Owns that
// sequence and its counters; not the wire formats (protocol/), the decisions (gate, machines,
// safety/) nor NATS I/O (adapters/).
import { HandlerFailed, messageOf, type RpcFailure } from '../errors.ts';
import { createLogger } from '../logging/logger.ts';
import { rateLimited } from '../logging/rate-limited.ts';
import { PayloadTooLarge } from '../media/encoding/frame-errors.ts';
import type { MeshCall, MeshWire, ReplySink, WireReply } from '../protocol/mesh-wire.ts';
import type { GateResult, RpcGate } from './rpc-gate.ts';

const log = createLogger('mesh');

/** At most one warning line per this interval for replies that could not be sent (a flood of bad calls stays readable). */
export const REPLY_WARNING_INTERVAL_MS = 10_000;

export interface MeshEntryCounters {
  /** Replies over max_payload that were answered with PayloadTooLarge instead. */
  readonly oversizeReplies: number;
  /** Replies dropped: even the PayloadTooLarge error did not fit, or sending threw. */
  readonly droppedReplies: number;
}

export interface MeshEntry {
  /** Decodes, gates and answers one message; never rejects, never throws. `subject`: where it was published (a signature covers it). */
  handle<R>(gate: RpcGate, wire: MeshWire<R>, data: Uint8Array, sink: ReplySink, subject?: string): Promise<void>;
  counters(): MeshEntryCounters;
  /**
   * Resolves once every call handled so far has been answered (its reply handed to the sink), or
   * after `waitMs`, with the number still unanswered then.
   */
  settled(waitMs: number): Promise<number>;
}

/** A gate that throws is a bug a caller can repeat at will: logged at once, then at most this often. */
export const GATE_THREW_LOG_INTERVAL_MS = 10_000;
const gateThrew = rateLimited(log, 'error', GATE_THREW_LOG_INTERVAL_MS);

/** The gate's answer; a gate that throws (a bug) still gets the caller a HandlerFailed reply. */
async function callGate(gate: RpcGate, call: MeshCall): Promise<GateResult> {
  try {
    return await gate.call(call.method, call.params, call.caller);
  } catch (error) {
    gateThrew('gate threw', { method: call.method, error: error as Error });
    return { ok: false, error: new HandlerFailed({ message: messageOf(error) }) };
  }
}

/**
 * Notification outcomes are logged at most this often per kind (run, not run): a sender that
 * publishes one per frame must not flood the log, and the first line already names cause and fix.
 */
export const NOTIFICATION_LOG_INTERVAL_MS = 10_000;
const notificationRun = rateLimited(log, 'warn', NOTIFICATION_LOG_INTERVAL_MS);
const notificationNotRun = rateLimited(log, 'warn', NOTIFICATION_LOG_INTERVAL_MS);

/** How an unanswered call came, and what to send to hear its outcome. */
function cameAs(call: MeshCall): { came: string; fix: string } {
  const delivery = call.caller.delivery;
  if (delivery?.kind === 'unanswered_broadcast') return { came: `in a broadcast with ${delivery.why}`, fix: 'give it a correlation_id' };
  return { came: 'as a JSON-RPC notification', fix: 'send it with an "id"' };
}

/** Runs a notification (or a broadcast stop with no reply subject) through the gate; nobody hears the outcome, so the log does (the audit has the gate's record). */
async function runUnanswered(gate: RpcGate, call: MeshCall): Promise<void> {
  const outcome = await callGate(gate, call);
  const { came, fix } = cameAs(call);
  if (outcome.ok) {
    notificationRun(`${call.method} came ${came}: run, not answered; ${fix} to hear its outcome`, { method: call.method });
  } else {
    notificationNotRun(`${call.method} came ${came} and was not run: ${outcome.error.message}`, { method: call.method, error_tag: outcome.error._tag });
  }
}

/** The call with the subject it arrived on added to its signature claim (when it is signed). */
function withSubject(call: MeshCall, subject: string | undefined): MeshCall {
  const claim = call.caller.claim;
  return claim && subject !== undefined ? { ...call, caller: { ...call.caller, claim: { ...claim, subject } } } : call;
}

/** The reply for an outcome; a result JSON cannot encode (a cycle, a bigint) becomes HandlerFailed. */
function encode<R>(wire: MeshWire<R>, ref: R, outcome: GateResult, method: string | undefined): WireReply {
  try {
    return outcome.ok ? wire.result(ref, method ?? '', outcome.result) : wire.error(ref, outcome.error, method);
  } catch (error) {
    return wire.error(ref, new HandlerFailed({ message: `the reply could not be encoded as JSON: ${messageOf(error)}` }), method);
  }
}

function replyTooLarge(bytes: number, limit: number): RpcFailure {
  return new PayloadTooLarge({
    message: `the reply is ${bytes} bytes, over the broker's max_payload of ${limit} bytes; ask for less or raise max_payload on the broker`,
    rpcJsonBytes: bytes,
    maxPayloadBytes: limit,
  });
}

export function createMeshEntry(): MeshEntry {
  let oversizeReplies = 0;
  let droppedReplies = 0;
  const warnDropped = rateLimited(log, 'warn', REPLY_WARNING_INTERVAL_MS);

  /** The reply that fits the broker, or undefined when not even the error about its size does. */
  const fitted = <R>(wire: MeshWire<R>, sink: ReplySink, ref: R, reply: WireReply, method: string | undefined): WireReply | undefined => {
    const limit = sink.maxPayload();
    if (limit === undefined) return reply;
    const bytes = sink.bytesOver(reply, limit);
    if (bytes === null) return reply;
    oversizeReplies += 1;
    const refusal = wire.error(ref, replyTooLarge(bytes, limit), method);
    if (sink.bytesOver(refusal, limit) === null) return refusal;
    droppedReplies += 1;
    warnDropped('reply dropped: even its PayloadTooLarge error is over the broker max_payload', { path: wire.path, method, bytes, max_payload: limit });
    return undefined;
  };

  /** Calls inside `handle` (counted from its first line to its reply), and who waits for none to be. */
  let inFlight = 0;
  let waiting: Array<() => void> = [];

  return {
    async handle(gate, wire, data, sink, subject) {
      inFlight += 1;
      let method: string | undefined;
      try {
        const decoded = wire.decode(data);
        if (decoded.kind === 'ignore') {
          // A signed broadcast for someone else: its signature remembered, so a re-addressed copy is a replay.
          if (decoded.elsewhere) gate.witness?.(decoded.elsewhere.method, decoded.elsewhere.params, withSubject(decoded.elsewhere, subject).caller);
          return;
        }
        if (decoded.kind === 'unanswered') return await runUnanswered(gate, withSubject(decoded.call, subject));
        let outcome: GateResult;
        if (decoded.kind === 'reject') {
          method = decoded.method;
          outcome = { ok: false, error: decoded.error };
        } else {
          method = decoded.call.method;
          outcome = await callGate(gate, withSubject(decoded.call, subject));
        }
        const reply = fitted(wire, sink, decoded.ref, encode(wire, decoded.ref, outcome, method), method);
        if (reply) sink.send(reply);
      } catch (error) {
        droppedReplies += 1;
        warnDropped('reply could not be sent', { path: wire.path, method, error: error as Error });
      } finally {
        inFlight -= 1;
        if (inFlight === 0) for (const resolve of waiting.splice(0)) resolve();
      }
    },
    counters: () => ({ oversizeReplies, droppedReplies }),
    async settled(waitMs) {
      if (inFlight === 0) return 0;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          waiting = waiting.filter((w) => w !== done);
          resolve();
        }, waitMs);
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        waiting.push(done);
      });
      return inFlight;
    },
  };
}

/**
 * The gate with `builtins` answered in front of it (`requestRegistration` on `.cmd`, §2.7); the rest
 * passes on, and so does a builtin sent as a notification (no answer to give: the gate refuses it).
 */
export function withBuiltins(gate: RpcGate, builtins: Readonly<Record<string, () => unknown>>): RpcGate {
  // A Map, not a property check on `builtins`: the method name a request parsed is a fresh string,
  // and looking it up as a property key interns it first (a string-table lookup on every call).
  const byName = new Map(Object.entries(builtins));
  return {
    functionNames: gate.functionNames,
    has: (method) => byName.has(method) || gate.has(method),
    // The gate's own promise is passed on as it is (no extra async frame per call).
    call: (method, params, caller) => {
      const builtin = caller.delivery ? undefined : byName.get(method);
      return builtin ? Promise.resolve({ ok: true, result: builtin() }) : gate.call(method, params, caller);
    },
  };
}

// The shape of one RPC function of the device: its advertised definition (name, agent-facing
// description, labels, parameters) and how a decoded call becomes a driver-machine event, and the
// one bound on owner names (the `owner` parameter's pattern; the gate uses it before decoding), and
// whether a function is a stop (its `stop` form). Owns no behaviour: the gate (src/actors/rpc-gate.ts)
// runs calls, src/rpc/stop-params.ts decides a stop's params, the machines decide outcomes.
import type { CallerMeta } from '../protocol/json-rpc.ts';
import type { ParamsSpec } from './params.ts';

export interface FunctionLabels {
  readonly direction: 'read' | 'write';
  readonly safety: 'critical' | 'informational';
  readonly modality?: string;
}

/** What the gate knows about a call besides its parameters. */
export interface CallContext {
  readonly requestId: string;
  readonly function: string;
  /** `_dc_meta.source_device`: asserted by the caller, not authenticated (protocol §3.7). */
  readonly caller: CallerMeta;
}

/**
 * Longest owner name: 64 characters hold a user nkey (56) or a `device@host` name, and keep an
 * owner shown in status, logs and audit records short.
 */
export const OWNER_MAX_LENGTH = 64;
/** Owner names: short printable ids (no spaces, quotes or control characters), at most OWNER_MAX_LENGTH. */
export const OWNER_PATTERN = new RegExp(`^[A-Za-z0-9._:@/-]{1,${OWNER_MAX_LENGTH}}$`);
/** OWNER_PATTERN in words, for refusals and schemas. */
export const OWNER_TEXT = 'letters, digits and . _ : @ / -';

/** Whether `value` could be an owner name (the `owner` parameter's bound), before any decoding. */
export function isPlausibleOwner(value: unknown): value is string {
  return typeof value === 'string' && value.length <= OWNER_MAX_LENGTH && OWNER_PATTERN.test(value);
}

/** Who acts on a supervisor or policy call: the verified key of a signed call, else the `owner` param. */
export function actingOwner(ownerParam: string, call: CallContext): string {
  return call.caller.verified?.key ?? ownerParam;
}

/**
 * How a stop takes the form it was sent in: never refused for it (src/rpc/stop-params.ts ignores a
 * parameter that fails validation and says so in the answer and the audit).
 */
export interface StopForm<P> {
  /** Free-text parameters cut to their advertised `maxLength` when longer (any other bad value takes its default). */
  readonly cut: ReadonlyArray<string>;
  /**
   * A stop with a privileged part (a trip: emergency_stop, trip): the event that stops motion alone,
   * as stop_motion does. The gate sends it when the call is refused for who sent it or the driver's
   * mode — stopping is always allowed; tripping the interlock is what may be refused.
   */
  readonly instead?: (params: P, call: CallContext) => { type: string };
}

export interface RpcFunction<P = unknown, E extends { type: string } = { type: string }> {
  readonly name: string;
  /** Written for agents: what it does, units, limits, what it returns. */
  readonly description: string;
  readonly labels: FunctionLabels;
  readonly params: ParamsSpec<P>;
  /** The event the driver machine receives for this call. */
  toEvent(params: P, call: CallContext): E;
  /**
   * How long the gate waits for the machine's outcome before answering OutcomeTimeout: a number, or
   * derived from the call (a move with `wait` takes its own duration plus margins).
   */
  readonly timeoutMs?: number | ((params: P) => number);
  /**
   * A read whose answer is the same for every caller at one moment (no parameters, nothing of the
   * caller in its event): the gate answers the calls of one event-loop turn with one machine event
   * (src/actors/shared-reads.ts). Each call still passes every check of the gate on its own.
   */
  readonly sharedRead?: true;
  /** Present on the stops (stop_motion, emergency_stop, trip): see StopForm. */
  readonly stop?: StopForm<P>;
}

/** Keeps the params type of each function while collecting them in one list. */
export function defineFunction<P, E extends { type: string }>(fn: RpcFunction<P, E>): RpcFunction<P, E> {
  return fn;
}

export interface EventDefinition {
  readonly name: string;
  readonly description: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly payloadSchema: { readonly type: 'object'; readonly properties: Record<string, unknown>; readonly required: ReadonlyArray<string> };
}

/** A function of any parameter type, for lists (the parameter type is checked where it is defined). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRpcFunction = RpcFunction<any, { type: string }>;

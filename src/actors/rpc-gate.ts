// The one path every RPC takes (design card): a call that came unanswered goes on only when it is a
// stop (src/safety/stop-only-calls.ts) → who the caller is (src/safety/caller-identity.ts) → params
// decoded with the function's Effect Schema (a stop's leniently: src/rpc/stop-params.ts) → the caller
// allowlist → the caller's rate limit → `snapshot.can(event)` → (held for approval: the decision,
// then `can()` again) → `send` (shared reads: src/actors/shared-reads.ts) → await the machine's
// `rpc.outcome` with a timeout → reply. A trip refused for its caller or by the state gate still stops
// motion (insteadOf). Owns nothing else: no daemon I/O, no machine state (the rate limiter keeps its
// buckets); a refusal's typed error is the composing actor's `explainRefusal`, else NotAllowedInState.
import { randomUUID } from 'node:crypto';
import * as Result from 'effect/Result';
import type { AnyActorRef } from 'xstate';
import { HandlerFailed, InvalidParams, NotAllowedInState, OutcomeTimeout, RateLimited, UnknownMethod, type RpcFailure } from '../errors.ts';
import { rateClassOf, type RateLimiter } from '../rpc/rate-limits.ts';
import type { CallerMeta } from '../protocol/json-rpc.ts';
import { isPlausibleOwner, type AnyRpcFunction, type RpcFunction } from '../rpc/function-def.ts';
import { stopsOnlyRefusal } from '../safety/stop-only-calls.ts';
import { stopParams, type IgnoredParam, type StopParams } from '../rpc/stop-params.ts';
import { refusedButStopped, withIgnored } from './stop-answer.ts';
import { sharedReads } from './shared-reads.ts';

/** Default wait for an outcome: below the 30 s timeout of agent-tools and the MCP bridge (§2.13). */
export const DEFAULT_OUTCOME_TIMEOUT_MS = 20_000;

/** The gate's wait for one call: the function's own (derived from the call when it is a function), else the default. */
export function outcomeTimeoutMs<P>(fn: RpcFunction<P, { type: string }>, params: P, defaultMs: number = DEFAULT_OUTCOME_TIMEOUT_MS): number {
  const own = typeof fn.timeoutMs === 'function' ? fn.timeoutMs(params) : fn.timeoutMs;
  return own ?? defaultMs;
}

/** The caller a limit is counted for: the event's owner (`_dc_meta` wins there), else the source device. */
function rateKey(event: { type: string }, caller: CallerMeta): string {
  const owner = (event as { owner?: unknown }).owner;
  return typeof owner === 'string' ? owner : (caller.sourceDevice ?? 'anonymous');
}

/** The RateLimited refusal of this call, or null when it is within its class's limit (or has none). */
function rateLimited(limiter: RateLimiter | undefined, method: string, event: { type: string }, caller: CallerMeta): { error: RateLimited; firstInBurst: boolean } | null {
  const cls = limiter ? rateClassOf(method) : null;
  if (!limiter || !cls) return null;
  const decision = limiter.take(rateKey(event, caller), cls);
  if (decision.ok) return null;
  const error = new RateLimited({ message: `${method}: more than ${decision.limitPerS} ${cls} calls per second from this caller; retry in ${decision.retryAfterMs} ms`, rateClass: cls, limitPerSecond: decision.limitPerS, retry_after_ms: decision.retryAfterMs });
  return { error, firstInBurst: decision.firstInBurst };
}

export type GateResult = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: RpcFailure };

/** A stop that did not run quite as sent, once answered (the audit's record of it). */
export interface StopAnswered {
  readonly fn: string;
  readonly caller: CallerMeta;
  /** The event sent: the call's own, or the `instead` event (stop_motion's) of a refused trip. */
  readonly event: { type: string };
  /** The parameters it ignored (src/rpc/stop-params.ts). */
  readonly ignored: ReadonlyArray<IgnoredParam>;
  /** A trip refused (for who sent it, or by the state gate) that stopped motion instead; null: it ran as asked. */
  readonly refused: RpcFailure | null;
  /** The machine's outcome of the event sent (the stop's own answer). */
  readonly stop: GateResult;
  /** The gate's answer to the caller. */
  readonly answer: GateResult;
}

interface OutcomeEvent {
  readonly type: 'rpc.outcome';
  readonly requestId: string;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: RpcFailure;
}

export interface GateTarget {
  getSnapshot(): { can(event: never): boolean; value: unknown };
  send(event: never): void;
  on(type: 'rpc.outcome', handler: (event: OutcomeEvent) => void): { unsubscribe(): void };
}

export interface RpcGateOptions {
  readonly functions: ReadonlyArray<AnyRpcFunction>;
  readonly target: GateTarget | AnyActorRef;
  /** Turns a refused event into the most specific typed error (interlock, lease, asleep…); without it, or when it has none, NotAllowedInState. */
  readonly explainRefusal?: (snapshot: unknown, event: { type: string }, fn: string) => RpcFailure | undefined;
  /** Called for every refusal (audit trail and `safety_event`); a rate-limited burst once. */
  readonly onRefusal?: (info: { fn: string; error: RpcFailure; caller: CallerMeta; event: { type: string } }) => void;
  /** Per-caller rate limits by class of function, checked before the state gate. */
  readonly rateLimiter?: RateLimiter;
  /** Holds a call for a human's approval (src/actors/approval-stage.ts): null when not held, else the verdict (null: approved). */
  readonly hold?: (call: { fn: string; event: { type: string }; params: Record<string, unknown>; caller: CallerMeta }) => Promise<RpcFailure | null> | null;
  /** The caller allowlist (src/safety/caller-allow.ts; identity, not state): a refusal here comes before the rate limit and the state gate. */
  readonly callerRefusal?: (call: { fn: string; labels: RpcFunction['labels']; event: { type: string }; caller: CallerMeta }) => RpcFailure | null;
  /** Called for every call the gate sends to the machine (after every check and any approval): the audit of accepted commands. */
  readonly onAccepted?: (info: { fn: string; caller: CallerMeta; event: { type: string }; params: Record<string, unknown> }) => void;
  /** Who the caller is (src/safety/caller-identity.ts): a signed call verified, an unsigned one checked; first of all the gate's decisions. */
  readonly identify?: (call: { fn: string; labels: RpcFunction['labels']; params: Readonly<Record<string, unknown>>; caller: CallerMeta }) => { ok: true; caller: CallerMeta } | { ok: false; error: RpcFailure; stopAs?: CallerMeta };
  /** Told of a signed call seen but not run here (a broadcast addressed elsewhere): remembered against replays (src/safety/caller-identity.ts `witness`). */
  readonly witness?: (call: { fn: string; params: Readonly<Record<string, unknown>>; caller: CallerMeta }) => void;
  /** Told the caller (the rate limiter's key) of every decoded call, refused or not: the dead-man hears it. */
  readonly onCall?: (callerKey: string) => void;
  /** Told of every stop that ignored parameters or stopped motion instead of a refused trip, once answered (the audit). */
  readonly onStopAnswered?: (info: StopAnswered) => void;
  /** The wait for a function without its own (default DEFAULT_OUTCOME_TIMEOUT_MS); only tests shorten it. */
  readonly defaultOutcomeTimeoutMs?: number;
}

export interface RpcGate {
  readonly functionNames: ReadonlyArray<string>;
  has(method: string): boolean;
  call(method: string, params: Record<string, unknown>, caller: CallerMeta): Promise<GateResult>;
  /** A signed call seen but not to be run here (a broadcast addressed elsewhere): never run, never answered, its signature remembered. */
  witness?(method: string, params: Record<string, unknown>, caller: CallerMeta): void;
}

/** The gate's answer for a machine's outcome. */
function resultOf(outcome: OutcomeEvent): GateResult {
  return outcome.ok ? { ok: true, result: outcome.result } : { ok: false, error: outcome.error ?? new HandlerFailed({ message: 'failed without a reason' }) };
}

/**
 * The calls waiting for their `rpc.outcome`, by request id, behind ONE listener on the target (a
 * listener per call made every outcome visit every waiting call: 64 in flight, 64 handler runs per
 * outcome). The listener is subscribed at the first wait and kept for the gate's life: subscribing
 * and unsubscribing around every call cost more than the lookup it saves (one call in flight).
 */
function outcomeWaiters(target: GateTarget) {
  const waiting = new Map<string, (outcome: OutcomeEvent) => void>();
  let subscribed = false;
  const onOutcome = (outcome: OutcomeEvent) => {
    const waiter = waiting.get(outcome.requestId);
    if (!waiter) return;
    waiting.delete(outcome.requestId);
    waiter(outcome);
  };
  return {
    /** Registers `onOutcome` for `requestId` (before the event is sent: the machine may answer inside `send`). */
    wait(requestId: string, waiter: (outcome: OutcomeEvent) => void): void {
      if (!subscribed) {
        target.on('rpc.outcome', onOutcome);
        subscribed = true;
      }
      waiting.set(requestId, waiter);
    },
    /** Stops waiting for `requestId` (its timeout fired). */
    cancel(requestId: string): void {
      waiting.delete(requestId);
    },
    /** Calls waiting now (tests: a timed-out or answered call leaves none behind). */
    size: () => waiting.size,
  };
}

/** A call that passed every check before the machine's, ready to be sent. */
interface Admitted {
  readonly fn: RpcFunction<unknown, { type: string }>;
  readonly params: Record<string, unknown>;
  readonly decoded: unknown;
  readonly event: { type: string };
  readonly requestId: string;
  readonly caller: CallerMeta;
  /** A stop's parameters it ignored (none for every other function: they are decoded strictly). */
  readonly ignored: ReadonlyArray<IgnoredParam>;
}

/**
 * A stop's params as it runs them (src/rpc/stop-params.ts), what it ignored listed after the parts of
 * its envelope the wire could not take (`caller.ignoredEnvelope`: src/safety/stop-only-calls.ts).
 */
function stopForm(fn: RpcFunction<unknown, { type: string }>, params: Record<string, unknown>, caller: CallerMeta): Result.Result<StopParams<unknown>, InvalidParams> {
  const form = stopParams(fn, params);
  const envelope = caller.ignoredEnvelope ?? [];
  if (envelope.length === 0 || Result.isFailure(form)) return form;
  return Result.succeed({ decoded: form.success.decoded, ignored: [...envelope, ...form.success.ignored] });
}

/** `params` as `fn` runs them: a stop's never refused for their form (src/rpc/stop-params.ts), every other function's strictly. */
function decodeParams(fn: RpcFunction<unknown, { type: string }>, params: Record<string, unknown>, caller: CallerMeta): Result.Result<StopParams<unknown>, RpcFailure> {
  if (fn.stop) return stopForm(fn, params, caller);
  const decoded = fn.params.decode(params);
  return Result.isSuccess(decoded) ? Result.succeed({ decoded: decoded.success, ignored: [] }) : Result.fail(decoded.failure);
}

/** A trip whose privileged part was refused: it stops motion instead (`instead`: its function's `stop.instead`), as `caller`. */
interface StopInstead {
  readonly fn: RpcFunction<unknown, { type: string }>;
  readonly instead: NonNullable<NonNullable<RpcFunction<unknown, { type: string }>['stop']>['instead']>;
  readonly decoded: unknown;
  readonly ignored: ReadonlyArray<IgnoredParam>;
  readonly caller: CallerMeta;
  readonly refused: RpcFailure;
}

/**
 * THE rule of a refused stop: a function with an `instead` form (a trip) refused with `refused` — for
 * who sent it, or by the state gate — stops motion instead, as `caller`; any other refusal stays one
 * (null). `form`: the params as decoded already (else decoded here, as a stop's). Reported already.
 */
function insteadOf(fn: RpcFunction<unknown, { type: string }>, refused: RpcFailure, caller: CallerMeta, params: Record<string, unknown>, form?: StopParams<unknown>): StopInstead | null {
  const instead = fn.stop?.instead;
  if (!instead) return null;
  if (form) return { fn, instead, decoded: form.decoded, ignored: form.ignored, caller, refused };
  const decoded = stopForm(fn, params, caller);
  return Result.isSuccess(decoded) ? { fn, instead, decoded: decoded.success.decoded, ignored: decoded.success.ignored, caller, refused } : null;
}

/** `caller` without its signature claim: who a refused caller stops as when the identity check says nothing. */
function unclaimed(caller: CallerMeta): CallerMeta {
  const { claim: _claim, ...asserted } = caller;
  return asserted;
}

/**
 * The StopsOnly refusal (reported, with the owner when it could be one) of a call that came unanswered
 * (a notification, an unevaluable broadcast) and is not a stop; null otherwise.
 */
function notAStop(options: RpcGateOptions, method: string, params: Record<string, unknown>, caller: CallerMeta): GateResult | null {
  const error = stopsOnlyRefusal(method, caller);
  if (!error) return null;
  options.onRefusal?.({ fn: method, error, caller, event: { type: 'stops_only.refused', ...(isPlausibleOwner(params.owner) ? { owner: params.owner } : {}) } });
  return { ok: false, error };
}

/** The state gate now: null when `can()` accepts the call, else its typed refusal (reported). */
function refusedNow(options: RpcGateOptions, target: GateTarget, { fn, event, caller }: Admitted): GateResult | null {
  const snapshot = target.getSnapshot();
  if (snapshot.can(event as never)) return null;
  const error =
    options.explainRefusal?.(snapshot, event, fn.name) ??
    new NotAllowedInState({ message: `${fn.name} is not allowed in the current state`, function: fn.name, state: snapshot.value });
  options.onRefusal?.({ fn: fn.name, error, caller, event });
  return { ok: false, error };
}

/**
 * The checks before the state gate, in order: who the caller is, the params, the event, the caller
 * allowlist, the rate limit (the dead-man hears the caller first). The refusal, or the call to gate.
 */
function admit(options: RpcGateOptions, fn: RpcFunction<unknown, { type: string }>, params: Record<string, unknown>, asserted: CallerMeta, newRequestId: () => string): GateResult | Admitted | StopInstead {
  const method = fn.name;
  const identified = options.identify?.({ fn: method, labels: fn.labels, params, caller: asserted }) ?? { ok: true, caller: asserted };
  if (!identified.ok) {
    // Refused before the params are decoded: the owner is recorded only when it could be one (a
    // 600,000-character `owner` must not become a 1.2 MB audit record).
    const event = { type: 'caller.refused', ...(isPlausibleOwner(params.owner) ? { owner: params.owner } : {}) };
    options.onRefusal?.({ fn: method, error: identified.error, caller: asserted, event });
    return insteadOf(fn, identified.error, identified.stopAs ?? unclaimed(asserted), params) ?? { ok: false, error: identified.error };
  }
  const caller = identified.caller;
  const decoded = decodeParams(fn, params, caller);
  if (Result.isFailure(decoded)) return { ok: false, error: decoded.failure };
  const requestId = newRequestId();
  let event: { type: string };
  try {
    event = fn.toEvent(decoded.success.decoded, { requestId, function: method, caller });
  } catch (error) {
    // A check of the params as a whole (look_at_point's reach) refuses as the params check does.
    return { ok: false, error: error instanceof InvalidParams ? error : new HandlerFailed({ message: (error as Error).message }) };
  }
  const notAllowed = options.callerRefusal?.({ fn: method, labels: fn.labels, event, caller });
  if (notAllowed) {
    options.onRefusal?.({ fn: method, error: notAllowed, caller, event });
    return { ok: false, error: notAllowed };
  }
  options.onCall?.(rateKey(event, caller));
  const limited = rateLimited(options.rateLimiter, method, event, caller);
  if (limited) {
    if (limited.firstInBurst) options.onRefusal?.({ fn: method, error: limited.error, caller, event });
    return { ok: false, error: limited.error };
  }
  return { fn, params, decoded: decoded.success.decoded, event, requestId, caller, ignored: decoded.success.ignored };
}

/** The gate as built here: also says how many calls wait for their outcome now (tests). */
export type CreatedRpcGate = RpcGate & { readonly waiting: () => number };

export function createRpcGate(options: RpcGateOptions): CreatedRpcGate {
  const byName = new Map(options.functions.map((fn) => [fn.name, fn] as const));
  const target = options.target as unknown as GateTarget;
  const waiters = outcomeWaiters(target);
  const defaultTimeoutMs = options.defaultOutcomeTimeoutMs ?? DEFAULT_OUTCOME_TIMEOUT_MS;
  // Request ids: one random prefix per gate (gates share the root's outcomes) and a counter — a
  // random UUID per call cost 1.5 % of the driver's busy time at 64 calls in flight.
  const idPrefix = `${randomUUID()}-`;
  let issued = 0;
  /**
   * Sends `method`'s `event` and gets its `rpc.outcome`: the result itself when the machine answered
   * inside `send` (no timer, no promise), else a promise of it, at most `timeoutMs`; never rejects.
   */
  const sendAndWait = (method: string, event: { type: string }, requestId: string, timeoutMs: number): GateResult | Promise<GateResult> => {
    let answer: GateResult | undefined;
    let settle: ((result: GateResult) => void) | undefined;
    // Waiting before sending: the machine may answer synchronously inside `send`.
    waiters.wait(requestId, (outcome) => {
      const result = resultOf(outcome);
      if (settle) settle(result);
      else answer = result;
    });
    target.send(event as never);
    if (answer) return answer;
    return new Promise<GateResult>((resolve) => {
      const timer = setTimeout(() => {
        waiters.cancel(requestId);
        resolve({ ok: false, error: new OutcomeTimeout({ message: `${method} got no outcome within ${timeoutMs} ms`, function: method, timeoutMs }) });
      }, timeoutMs);
      settle = (result) => {
        clearTimeout(timer);
        resolve(result);
      };
    });
  };
  const shared = sharedReads(sendAndWait);
  /** Sends an admitted call and awaits its `rpc.outcome` for that request id; a shared read joins the one event of its turn. */
  const dispatch = (call: Admitted): Promise<GateResult> => {
    const { fn, event, requestId, caller, params, ignored } = call;
    const timeoutMs = outcomeTimeoutMs(fn, call.decoded, defaultTimeoutMs);
    options.onAccepted?.({ fn: fn.name, caller, event, params });
    if (fn.sharedRead) return shared.join(fn.name, event, requestId, timeoutMs);
    const answer = sendAndWait(fn.name, event, requestId, timeoutMs);
    if (ignored.length === 0) return answer instanceof Promise ? answer : Promise.resolve(answer);
    return Promise.resolve(answer).then((outcome) => {
      const told = withIgnored(outcome, ignored);
      options.onStopAnswered?.({ fn: fn.name, caller, event, ignored, refused: null, stop: outcome, answer: told });
      return told;
    });
  };
  /** A refused trip stops motion instead (its `instead` event, as stop_motion); the refusal answers, carrying the stop (src/actors/stop-answer.ts). */
  const stopInstead = async (call: StopInstead): Promise<GateResult> => {
    const { fn, caller, ignored, refused } = call;
    const requestId = `${idPrefix}${++issued}`;
    const event = call.instead(call.decoded, { requestId, function: fn.name, caller });
    const stop = await sendAndWait(fn.name, event, requestId, outcomeTimeoutMs(fn, call.decoded, defaultTimeoutMs));
    const answer: GateResult = { ok: false, error: refusedButStopped(refused, stop, ignored) };
    options.onStopAnswered?.({ fn: fn.name, caller, event, ignored, refused, stop, answer });
    return answer;
  };
  /** A held call: refused by the human, or approved and then gated again (the state may have changed meanwhile). */
  const afterApproval = async (call: Admitted, held: Promise<RpcFailure | null>): Promise<GateResult> => {
    const verdict = await held;
    if (verdict) return { ok: false, error: verdict };
    return refusedNow(options, target, call) ?? dispatch(call);
  };
  return {
    functionNames: [...byName.keys()],
    has: (method) => byName.has(method),
    waiting: waiters.size,
    witness: (method, params, caller) => options.witness?.({ fn: method, params, caller }),
    call(method, params, asserted) {
      const fn = byName.get(method) as RpcFunction<unknown, { type: string }> | undefined;
      if (!fn) return Promise.resolve({ ok: false, error: new UnknownMethod({ message: `Unknown method: ${method}`, method }) });
      const unanswered = notAStop(options, method, params, asserted);
      if (unanswered) return Promise.resolve(unanswered);
      const admitted = admit(options, fn, params, asserted, () => `${idPrefix}${++issued}`);
      if ('refused' in admitted) return stopInstead(admitted);
      if ('ok' in admitted) return Promise.resolve(admitted);
      const refused = refusedNow(options, target, admitted);
      const instead = refused && !refused.ok ? insteadOf(fn, refused.error, admitted.caller, params, admitted) : null;
      if (instead) return stopInstead(instead);
      if (refused) return Promise.resolve(refused);
      // Refused early (above) is never held.
      const held = options.hold?.({ fn: method, event: admitted.event, params, caller: admitted.caller });
      return held ? afterApproval(admitted, held) : dispatch(admitted);
    },
  };
}

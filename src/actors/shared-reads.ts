// Coalescing of shared reads (RpcFunction.sharedRead: get_status, get_safety_policy): the calls of
// one function that pass the gate in one event-loop turn share ONE machine event, one outcome wait
// and one encoding of the result, so 64 calls in flight cost one XState macrostep, one timer and
// one JSON.stringify of the status instead of 64 (issue 11, README "Where the time goes: RPC").
// Owns only the batching. Not the checks: identity, params, allowlist, rate limit and `can()` run
// per call in the gate (src/actors/rpc-gate.ts) before a call joins a batch.
import { shareResult } from '../protocol/result-json.ts';

/** An outcome as the gate answers it (GateResult): a result to share, or a refusal. */
type Outcome = { readonly ok: true; readonly result: unknown } | { readonly ok: false };

/** Sends one event and gets its outcome (the gate's own path): the outcome itself when the machine answered inside `send`; never rejects. */
export type SendAndWait<O extends Outcome> = (method: string, event: { type: string }, requestId: string, timeoutMs: number) => O | Promise<O>;

export interface SharedReads<O extends Outcome> {
  /**
   * The outcome of `method` for a call that passed every check now: the batch of this turn (its
   * event is sent once, after the calls already queued in this turn have joined) or a new one
   * carrying this call's event.
   */
  join(method: string, event: { type: string }, requestId: string, timeoutMs: number): Promise<O>;
}

/** The outcome, its result marked as shared (encoded once for every call of the batch). */
function shared<O extends Outcome>(outcome: O): O {
  if (outcome.ok) shareResult(outcome.result);
  return outcome;
}

export function sharedReads<O extends Outcome>(sendAndWait: SendAndWait<O>): SharedReads<O> {
  const filling = new Map<string, Promise<O>>();
  return {
    join(method, event, requestId, timeoutMs) {
      const open = filling.get(method);
      if (open) return open;
      // Sent in a microtask: every call decoded from the same socket read joins first. An outcome
      // given inside `send` settles the batch in that same microtask (no promise hops after it).
      const batch = Promise.resolve().then(() => {
        filling.delete(method);
        const outcome = sendAndWait(method, event, requestId, timeoutMs);
        return outcome instanceof Promise ? outcome.then(shared) : shared(outcome);
      });
      filling.set(method, batch);
      return batch;
    },
  };
}

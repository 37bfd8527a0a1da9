// Verified callers (issue 13 part 2): THE check of a call's `_dc_meta` signature against
// --trusted-callers — over subject, request id, method, params digest, timestamp and a broadcast's
// targets/where/fire_at/on_late (src/protocol/caller-signature.ts), the key (or its JWT's issuer)
// trusted, the timestamp inside the replay window, the (key, request id) pair new — and of unsigned
// calls under --require-signed-callers. `identify` runs once per call, first; a signed broadcast
// addressed elsewhere is only remembered (`witness`). A verified caller is its public key; who a
// refused caller may still stop motion as is said here (`stopAs`). Owns the replay cache; no I/O
// (floors kept across a restart come in and go out as values). Threat model "Spoofing".
import { fromPublic } from '@nats-io/nkeys';
import { CallerNotTrusted, messageOf, ReplayRejected, SignatureInvalid, SignatureRequired, type RpcFailure } from '../errors.ts';
import { createLogger } from '../logging/logger.ts';
import { rateLimited } from '../logging/rate-limited.ts';
import { TooDeepToCanonicalise } from '../protocol/canonical-json.ts';
import type { KeyObject } from 'node:crypto';
import { ed25519PublicKeyOf, signingInput, verifiesEd25519 } from '../protocol/caller-signature.ts';
import { isRecord } from '../protocol/json-object.ts';
import type { CallerClaim, CallerMeta } from '../protocol/json-rpc.ts';
import type { FunctionLabels } from '../rpc/function-def.ts';
import { ALWAYS_ALLOWED_FUNCTIONS } from './caller-allow.ts';

/**
 * A signed call is accepted this long either side of the driver's clock: covers NTP-synced hosts and
 * a 20–30 s RPC round trip under load, while keeping the replay cache (which must span it) small.
 */
export const REPLAY_WINDOW_MS = 30_000;
/** Request ids remembered for replay refusal: 10 000 × ~150 B ≈ 1.5 MB, far above any sane call rate over 30 s. */
export const REPLAY_CACHE_SIZE = 10_000;
/**
 * An accepted call dated more than this ahead of the driver's clock is reported (`onAheadAccepted`)
 * to be kept across a restart: only such a call can carry a `caller_ts` after the next start, and no
 * driver stops and starts again in 50 ms (its start-up alone takes ≥ 200 ms, `npm run bench`).
 */
export const PERSIST_AHEAD_MS = 50;
/** Who a stop (never refused) is recorded as when its signature or its named key does not check out. */
export const UNVERIFIED_CALLER = 'unverified-caller';
/** An nkey public key: a prefix letter and 55 base32 characters. */
const PUBLIC_NKEY = /^[A-Z][A-Z2-7]{55}$/;

/**
 * The caller of a call, or why it may not go on — and then who it may still stop motion as (stopping
 * is always allowed: a refused trip stops motion instead, src/actors/rpc-gate.ts).
 */
export type Identified = { readonly ok: true; readonly caller: CallerMeta } | { readonly ok: false; readonly error: RpcFailure; readonly stopAs?: CallerMeta };

export interface CallerIdentityOptions {
  /** Trusted public keys: user keys (`U…`) and account or account signing keys (`A…`) that issued a caller's JWT. */
  readonly trusted: ReadonlyArray<string>;
  /** Refuse unsigned state-changing calls (stops excepted). */
  readonly requireSigned: boolean;
  readonly now?: () => number;
  readonly windowMs?: number;
  readonly cacheSize?: number;
  /**
   * Per key, the newest `caller_ts` of the calls a driver before this one accepted dated ahead of its
   * clock (src/adapters/replay-floor-file.ts): a call of that key at or below it is refused.
   */
  readonly restoredFloors?: ReadonlyMap<string, number>;
  /** Told each accepted call dated more than PERSIST_AHEAD_MS ahead, before the call runs (to keep it across a restart). */
  readonly onAheadAccepted?: (key: string, ts: number) => void;
}

export interface CallerIdentity {
  /** The caller of this call, verified when it is signed; or why the call may not go on. */
  identify(call: { fn: string; labels: FunctionLabels; params: Readonly<Record<string, unknown>>; caller: CallerMeta }): Identified;
  /**
   * A signed call seen but not run here (a broadcast addressed elsewhere): when its signature checks
   * out, its key is trusted and it is new inside the window, its (key, request id) is remembered as
   * if accepted, so a copy re-addressed here is refused as `seen`. Bounded by the replay cache.
   */
  witness(call: { fn: string; params: Readonly<Record<string, unknown>>; caller: CallerMeta }): void;
}

/** A signature that checked out, by a trusted key (or a key whose JWT a trusted key issued). */
interface Signer {
  readonly ok: true;
  readonly key: string;
  readonly ts: number;
  readonly requestId: string;
  readonly issuer: string | null;
}

/** Whether `id` has the shape of a user public nkey: the identities only a signature can claim. */
export function isUserKey(id: unknown): id is string {
  return typeof id === 'string' && id.startsWith('U') && PUBLIC_NKEY.test(id);
}

/** Whether `key` is a valid public nkey with one of `prefixes` (checksum included). */
export function isPublicKey(key: string, prefixes: string): boolean {
  if (!PUBLIC_NKEY.test(key) || !prefixes.includes(key[0] ?? '')) return false;
  try {
    fromPublic(key);
    return true;
  } catch {
    return false;
  }
}

/** Ed25519 key objects of the keys seen, so each is parsed once; bounded (a trusted list and its JWT users). */
const KEY_OBJECT_CACHE_SIZE = 1_024;
const keyObjects = new Map<string, KeyObject>();

/** Whether `sigB64url` is `key`'s signature of `data` (`key` already checked by isPublicKey). */
function verifies(key: string, data: Uint8Array, sigB64url: string): boolean {
  try {
    let object = keyObjects.get(key);
    if (!object) {
      object = ed25519PublicKeyOf(key);
      if (keyObjects.size >= KEY_OBJECT_CACHE_SIZE) keyObjects.delete(keyObjects.keys().next().value!);
      keyObjects.set(key, object);
    }
    return verifiesEd25519(object, data, Buffer.from(sigB64url, 'base64url'));
  } catch {
    return false;
  }
}

const log = createLogger('caller-identity');
/** A caller check that throws is a bug met by a caller's value: said once, then at most every 10 s. */
const CHECK_FAILED_LOG_INTERVAL_MS = 10_000;
const checkFailed = rateLimited(log, 'warn', CHECK_FAILED_LOG_INTERVAL_MS);

/** The account (signing) key that issued `jwt` for user `key`, or the problem with it. */
export function jwtIssuer(jwt: string, key: string, nowMs: number): { ok: true; issuer: string } | { ok: false; problem: string } {
  const parts = jwt.split('.');
  if (parts.length !== 3) return { ok: false, problem: 'caller_jwt is not a JWT' };
  let header: unknown;
  let claims: unknown;
  try {
    header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, problem: 'caller_jwt does not decode' };
  }
  if (!isRecord(header) || !isRecord(claims)) return { ok: false, problem: 'caller_jwt header or claims are not JSON objects' };
  if (typeof header.alg !== 'string') return { ok: false, problem: 'caller_jwt names no algorithm' };
  const alg = header.alg.slice(0, 32).toLowerCase();
  if (alg !== 'ed25519-nkey' && alg !== 'ed25519') return { ok: false, problem: `caller_jwt algorithm ${alg} is not ed25519-nkey` };
  if (claims.sub !== key) return { ok: false, problem: 'caller_jwt is for another key than caller_key' };
  const issuer = claims.iss;
  if (typeof issuer !== 'string' || !isPublicKey(issuer, 'A')) return { ok: false, problem: 'caller_jwt issuer is not an account key' };
  if (typeof claims.exp === 'number' && claims.exp * 1000 <= nowMs) return { ok: false, problem: 'caller_jwt has expired' };
  if (!verifies(issuer, new TextEncoder().encode(`${parts[0]}.${parts[1]}`), parts[2]!)) return { ok: false, problem: 'caller_jwt signature does not verify' };
  return { ok: true, issuer };
}

/**
 * (key, request id) pairs of accepted calls, oldest first. In memory, empty at start: a call signed
 * before the start is refused (`before_start`), since the driver that ran before it (a crash, a
 * restart) may have accepted it and its cache is gone; a call it accepted dated after this start (its
 * signer's clock ahead) is refused by that key's floor, restored from its file. Evicting one still inside the window (the
 * cache is full) raises that key's floor: every later call of that key at or below it is refused, so
 * no replay gets through eviction. Floors are per key: one key flooding the cache (with timestamps
 * up to 30 s ahead) raises only its own, never another caller's. Floors past the window refuse
 * nothing the window does not and are dropped; should more keys than the cache holds have a live
 * floor (a trusted account minting users to flood it), the lowest floors are dropped first.
 */
class ReplayCache {
  readonly #seen = new Map<string, { readonly key: string; readonly ts: number }>();
  readonly #floors = new Map<string, number>();
  readonly size: number;
  readonly windowMs: number;
  /** When this cache started (the driver's start): nothing signed earlier can be told from a replay. */
  readonly startedAtMs: number;
  constructor(size: number, windowMs: number, startedAtMs: number, restored: ReadonlyMap<string, number> = new Map()) {
    this.size = size;
    this.windowMs = windowMs;
    this.startedAtMs = startedAtMs;
    // Floors below the start refuse nothing `before_start` does not.
    for (const [key, ts] of restored) if (ts >= startedAtMs) this.#floors.set(key, ts);
    if (this.#floors.size > size) this.#pruneFloors(startedAtMs);
  }

  refusal(key: string, id: string, ts: number, nowMs: number): 'seen' | 'stale' | 'forgotten' | 'future' | 'before_start' | null {
    if (ts > nowMs + this.windowMs) return 'future';
    if (ts < nowMs - this.windowMs) return 'stale';
    if (ts < this.startedAtMs) return 'before_start';
    if (ts <= (this.#floors.get(key) ?? Number.NEGATIVE_INFINITY)) return 'forgotten';
    return this.#seen.has(id) ? 'seen' : null;
  }

  remember(key: string, id: string, ts: number, nowMs: number): void {
    for (const [old, entry] of this.#seen) {
      if (entry.ts >= nowMs - this.windowMs && this.#seen.size < this.size) break;
      this.#seen.delete(old);
      if (entry.ts >= nowMs - this.windowMs) this.#floors.set(entry.key, Math.max(this.#floors.get(entry.key) ?? Number.NEGATIVE_INFINITY, entry.ts));
    }
    this.#seen.set(id, { key, ts });
    if (this.#floors.size > this.size) this.#pruneFloors(nowMs);
  }

  #pruneFloors(nowMs: number): void {
    pruneFloors(this.#floors, nowMs - this.windowMs, this.size);
  }
}

/**
 * Drops from `floors` (key → caller_ts) those below `oldest` (they refuse nothing the window does not),
 * then, past `maxKeys`, the lowest first. The replay cache's and the floor file's (replay-floor-file.ts).
 */
export function pruneFloors(floors: Map<string, number>, oldest: number, maxKeys: number): void {
  for (const [key, floor] of floors) if (floor < oldest) floors.delete(key);
  const excess = floors.size - maxKeys;
  if (excess <= 0) return;
  for (const [key] of [...floors].sort((a, b) => a[1] - b[1]).slice(0, excess)) floors.delete(key);
}

/**
 * Who a caller whose identity was refused still stops motion as: UNVERIFIED_CALLER when it claimed
 * (signed) or named (an nkey as source or owner) an identity it did not prove; else — unsigned, naming
 * no key, refused only because signing is required — the caller it asserts, as any unsigned stop.
 */
function stopCallerOf(caller: CallerMeta, params: Readonly<Record<string, unknown>>): CallerMeta {
  const { claim, ...asserted } = caller;
  const unproven = claim !== undefined || isUserKey(caller.sourceDevice) || isUserKey(params.owner);
  return unproven ? { ...asserted, sourceDevice: UNVERIFIED_CALLER } : asserted;
}

/** A refusal of who the caller is (before who it may still stop as is added). */
type Refused = { readonly ok: false; readonly error: RpcFailure };

function invalid(key: string | null, problem: string): Refused {
  return { ok: false, error: new SignatureInvalid({ message: `the call's signature was refused: ${problem}`, key, problem }) };
}

export function createCallerIdentity(options: CallerIdentityOptions): CallerIdentity {
  const trusted = new Set(options.trusted);
  const now = options.now ?? Date.now;
  const windowMs = options.windowMs ?? REPLAY_WINDOW_MS;
  // The floor at start: a signer whose clock runs d behind the driver's is refused for d after a
  // start (its fresh calls look older than the start); README "Verified callers" says so.
  const replays = new ReplayCache(options.cacheSize ?? REPLAY_CACHE_SIZE, windowMs, now(), options.restoredFloors);

  /** The signer of `claim` when its signature checks out and its key (or JWT issuer) is trusted; else the refusal. */
  const signerOf = (fn: string, params: Readonly<Record<string, unknown>>, claim: CallerClaim): Signer | Refused => {
    const { key, sig, ts, jwt, requestId, subject, envelope } = claim;
    if (typeof key !== 'string' || !isPublicKey(key, 'U')) return invalid(null, 'caller_key is not a user public nkey (U…)');
    if (typeof sig !== 'string' || sig.length === 0) return invalid(key, 'caller_sig is missing');
    if (typeof ts !== 'number' || !Number.isSafeInteger(ts)) return invalid(key, 'caller_ts is not an integer of milliseconds');
    if (requestId === null || subject === null) return invalid(key, 'the call has no request id to sign (send _dc_meta.request_id on .svc)');
    let signed: Uint8Array;
    try {
      signed = signingInput({ subject, requestId, method: fn, params, ts, ...(envelope === undefined ? {} : { envelope }) });
    } catch (error) {
      if (error instanceof TooDeepToCanonicalise) return invalid(key, `the params cannot be checked against the signature: ${error.message}`);
      throw error;
    }
    if (!verifies(key, signed, sig)) {
      const covered = envelope === undefined ? '' : '; on .broadcast also targets, where, fire_at, on_late';
      return invalid(key, `the signature does not match the call (subject, request id, method, params, caller_ts${covered})`);
    }
    if (trusted.has(key)) return { ok: true, key, ts, requestId, issuer: null };
    if (typeof jwt !== 'string') return { ok: false, error: new CallerNotTrusted({ message: `caller key ${key} is not in --trusted-callers`, key, issuer: null }) };
    const checked = jwtIssuer(jwt, key, now());
    if (!checked.ok) return invalid(key, checked.problem);
    if (!trusted.has(checked.issuer)) return { ok: false, error: new CallerNotTrusted({ message: `caller key ${key} and its JWT issuer ${checked.issuer} are not in --trusted-callers`, key, issuer: checked.issuer }) };
    return { ok: true, key, ts, requestId, issuer: checked.issuer };
  };

  /** Why `signer`'s call is a replay (or outside the window) at `t`; null when it is new. */
  const replayRefusal = ({ key, ts, requestId }: Signer, t: number): ReplayRejected | null => {
    const replay = replays.refusal(key, `${key}\n${requestId}`, ts, t);
    if (!replay) return null;
    const why =
      replay === 'seen'
        ? `request id ${requestId} was already used`
        : replay === 'forgotten'
          ? `caller_ts is not after that of a call of this key the driver no longer remembers, or accepted before a restart (send a newer caller_ts)`
          : replay === 'before_start'
            ? `the call was signed before this driver started (caller_ts ${Math.round((replays.startedAtMs - ts) / 1000)} s before its start at ${new Date(replays.startedAtMs).toISOString()}), and calls accepted before a restart are not remembered; sign it again`
            : `caller_ts is ${Math.round((t - ts) / 1000)} s from the driver's clock (window ±${windowMs / 1000} s)`;
    return new ReplayRejected({ message: `replay refused: ${why}`, key, request_id: requestId, reason: replay === 'forgotten' ? 'stale' : replay, window_ms: windowMs });
  };

  /** `signer`'s call, remembered when it is new; else its replay refusal. */
  const accepted = (signer: Signer): ReplayRejected | null => {
    const t = now();
    const refused = replayRefusal(signer, t);
    if (refused) return refused;
    replays.remember(signer.key, `${signer.key}\n${signer.requestId}`, signer.ts, t);
    if (signer.ts > t + PERSIST_AHEAD_MS) options.onAheadAccepted?.(signer.key, signer.ts);
    return null;
  };

  const verifySigned = (fn: string, params: Readonly<Record<string, unknown>>, caller: CallerMeta, claim: CallerClaim): Identified => {
    const signer = signerOf(fn, params, claim);
    if (!signer.ok) return signer;
    const replay = accepted(signer);
    if (replay) return { ok: false, error: replay };
    const { key, issuer } = signer;
    return { ok: true, caller: { ...caller, sourceDevice: key, verified: { key, assertedAs: caller.sourceDevice, issuer } } };
  };

  const identify: CallerIdentity['identify'] = ({ fn, labels, params, caller }) => {
    if (caller.claim) return verifySigned(fn, params, caller, caller.claim);
    if (isUserKey(caller.sourceDevice) || isUserKey(params.owner)) {
      const named = isUserKey(caller.sourceDevice) ? caller.sourceDevice : String(params.owner);
      return { ok: false, error: new SignatureRequired({ message: `${fn}: an unsigned call may not name an nkey identity (${named}); only a signed call is that caller`, function: fn, reason: 'names_verified_caller' }) };
    }
    if (options.requireSigned && labels.direction === 'write' && !ALWAYS_ALLOWED_FUNCTIONS.has(fn)) {
      return { ok: false, error: new SignatureRequired({ message: `${fn}: this driver requires signed calls for state-changing functions (--require-signed-callers); sign with your .creds seed`, function: fn, reason: 'required' }) };
    }
    return { ok: true, caller };
  };
  /** identify, where a throw (a check that met a value it did not expect) is a refusal like any other. */
  const identifiedOrRefused: CallerIdentity['identify'] = (call) => {
    try {
      return identify(call);
    } catch (error) {
      checkFailed('a caller check failed on an unexpected value; the call is refused as unverified', { function: call.fn, error: messageOf(error) });
      return invalid(null, 'the call could not be checked');
    }
  };
  return {
    witness({ fn, params, caller }) {
      try {
        const signer = caller.claim && signerOf(fn, params, caller.claim);
        if (signer && signer.ok) accepted(signer);
      } catch (error) {
        checkFailed('a caller check failed on an unexpected value; the call seen is not remembered', { function: fn, error: messageOf(error) });
      }
    },
    identify(call) {
      const identified = identifiedOrRefused(call);
      if (identified.ok) return identified;
      const stopAs = stopCallerOf(call.caller, call.params);
      // A stop is a guarantee: a stop whose caller cannot be verified still runs (as stopAs).
      return ALWAYS_ALLOWED_FUNCTIONS.has(call.fn) ? { ok: true, caller: stopAs } : { ...identified, stopAs };
    },
  };
}

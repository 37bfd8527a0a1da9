// `npm run bench` (and `node bench/caller-signature.ts` alone): what verified callers cost per call
// (issue 13 part 2) — `identify` of a signed `goto_pose` (RFC 8785 params digest, Ed25519 verify,
// replay check) and of a JWT-trusted one (plus the JWT's own verify), as µs per call and as ratios
// to the unsigned check of the same call, interleaved in the same run. Also the client's signing
// cost. Owns only measurement; no assertions (benchmarks are never timed tests).
import { createAccount, createUser } from '@nats-io/nkeys';
import { ed25519SignerOf, signatureFields, type SigningKey } from '../src/protocol/caller-signature.ts';
import type { CallerMeta } from '../src/protocol/json-rpc.ts';
import { createCallerIdentity } from '../src/safety/caller-identity.ts';

/** Calls per case per round; 10 rounds × 4 cases × 500 stay ~2 s on the 2-core box. */
const CALLS_PER_ROUND = 500;
const ROUNDS = 10;
const SUBJECT = 'device-connect.default.reachy-mini.cmd';
const PARAMS = { yaw: 12.5, pitch: -3, roll: 0, duration_s: 1.2, owner: 'agent', wait: false };
const WRITE = { direction: 'write', safety: 'critical' } as const;

/** A user JWT for the JWT-trust case (@nats-io/jwt is a devDependency: absent in an installed package, that case is skipped). */
async function userJwt(account: ReturnType<typeof createAccount>, user: ReturnType<typeof createUser>): Promise<string | undefined> {
  try {
    const { encodeUser } = await import('@nats-io/jwt');
    return await encodeUser('bench', user, account);
  } catch {
    return undefined;
  }
}

export async function runCallerSignatureBench(): Promise<Record<string, number>> {
  const userPair = createUser();
  const jwtUserPair = createUser();
  // The client signs with node:crypto from the seed (src/client/caller-signer.ts); so does the bench.
  const user = ed25519SignerOf(new TextDecoder().decode(userPair.getSeed()));
  const jwtUser = ed25519SignerOf(new TextDecoder().decode(jwtUserPair.getSeed()));
  const account = createAccount();
  const jwt = await userJwt(account, jwtUserPair);
  const identity = createCallerIdentity({ trusted: [user.getPublicKey(), account.getPublicKey()], requireSigned: false });
  let seq = 0;
  const signedCaller = (pair: SigningKey, withJwt?: string): CallerMeta => {
    const requestId = `b-${++seq}`;
    const fields = signatureFields(pair, { subject: SUBJECT, requestId, method: 'goto_pose', params: PARAMS, ts: Date.now() }, withJwt);
    return { sourceDevice: null, traceId: null, claim: { key: fields.caller_key, sig: fields.caller_sig, ts: fields.caller_ts, jwt: fields.caller_jwt, requestId, subject: SUBJECT } };
  };
  const totals: Record<string, number> = { unsigned: 0, sign: 0, verify_key: 0, verify_jwt: 0 };
  const time = (name: string, run: () => void) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < CALLS_PER_ROUND; i++) run();
    totals[name]! += Number(process.hrtime.bigint() - start) / 1000;
  };
  for (let round = 0; round < ROUNDS; round++) {
    time('unsigned', () => identity.identify({ fn: 'goto_pose', labels: WRITE, params: PARAMS, caller: { sourceDevice: null, traceId: null } }));
    time('sign', () => signatureFields(user, { subject: SUBJECT, requestId: 'x', method: 'goto_pose', params: PARAMS, ts: Date.now() }));
    // Signing the request is part of preparing it; only identify is what the driver spends.
    const keyed = Array.from({ length: CALLS_PER_ROUND }, () => signedCaller(user));
    let k = 0;
    time('verify_key', () => identity.identify({ fn: 'goto_pose', labels: WRITE, params: PARAMS, caller: keyed[k++]! }));
    if (jwt) {
      const viaJwt = Array.from({ length: CALLS_PER_ROUND }, () => signedCaller(jwtUser, jwt));
      let j = 0;
      time('verify_jwt', () => identity.identify({ fn: 'goto_pose', labels: WRITE, params: PARAMS, caller: viaJwt[j++]! }));
    }
  }
  const n = CALLS_PER_ROUND * ROUNDS;
  return Object.fromEntries(Object.entries(totals).map(([name, us]) => [name, us / n]));
}

export function formatCallerSignature(perCallUs: Record<string, number>): string {
  const base = perCallUs.unsigned ?? 1;
  const line = (name: string, label: string) => (perCallUs[name] ? `  ${label.padEnd(44)} ${perCallUs[name]!.toFixed(1).padStart(8)} µs/call  ×${(perCallUs[name]! / base).toFixed(0)}\n` : '');
  return `\nverified callers (identify per call, ratio to the unsigned check):\n${line('unsigned', 'unsigned call (baseline)')}${line('verify_key', 'signed, trusted key')}${line('verify_jwt', 'signed, trusted through the account JWT')}${line('sign', 'client: signing one call')}`;
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(formatCallerSignature(await runCallerSignatureBench()));

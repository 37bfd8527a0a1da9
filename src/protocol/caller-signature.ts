// The signed-caller wire format (issue 13 part 2), shared by the signer (the TypeScript client) and
// the verifier (src/safety/caller-identity.ts): which `_dc_meta` fields carry the signature, the
// canonical params digest (RFC 8785 JSON canonicalisation, SHA-256) and the exact bytes signed — on
// `.broadcast` also the envelope fields that decide where, when and whether the call runs (§2.11).
// Additive to device-connect-protocol.md §2.1: an unsigned `_dc_meta` is untouched, and devices that
// do not know these fields ignore them. Pure: no I/O, no key storage; signing takes a key pair.
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { fromSeed } from '@nats-io/nkeys';
import { canonicalJson } from './canonical-json.ts';

/** First line of every signed input: a signature can never be replayed as another format or version. */
export const SIGNING_DOMAIN = 'device-connect-call-v1';

/** `_dc_meta` field names of a signed call. */
export const SIGNED_META = {
  /** The caller's public user nkey (`U…`, 56 characters). */
  key: 'caller_key',
  /** Ed25519 signature of `signingInput(...)`, base64url without padding. */
  sig: 'caller_sig',
  /** Milliseconds since the Unix epoch when the caller signed (an integer). */
  ts: 'caller_ts',
  /** Optional: the caller's user JWT, when the driver trusts the account (signing) key that issued it. */
  jwt: 'caller_jwt',
  /** The request id on paths without one of their own (`.svc.<function>`); `.cmd` signs the JSON-RPC id, `.broadcast` its correlation id. */
  requestId: 'request_id',
} as const;

/** What a signature covers. */
export interface SignedCall {
  /** The subject the request was published on (`device-connect.<tenant>.<device>.cmd`…). */
  readonly subject: string;
  readonly requestId: string;
  readonly method: string;
  /** The named params without `_dc_meta`. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly ts: number;
  /** On `.broadcast` only (there always, even when it has none of these fields): the envelope as sent. */
  readonly envelope?: BroadcastEnvelope;
}

/**
 * The broadcast envelope fields (besides correlation id, function and params) that decide where,
 * when and whether a call runs (§2.11): who it is for, its condition, its schedule and what a late
 * one does. A broadcast's signature covers each, so nobody who sees it can re-address it, drop its
 * condition or reschedule it. Values are the envelope's JSON as sent; undefined = absent.
 */
export interface BroadcastEnvelope {
  readonly targets?: unknown;
  readonly where?: unknown;
  readonly fire_at?: unknown;
  readonly on_late?: unknown;
}

/** The signed envelope fields, in the order of their lines in the signed input. */
export const SIGNED_ENVELOPE_FIELDS = ['targets', 'where', 'fire_at', 'on_late'] as const;

/**
 * The line of an envelope field the broadcast does not have: not the canonical JSON of any value, so
 * a dropped field never signs like one sent as null, "" or [].
 */
export const ABSENT_FIELD = '-';

/** The envelope's lines: each field's canonical JSON (which has no raw line break), or ABSENT_FIELD. */
function envelopeLines(envelope: BroadcastEnvelope): string[] {
  return SIGNED_ENVELOPE_FIELDS.map((field) => (envelope[field] === undefined ? ABSENT_FIELD : canonicalJson(envelope[field])));
}

/** SHA-256 (hex) of the canonical params. */
export function paramsDigest(params: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(canonicalJson(params), 'utf8').digest('hex');
}

/**
 * The exact bytes signed: domain, subject, request id, method, params digest, timestamp — one per
 * line; a broadcast adds its envelope's targets, where, fire_at and on_late (ten lines).
 */
export function signingInput(call: SignedCall): Uint8Array {
  const lines = [SIGNING_DOMAIN, call.subject, call.requestId, call.method, paramsDigest(call.params), String(call.ts)];
  const text = (call.envelope === undefined ? lines : [...lines, ...envelopeLines(call.envelope)]).join('\n');
  return new TextEncoder().encode(text);
}

/** What signs: an nkeys KeyPair fits, and so does `ed25519SignerOf` (node:crypto, ~100× faster than nkeys' JS Ed25519). */
export interface SigningKey {
  getPublicKey(): string;
  sign(data: Uint8Array): Uint8Array;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding, as nkeys encode keys and seeds. */
function base32Decode(text: string): Uint8Array {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    const index = BASE32.indexOf(ch);
    if (index < 0) throw new RangeError('not base32');
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

/** The raw 32-byte Ed25519 key inside a public nkey (one prefix byte, the key, two CRC bytes). Validate the nkey first. */
export function ed25519PublicKeyOf(nkey: string): KeyObject {
  const raw = base32Decode(nkey).subarray(1, 33);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

/** Whether `sig` is `key`'s Ed25519 signature of `data`. */
export function verifiesEd25519(key: KeyObject, data: Uint8Array, sig: Uint8Array): boolean {
  return sig.byteLength === 64 && verify(null, data, key, sig);
}

/** A signing key from a user seed (`SU…`): the seed's 32 raw bytes after its two prefix bytes. Throws on a bad seed. */
export function ed25519SignerOf(seed: string): SigningKey {
  const publicKey = fromSeed(new TextEncoder().encode(seed)).getPublicKey();
  const d = Buffer.from(base32Decode(seed).subarray(2, 34)).toString('base64url');
  const x = Buffer.from(base32Decode(publicKey).subarray(1, 33)).toString('base64url');
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d, x }, format: 'jwk' });
  return { getPublicKey: () => publicKey, sign: (data) => new Uint8Array(sign(null, data, privateKey)) };
}

/** The `_dc_meta` fields that sign `call` with `pair` (a user key from a `.creds` seed). */
export function signatureFields(pair: SigningKey, call: SignedCall, jwt?: string): Record<string, unknown> {
  return {
    [SIGNED_META.key]: pair.getPublicKey(),
    [SIGNED_META.sig]: Buffer.from(pair.sign(signingInput(call))).toString('base64url'),
    [SIGNED_META.ts]: call.ts,
    ...(jwt ? { [SIGNED_META.jwt]: jwt } : {}),
  };
}

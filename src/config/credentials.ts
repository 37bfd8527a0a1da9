// Mesh credentials: NATS `.creds` files (nsc format), portal `.creds.json` files, and the inline
// NATS_JWT + NATS_NKEY_SEED pair (device-connect-protocol.md §3.3). Owns parsing the text, the
// size limit and a file's fingerprint (SHA-256 of its bytes: how answers, the audit and the in-effect
// view tell two files apart without their content); secrets leave here only inside `Secret`. Pure:
// reading the file and its permission check are src/adapters/config-files.ts's; precedence is
// config.ts's, NATS options nats-options.ts's.
import { createHash } from 'node:crypto';
import { Secret } from './secret.ts';

/** Largest credentials file we read; real ones are ~1–2 KiB (the upload limit is 256 KiB). */
export const MAX_CREDENTIALS_FILE_BYTES = 256 * 1024;

export interface TlsFiles {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

export interface LoadedCredentials {
  readonly kind: 'nats-creds' | 'portal-json' | 'inline-jwt';
  /** Path of the file it came from (never its content). */
  readonly path?: string;
  /** fingerprintOf the bytes of the file it came from (a file replaced at the same path differs here); absent for inline credentials. */
  readonly fingerprint?: string;
  readonly jwt: Secret;
  readonly seed: Secret;
  /** Public identity fields of a portal file. */
  readonly deviceId?: string;
  readonly tenant?: string;
  readonly urls?: ReadonlyArray<string>;
  readonly tls?: TlsFiles;
}

/** `sha256:<hex>` of a credentials file's bytes: names its content without revealing it. */
export function fingerprintOf(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
  readonly _tag = 'CredentialsError';
}

const JWT_BLOCK = /-----BEGIN NATS USER JWT-----\s*\n([\s\S]*?)\n\s*------END NATS USER JWT------/;
const SEED_BLOCK = /-----BEGIN USER NKEY SEED-----\s*\n([\s\S]*?)\n\s*------END USER NKEY SEED------/;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const USER_SEED_SHAPE = /^SU[A-Z2-7]{56}$/;

function firstContentLine(block: string): string {
  return (
    block
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.length > 0 && !l.startsWith('*')) ?? ''
  );
}

/** Parses the text of a NATS `.creds` file; throws CredentialsError saying what is wrong. */
export function parseNatsCreds(text: string, path?: string): LoadedCredentials {
  const jwtMatch = JWT_BLOCK.exec(text);
  const seedMatch = SEED_BLOCK.exec(text);
  if (!jwtMatch?.[1] || !seedMatch?.[1]) {
    throw new CredentialsError('not a NATS .creds file: expected a "NATS USER JWT" block and a "USER NKEY SEED" block');
  }
  const jwt = firstContentLine(jwtMatch[1]);
  const seed = firstContentLine(seedMatch[1]);
  if (!JWT_SHAPE.test(jwt)) throw new CredentialsError('the .creds file has a malformed user JWT');
  if (!USER_SEED_SHAPE.test(seed)) throw new CredentialsError('the .creds file has a malformed user nkey seed (expected SU…)');
  return { kind: 'nats-creds', ...(path ? { path } : {}), jwt: new Secret(jwt), seed: new Secret(seed) };
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new CredentialsError(`portal credentials: "${field}" must be a string`);
  return value;
}

/** Parses a portal `.creds.json` (the `nats` section; §3.3). */
export function parsePortalJson(text: string, path?: string): LoadedCredentials {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new CredentialsError('not valid JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new CredentialsError('portal credentials must be a JSON object');
  const record = doc as Record<string, unknown>;
  const nats = record.nats;
  if (typeof nats !== 'object' || nats === null || Array.isArray(nats)) {
    throw new CredentialsError('portal credentials have no "nats" section (only the NATS backend is supported)');
  }
  const section = nats as Record<string, unknown>;
  const jwt = optionalString(section.jwt, 'nats.jwt');
  const seed = optionalString(section.nkey_seed, 'nats.nkey_seed');
  if (!jwt || !seed) throw new CredentialsError('portal credentials need both "nats.jwt" and "nats.nkey_seed"');
  if (!JWT_SHAPE.test(jwt)) throw new CredentialsError('portal credentials have a malformed "nats.jwt"');
  if (!USER_SEED_SHAPE.test(seed)) throw new CredentialsError('portal credentials have a malformed "nats.nkey_seed" (expected SU…)');
  let urls: string[] | undefined;
  if (typeof section.urls === 'string') urls = section.urls.split(',').map((u) => u.trim()).filter(Boolean);
  else if (Array.isArray(section.urls)) {
    if (!section.urls.every((u) => typeof u === 'string')) throw new CredentialsError('"nats.urls" must be strings');
    urls = section.urls as string[];
  }
  const tlsSection = typeof section.tls === 'object' && section.tls !== null ? (section.tls as Record<string, unknown>) : {};
  const tls: TlsFiles = {
    ...(optionalString(tlsSection.ca_file ?? section.tls_ca_file, 'nats.tls.ca_file') ? { caFile: String(tlsSection.ca_file ?? section.tls_ca_file) } : {}),
    ...(optionalString(tlsSection.cert_file, 'nats.tls.cert_file') ? { certFile: String(tlsSection.cert_file) } : {}),
    ...(optionalString(tlsSection.key_file, 'nats.tls.key_file') ? { keyFile: String(tlsSection.key_file) } : {}),
  };
  const deviceId = optionalString(record.device_id, 'device_id');
  const tenant = optionalString(record.tenant, 'tenant');
  return {
    kind: 'portal-json',
    ...(path ? { path } : {}),
    jwt: new Secret(jwt),
    seed: new Secret(seed),
    ...(deviceId ? { deviceId } : {}),
    ...(tenant ? { tenant } : {}),
    ...(urls && urls.length > 0 ? { urls } : {}),
    ...(Object.keys(tls).length > 0 ? { tls } : {}),
  };
}

/** Parses credentials text by content (JSON object → portal file, else `.creds`). */
export function parseCredentialsText(text: string, path?: string): LoadedCredentials {
  return text.trimStart().startsWith('{') ? parsePortalJson(text, path) : parseNatsCreds(text, path);
}

export interface CredentialsFileWarning {
  readonly path: string;
  readonly mode: string;
}

export function inlineCredentials(jwt: string, seed: string): LoadedCredentials {
  if (!JWT_SHAPE.test(jwt)) throw new CredentialsError('NATS_JWT is not a JWT');
  if (!USER_SEED_SHAPE.test(seed)) throw new CredentialsError('NATS_NKEY_SEED is not a user nkey seed (expected SU…)');
  return { kind: 'inline-jwt', jwt: new Secret(jwt), seed: new Secret(seed) };
}

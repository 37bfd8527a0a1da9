// Credentials upload (`POST /api/credentials/upload`, reference-driver.md §10 "Upload steps", with
// its bugs fixed): the name rules (a plain basename, `.json`/`.creds`), the size limit enforced while
// the body streams, parsing before anything is stored, no silent overwrite, atomic 0600 storage in
// `<configDir>/credentials/`, then the settings update. A failed upload writes nothing and changes
// no setting; answers carry the stored path and a SHA-256 fingerprint, never the content. Owns
// those steps and their file I/O; the name rules (src/settings/credentials-upload-rules.ts) and the
// fingerprint (src/config/credentials.ts) are pure; the multipart plumbing and the apply after an
// upload are upload-route.ts's.
import { chmod, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { CredentialsError, fingerprintOf, parseCredentialsText } from '../../config/credentials.ts';
import { createLogger } from '../../logging/logger.ts';
import { CREDENTIALS_DIR_NAME, uploadNameProblem } from '../../settings/credentials-upload-rules.ts';
import { HttpFailure } from '../../settings/http-failure.ts';
import { describeIssues, type AppSettings } from '../../settings/settings-schema.ts';
import { mergeChanges } from '../../settings/settings-changes.ts';
import { lstatIfExists, PRIVATE_FILE_MODE, writePrivateFileAtomic } from '../private-files.ts';
import { savedOrConflict } from './saved-or-conflict.ts';
import type { SettingsStore } from './settings-store.ts';

const log = createLogger('settings:upload');

export type LimitedRead = { readonly ok: true; readonly bytes: Buffer } | { readonly ok: false };

/**
 * Reads a streamed file part up to `max` bytes. Gives up at the multipart parser's `limit` event
 * (or the first byte over `max`) and destroys the part: the parser then stops reading the request,
 * so the rest of an oversized body is neither buffered nor drained — the caller answers 413 and
 * the connection is closed. (Waiting for the part's end would drain the whole body first.)
 */
export function readLimited(stream: Readable & { readonly truncated?: boolean }, max: number): Promise<LimitedRead> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      stream.off('limit', onLimit);
      stream.off('end', onEnd);
      stream.off('error', onError);
      outcome();
    };
    const tooLarge = (): void =>
      settle(() => {
        stream.on('error', () => undefined);
        stream.destroy();
        resolve({ ok: false });
      });
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > max) tooLarge();
      else chunks.push(chunk);
    };
    const onLimit = (): void => tooLarge();
    const onEnd = (): void => (stream.truncated === true ? tooLarge() : settle(() => resolve({ ok: true, bytes: Buffer.concat(chunks, total) })));
    const onError = (error: unknown): void => settle(() => reject(error));
    stream.on('data', onData);
    stream.once('limit', onLimit);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}

export interface UploadResult {
  readonly ok: true;
  readonly path: string;
  readonly fingerprint: string;
  readonly kind: 'nats-creds' | 'portal-json';
  readonly device_id: string | null;
  readonly tenant: string | null;
  /** created: new file; unchanged: the same bytes were already stored; replaced: `?replace=1`. */
  readonly stored: 'created' | 'unchanged' | 'replaced';
  readonly settings: AppSettings;
}

export interface UploadInput {
  readonly name: string;
  readonly bytes: Buffer;
  readonly configDir: string;
  readonly replace: boolean;
  readonly store: SettingsStore;
}

async function existingBytes(path: string): Promise<Buffer | undefined> {
  const st = await lstatIfExists(path);
  if (st === undefined) return undefined;
  if (!st.isFile()) throw new HttpFailure(409, `${path} exists and is not a regular file; remove it first`);
  return readFile(path);
}

/** Validates, stores and enables an uploaded credentials file; throws HttpFailure on refusal. */
export async function storeUploadedCredentials(input: UploadInput): Promise<UploadResult> {
  const nameProblem = uploadNameProblem(input.name);
  if (nameProblem) throw new HttpFailure(400, nameProblem);
  const path = join(input.configDir, CREDENTIALS_DIR_NAME, input.name);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(input.bytes);
  } catch {
    throw new HttpFailure(422, 'credentials file rejected: it is not UTF-8 text');
  }
  let parsed;
  try {
    parsed = parseCredentialsText(text, path);
  } catch (error) {
    if (error instanceof CredentialsError) throw new HttpFailure(422, `credentials file rejected: ${error.message}`);
    throw error;
  }
  if (parsed.kind !== 'nats-creds' && parsed.kind !== 'portal-json') throw new HttpFailure(422, 'credentials file rejected: unsupported kind');
  const kind = parsed.kind;
  const fingerprint = fingerprintOf(input.bytes);

  return input.store.exclusive(async () => {
    const { settings: current, values: savedValues } = savedOrConflict(() => input.store.readSaved());
    const portal = kind === 'portal-json';
    // Only the keys the upload sets are written; the others stay as saved (or unsaved).
    const changes: Record<string, unknown> = {
      nats_credentials_file: path,
      ...(current.device_id === '' && parsed.deviceId ? { device_id: parsed.deviceId } : {}),
      ...(current.tenant === '' && parsed.tenant ? { tenant: parsed.tenant } : {}),
      // Portal mode takes the broker URLs and the identity from a portal file and points at the
      // portal broker; turning it on for a plain NATS .creds (a private broker) would send that
      // identity to the wrong broker — the reference did this and then failed to start (§10 "Bug").
      // So only a portal .creds.json switches it on; a .creds leaves the user's choice alone.
      ...(portal ? { use_portal: true } : {}),
    };
    const decoded = mergeChanges(savedValues, changes);
    if (!decoded.ok) throw new HttpFailure(422, `the credentials would make the settings invalid: ${describeIssues(decoded.issues)}`, decoded.issues);

    const previous = await existingBytes(path);
    let stored: UploadResult['stored'] = 'created';
    if (previous !== undefined) {
      if (previous.equals(input.bytes)) stored = 'unchanged';
      else if (input.replace) stored = 'replaced';
      else {
        throw new HttpFailure(
          409,
          `a different credentials file named ${input.name} is already stored (${fingerprintOf(previous)}); upload it under another name, or add ?replace=1 to replace it`,
        );
      }
    }
    if (stored === 'unchanged') await chmod(path, PRIVATE_FILE_MODE);
    else await writePrivateFileAtomic(path, input.bytes);
    try {
      await input.store.writeValues(decoded.values);
    } catch (error) {
      // Keep "a failed upload changes nothing": put the credentials directory back as it was.
      if (stored === 'created') await rm(path, { force: true });
      else if (stored === 'replaced' && previous !== undefined) await writePrivateFileAtomic(path, previous);
      throw error;
    }
    log.info('credentials stored', { path, fingerprint, kind, stored });
    return { ok: true, path, fingerprint, kind, device_id: parsed.deviceId ?? null, tenant: parsed.tenant ?? null, stored, settings: decoded.settings };
  });
}

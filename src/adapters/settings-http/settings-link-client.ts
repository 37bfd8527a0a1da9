// `reachy-mini-driver settings-link`'s side of the handshake: finds the running settings app
// through `settings-server.json` in the config dir (its port and pid, written while it runs; only
// when that process is alive), reads the app token (0600, so only the driver's user can), makes
// the server prove it holds that token (src/settings/link-proof.ts) and only then asks it for a
// fresh one-time login link with the client's own proof. The token itself is never sent: whatever
// listens on the recorded port after an unclean exit gets a random nonce and nothing else. Owns
// those reads, the requests (under one deadline for the whole handshake) and the failures as
// tagged values; the server decides (proof + same machine), src/settings-link-command.ts prints.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { isRecord } from '../../protocol/json-object.ts';
import { clientProofOf, isServerLinkNonce, newLinkNonce, proofMatches, serverProofOf } from '../../settings/link-proof.ts';
import { SERVER_FILE_NAME } from './settings-server.ts';
import { readToken } from './settings-token.ts';

/**
 * One deadline for the whole handshake (both requests, headers and bodies): the server is on this
 * machine and answers in milliseconds; 10 s still covers a loaded robot. undici's own timeouts are
 * idle timeouts, so a listener trickling a byte now and then could otherwise hold the command for hours.
 */
export const LINK_HANDSHAKE_DEADLINE_MS = 10_000;
/** The app's answers are a few hundred bytes; whatever else listens there cannot make us hold more than this. */
const MAX_ANSWER_BYTES = 64 * 1024;
const START_HINT = 'start it with `reachy-mini-driver app` (or `run --settings`)';

/** Why no link: NoToken/NoServer (nothing to ask), Unreachable, Unproven (the listener did not prove it holds the token), TimedOut (no full answer before the deadline), Refused. */
export type LinkFailureTag = 'NoToken' | 'NoServer' | 'Unreachable' | 'Unproven' | 'TimedOut' | 'Refused';

export interface LinkRequestOptions {
  /** The handshake's deadline; LINK_HANDSHAKE_DEADLINE_MS unless a test injects a short one. */
  readonly deadlineMs?: number;
}

export type LinkAnswer =
  | { readonly ok: true; readonly url: string; readonly urls: ReadonlyArray<string>; readonly expiresInS: number }
  | { readonly ok: false; readonly _tag: LinkFailureTag; readonly error: string };

interface Server {
  readonly base: string;
  readonly port: number;
  readonly file: string;
}

const failure = (tag: LinkFailureTag, error: string): LinkAnswer => ({ ok: false, _tag: tag, error });

/** Whether process `pid` exists (signal 0 checks without signalling; EPERM: it exists under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Where the running server of this config dir listens, or why none is known. */
async function runningServer(configDir: string): Promise<Server | { problem: string }> {
  const file = join(configDir, SERVER_FILE_NAME);
  let doc: { port?: unknown; host?: unknown; pid?: unknown };
  try {
    doc = JSON.parse(await readFile(file, 'utf8')) as typeof doc;
  } catch {
    return { problem: `no settings app is running with ${configDir} (no ${SERVER_FILE_NAME})` };
  }
  if (typeof doc.pid !== 'number' || !alive(doc.pid)) return { problem: `the settings app that wrote ${file} is no longer running` };
  if (typeof doc.port !== 'number' || doc.port <= 0) return { problem: `${file} names no port` };
  const host = typeof doc.host === 'string' && doc.host !== '0.0.0.0' && doc.host !== '::' && doc.host !== '' ? doc.host : '127.0.0.1';
  return { base: `http://${host.includes(':') ? `[${host}]` : host}:${doc.port}`, port: doc.port, file };
}

/** The answer's bytes as parsed JSON; undefined when not a JSON object or over MAX_ANSWER_BYTES (reading stops there). */
async function jsonObjectOf(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    if (bytes > MAX_ANSWER_BYTES) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  try {
    const json: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return isRecord(json) ? json : undefined;
  } catch {
    return undefined;
  }
}

/** One JSON POST: its status and its body when that is a JSON object. Throws when nothing answers. */
async function postJson(url: string, body: unknown, signal: AbortSignal): Promise<{ status: number; json: Record<string, unknown> | undefined }> {
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
  return { status: res.statusCode, json: await jsonObjectOf(res.body) };
}

/** Step 1: the server's nonce when the listener proved it holds the token; nothing derived from the token is sent. */
async function proveServer(token: string, server: Server, signal: AbortSignal): Promise<{ serverNonce: string; clientNonce: string } | LinkAnswer> {
  const clientNonce = newLinkNonce();
  const { status, json } = await postJson(`${server.base}/api/login-link/challenge`, { client_nonce: clientNonce }, signal);
  const serverNonce = json?.server_nonce;
  if (status === 200 && isServerLinkNonce(serverNonce) && proofMatches(json?.proof, serverProofOf(token, { clientNonce, serverNonce, port: server.port }))) {
    return { serverNonce, clientNonce };
  }
  return failure('Unproven', unprovenMessage(server, 'did not prove it is the settings app of this config dir'));
}

function unprovenMessage(server: Server, what: string): string {
  return (
    `what listens at ${server.base} ${what}, so the token was not used and no link is printed. ` +
    `Either the app is not running and ${server.file} is left over from an unclean exit (start the app with \`reachy-mini-driver app\`, or remove that file), ` +
    `or another program holds port ${server.port}`
  );
}

/** The deadline passed: before the listener proved itself, it is treated as unproven; after, the app was too slow. */
function timedOut(server: Server, deadlineMs: number, proven: boolean): LinkAnswer {
  const within = `within ${deadlineMs / 1000} s`;
  if (!proven) return failure('TimedOut', unprovenMessage(server, `did not prove it is the settings app of this config dir ${within} (its answer never completed)`));
  return failure('TimedOut', `the settings app at ${server.base} proved itself but gave no link ${within}: try again`);
}

/** Why the server refused a link request: its error_tag (a stable name) and message, as it said them. */
function refusalOf(status: number, json: Record<string, unknown> | undefined): string {
  const tag = typeof json?.error_tag === 'string' ? json.error_tag : `HTTP ${status}`;
  return typeof json?.error === 'string' ? `${tag}: ${json.error}` : tag;
}

/** Step 2: the link, asked for with the client's proof over the proven server's nonce. */
async function askForLink(token: string, server: Server, proven: { serverNonce: string; clientNonce: string }, signal: AbortSignal): Promise<LinkAnswer> {
  const proof = clientProofOf(token, { ...proven, port: server.port });
  const { status, json } = await postJson(`${server.base}/api/login-link`, { client_nonce: proven.clientNonce, server_nonce: proven.serverNonce, proof }, signal);
  const url = json?.url;
  if (status !== 200 || typeof url !== 'string') return failure('Refused', `the settings app at ${server.base} proved itself but refused the link request (${refusalOf(status, json)})`);
  const urls = Array.isArray(json?.urls) ? json.urls.filter((u): u is string => typeof u === 'string') : [url];
  return { ok: true, url, urls, expiresInS: typeof json?.expires_in_s === 'number' ? json.expires_in_s : 0 };
}

export async function requestLoginLink(configDir: string, options: LinkRequestOptions = {}): Promise<LinkAnswer> {
  let token: string | undefined;
  try {
    token = await readToken(configDir);
  } catch (error) {
    return failure('NoToken', (error as Error).message);
  }
  if (token === undefined) return failure('NoToken', `no settings token in ${configDir}: is the settings app running (\`reachy-mini-driver app\`) with this config dir (--config-dir)?`);
  const server = await runningServer(configDir);
  if ('problem' in server) return failure('NoServer', `${server.problem}: ${START_HINT}`);
  const deadlineMs = options.deadlineMs ?? LINK_HANDSHAKE_DEADLINE_MS;
  const signal = AbortSignal.timeout(deadlineMs);
  let proven = false;
  try {
    const step1 = await proveServer(token, server, signal);
    if ('ok' in step1) return step1;
    proven = true;
    return await askForLink(token, server, step1, signal);
  } catch (error) {
    if (signal.aborted) return timedOut(server, deadlineMs, proven);
    return failure('Unreachable', `no settings app answers at ${server.base} (${(error as Error).message}): ${START_HINT}`);
  }
}

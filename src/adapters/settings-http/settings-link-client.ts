// `reachy-mini-driver settings-link`'s side of the handshake: finds the running settings app
// through `settings-server.json` in the config dir (its port and pid, written while it runs; only
// when that process is alive), reads the app token (0600, so only the driver's user can), and asks
// the server on this machine for a fresh one-time login link (POST /api/login-link). The token goes
// only to the server the file names: never to whatever listens on a configured port while the app
// is down. Owns those reads and the request; the server decides (token + same machine),
// src/settings-link-command.ts prints.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { SERVER_FILE_NAME } from './settings-server.ts';
import { readToken } from './settings-token.ts';

/** The server is on this machine: it answers in milliseconds or not at all. */
const LINK_REQUEST_TIMEOUT_MS = 5_000;

export type LinkAnswer =
  | { readonly ok: true; readonly url: string; readonly urls: ReadonlyArray<string>; readonly expiresInS: number }
  | { readonly ok: false; readonly error: string };

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
async function runningServer(configDir: string): Promise<{ port: number; host: string } | { problem: string }> {
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
  return { port: doc.port, host };
}

export async function requestLoginLink(configDir: string): Promise<LinkAnswer> {
  let token: string | undefined;
  try {
    token = await readToken(configDir);
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
  if (token === undefined) return { ok: false, error: `no settings token in ${configDir}: is the settings app running (\`reachy-mini-driver app\`) with this config dir (--config-dir)?` };
  const server = await runningServer(configDir);
  if ('problem' in server) return { ok: false, error: `${server.problem}: start it with \`reachy-mini-driver app\` (or \`run --settings\`)` };
  const { port, host } = server;
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  try {
    const res = await request(`${base}/api/login-link`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      headersTimeout: LINK_REQUEST_TIMEOUT_MS,
      bodyTimeout: LINK_REQUEST_TIMEOUT_MS,
    });
    const body = (await res.body.json()) as { url?: string; urls?: string[]; expires_in_s?: number; error?: string };
    if (res.statusCode !== 200 || typeof body.url !== 'string') return { ok: false, error: `the settings app at ${base} refused: ${body.error ?? `HTTP ${res.statusCode}`}` };
    return { ok: true, url: body.url, urls: body.urls ?? [body.url], expiresInS: body.expires_in_s ?? 0 };
  } catch (error) {
    return { ok: false, error: `no settings app answers at ${base} (${(error as Error).message}): start it with \`reachy-mini-driver app\` (or \`run --settings\`)` };
  }
}

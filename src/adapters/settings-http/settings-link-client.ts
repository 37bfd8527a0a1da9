// `reachy-mini-driver settings-link`'s side of the handshake: finds the running settings app
// through `settings-server.json` in the config dir (its port, written while it runs), reads the
// app token (0600, so only the driver's user can), and asks the server on this machine for a fresh
// one-time login link (POST /api/login-link). Owns those reads and the request; the server decides
// (token + same machine), src/settings-link-command.ts prints.
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

async function serverPort(configDir: string, fallbackPort: number): Promise<{ port: number; host: string }> {
  try {
    const doc = JSON.parse(await readFile(join(configDir, SERVER_FILE_NAME), 'utf8')) as { port?: unknown; host?: unknown };
    const host = typeof doc.host === 'string' && doc.host !== '0.0.0.0' && doc.host !== '::' && doc.host !== '' ? doc.host : '127.0.0.1';
    if (typeof doc.port === 'number' && doc.port > 0) return { port: doc.port, host };
  } catch {
    // No file: the server is not running with this config dir, or is older; try the configured port.
  }
  return { port: fallbackPort, host: '127.0.0.1' };
}

export async function requestLoginLink(configDir: string, fallbackPort: number): Promise<LinkAnswer> {
  let token: string | undefined;
  try {
    token = await readToken(configDir);
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
  if (token === undefined) return { ok: false, error: `no settings token in ${configDir}: is the settings app running (\`reachy-mini-driver app\`) with this config dir (--config-dir)?` };
  const { port, host } = await serverPort(configDir, fallbackPort);
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

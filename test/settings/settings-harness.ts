// Shared pieces of the settings-server suites: a real server on port 0 in a mkdtemp config dir,
// an undici client (its own `request`, never global fetch) that logs a transcript line per call,
// real NATS credentials minted with @nats-io/jwt, multipart bodies built by hand so names with
// `..`, `/` or NUL reach the server exactly as written, and raw sockets from a chosen source address
// (another peer, for the connection limits). Owns temp dirs; removes them on stop.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createAccount, createUser, encodeUser, fmtCreds } from '@nats-io/jwt';
import { request } from 'undici';
import { startSettingsServer, type SettingsServer, type SettingsServerOptions } from '../../src/adapters/settings-http/settings-server.ts';

export interface Harness {
  readonly dir: string;
  readonly configDir: string;
  readonly settingsFile: string;
  readonly server: SettingsServer;
  readonly token: () => string;
  readonly statusCalls: number[];
  readonly applyCalls: number[];
  stop(): Promise<void>;
}

export interface HarnessOptions {
  readonly argv?: ReadonlyArray<string>;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Further server options (allowed hosts, the configuration in effect, another apply). */
  readonly server?: Partial<SettingsServerOptions>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'settings-server-'));
  const configDir = join(dir, 'config');
  const settingsFile = join(configDir, 'device_connect_app.json');
  const statusCalls: number[] = [];
  const applyCalls: number[] = [];
  const server = await startSettingsServer({
    host: '127.0.0.1',
    port: 0,
    configDir,
    settingsFile,
    argv: options.argv ?? [],
    env: options.env ?? {},
    status: () => {
      statusCalls.push(Date.now());
      return { mesh: 'registered', daemon_link: 'connected', power: 'awake', interlock: 'clear', lease: 'free', media: 'disabled', last_error: null };
    },
    apply: async () => {
      applyCalls.push(Date.now());
      return { ok: true, message: 'applied', calls: applyCalls.length };
    },
    ...options.server,
  });
  return {
    dir,
    configDir,
    settingsFile,
    server,
    token: () => readFileSync(join(configDir, 'settings-token'), 'utf8').trim(),
    statusCalls,
    applyCalls,
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly json: any;
}

export interface CallOptions {
  readonly token?: string;
  readonly cookie?: string;
  readonly origin?: string;
  readonly json?: unknown;
  readonly body?: string | Buffer | Readable;
  readonly headers?: Record<string, string>;
}

/** One HTTP exchange, printed as a transcript line (`PUT /api/settings → 422`). */
export async function call(base: string, method: 'GET' | 'PUT' | 'POST' | 'HEAD' | 'PATCH', path: string, o: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  if (o.cookie !== undefined) headers.cookie = o.cookie;
  if (o.origin !== undefined) headers.origin = o.origin;
  const init: NonNullable<Parameters<typeof request>[1]> = { method, headers };
  if (o.body !== undefined) init.body = o.body;
  if (o.json !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(o.json);
  }
  const res = await request(base + path, init);
  const text = await res.body.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  process.stdout.write(`  ${method} ${path} → ${res.statusCode} ${text.length > 160 ? text.slice(0, 160) + '…' : text}\n`);
  return { status: res.statusCode, headers: res.headers, text, json };
}

export const BOUNDARY = '----settings-test-boundary-7MA4YWxkTrZu0gW';

/** A multipart body with one file part; the filename goes into the header byte for byte. */
export function multipartFile(filename: string, content: string | Buffer, field = 'file'): { body: Buffer; headers: Record<string, string> } {
  const head = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`, 'latin1');
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`, 'latin1');
  const body = Buffer.concat([head, Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'), tail]);
  return { body, headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` } };
}

/** Real NATS user credentials: the `.creds` text, a portal `.creds.json`, and the secrets to grep for. */
export async function mintCredentials(deviceId = 'reachy-portal-7', tenant = 'lab') {
  const user = createUser();
  const jwt = await encodeUser('reachy', user, createAccount());
  const seed = new TextDecoder().decode(user.getSeed());
  const creds = new TextDecoder().decode(fmtCreds(jwt, user));
  const portal = JSON.stringify({ device_id: deviceId, tenant, nats: { urls: ['nats://127.0.0.1:4222'], jwt, nkey_seed: seed } }, null, 2);
  return { jwt, seed, creds, portal };
}

/** A socket from `from` to the server, once connected; it stays open until the test destroys it. */
export function connectFrom(port: number, from: string, to = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: to, localAddress: from }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** GET / on the socket: what the server answered before the socket closed ('' when it closed unanswered). */
export function answerTo(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    socket.on('close', () => resolve(data));
    socket.on('error', () => resolve(data));
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  });
}

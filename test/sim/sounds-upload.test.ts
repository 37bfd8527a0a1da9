// Sound files over real HTTP: the daemon client's uploadSound/listSounds/deleteSound/playSound
// against the emulator's `/api/media/sounds*` routes (reachy-daemon-api.md §1.6, the daemon's
// routers/media.py and MaxBodySizeMiddleware), and the whole play_audio_file path from a file on
// disk (resolve, read, upload, play). Also what only a raw client can send: the 413 answered from
// the Content-Length before the body is read, a streamed body cut at the cap, malformed multipart,
// and the daemon's own name rules.
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Result } from 'effect';
import { describe, expect, test } from 'vitest';
import { DaemonCallCancelled, DaemonRejected, DaemonRequestInvalid } from '../../src/adapters/daemon-errors.ts';
import { type DaemonHttpClient, MAX_SOUND_UPLOAD_BYTES } from '../../src/adapters/daemon-http.ts';
import { buildFilePartBody } from '../../src/adapters/multipart-body.ts';
import { MAX_SOUND_FILE_BYTES, readSoundFile, resolveSoundFile } from '../../src/adapters/sound-files.ts';
import type { Emulator, EmulatorOptions } from '../../src/sim/emulator.ts';
import { startEmulatorWithClient } from '../harness/emulator-client.ts';
import { cleanupAfterEach, failure } from '../harness/test-cleanups.ts';
import { wavFile } from '../harness/wav-file.ts';

const defer = cleanupAfterEach();
const setup = (options: EmulatorOptions = {}): Promise<{ emulator: Emulator; client: DaemonHttpClient }> => startEmulatorWithClient(defer, options);

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

interface RawReply {
  readonly status: number;
  readonly json: unknown;
}

/** One request on its own connection (no keep-alive pool to leak), body as given. */
function raw(emulator: Emulator, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${emulator.url}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown = text;
        try {
          json = JSON.parse(text) as unknown;
        } catch {
          // plain-text reply
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function multipart(filename: string, data: Buffer, field = 'file'): { body: Buffer; headers: Record<string, string> } {
  const built = buildFilePartBody(field, filename, data);
  return { body: built.body, headers: { 'content-type': built.contentType } };
}

/** A raw TCP connection to the emulator's HTTP port, destroyed after the test. */
function rawConnection(emulator: Emulator): Socket {
  const socket = createConnection({ host: emulator.host, port: emulator.port });
  defer(() => socket.destroy());
  return socket;
}

const uploads = (emulator: Emulator): number =>
  emulator.received.filter((entry) => entry.method === 'POST' && entry.path === '/api/media/sounds/upload').length;

describe('upload, list, play, delete through the daemon client', () => {
  test('an upload is listed, in the snapshot byte for byte, and plays by the returned path', async () => {
    const { emulator, client } = await setup();
    const bytes = wavFile(Buffer.alloc(2000, 0x80));
    const { path } = await client.uploadSound('beep.wav', bytes);
    expect(path).toBe('/tmp/reachy_mini_sounds/beep.wav');
    expect(await client.listSounds()).toEqual(['beep.wav']);
    expect(emulator.snapshot().uploadedSounds).toEqual([{ name: 'beep.wav', bytes: bytes.length, sha256: sha256(bytes) }]);
    expect(await client.playSound(path)).toEqual({ status: 'ok' });
    // A bare uploaded name is resolved to the temp directory, as the daemon does.
    expect(await client.playSound('beep.wav')).toEqual({ status: 'ok' });
    expect(emulator.snapshot().playedSounds).toEqual([path, path]);
    // The command log keeps a summary, not 2 KB of multipart text.
    const logged = emulator.received.find((entry) => entry.path === '/api/media/sounds/upload');
    expect(logged?.body).toMatch(/^\[multipart body, \d+ bytes\]$/);
  });

  test('the play_audio_file path: resolve in the sounds directory, read, upload, play', async () => {
    const { emulator, client } = await setup();
    const dir = await mkdtemp(join(tmpdir(), 'sounds-upload-'));
    defer(() => rm(dir, { recursive: true, force: true }));
    const content = wavFile(Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 256)));
    await writeFile(join(dir, 'hello.wav'), content);

    const resolved = await resolveSoundFile(dir, 'hello.wav');
    if (Result.isFailure(resolved)) throw resolved.failure;
    const bytes = await readSoundFile(resolved.success);
    if (Result.isFailure(bytes)) throw bytes.failure;
    const { path } = await client.uploadSound(resolved.success.name, bytes.success);
    await client.playSound(path);

    expect(emulator.snapshot().uploadedSounds).toEqual([{ name: 'hello.wav', bytes: content.length, sha256: sha256(content) }]);
    expect(emulator.snapshot().playedSounds).toEqual(['/tmp/reachy_mini_sounds/hello.wav']);
  });

  test('bytes that look like multipart framing arrive intact; a non-ASCII name is kept; re-upload overwrites', async () => {
    const { emulator, client } = await setup();
    const tricky = wavFile(Buffer.concat([Buffer.from('\r\n--\r\n\r\n------reachy-driver-00\r\n--'), Buffer.from(Array.from({ length: 256 }, (_, i) => i))]));
    await client.uploadSound('bip-é ü.wav', tricky);
    expect(emulator.snapshot().uploadedSounds).toEqual([{ name: 'bip-é ü.wav', bytes: tricky.length, sha256: sha256(tricky) }]);

    const second = wavFile(Buffer.alloc(10, 1));
    await client.uploadSound('bip-é ü.wav', second);
    expect(emulator.snapshot().uploadedSounds).toEqual([{ name: 'bip-é ü.wav', bytes: second.length, sha256: sha256(second) }]);
    expect(await client.listSounds()).toEqual(['bip-é ü.wav']);
  });

  test('an extension outside the daemon list is a 400 with its detail', async () => {
    const { emulator, client } = await setup();
    const error = await failure(client.uploadSound('notes.txt', wavFile(Buffer.alloc(4))));
    expect(error).toBeInstanceOf(DaemonRejected);
    expect(error).toMatchObject({ status: 400, route: '/api/media/sounds/upload', detail: 'Unsupported file extension; allowed: .aac, .flac, .m4a, .mp3, .oga, .ogg, .opus, .wav' });
    expect(emulator.snapshot().uploadedSounds).toEqual([]);
  });

  test('content that is no audio container is a 400, as the daemon probe refuses it', async () => {
    const { emulator, client } = await setup();
    const error = await failure(client.uploadSound('fake.wav', Buffer.from('#!/bin/sh\necho pwned\n')));
    expect(error).toMatchObject({ _tag: 'DaemonRejected', status: 400, detail: 'Unsupported or invalid audio file' });
    expect(emulator.snapshot().uploadedSounds).toEqual([]);
  });

  test('the client refuses names the daemon cannot store, before sending anything', async () => {
    const { emulator, client } = await setup();
    for (const name of ['', '.', '..', 'dir/x.wav', 'x\u0000.wav', `${'é'.repeat(130)}.wav`]) {
      const error = await failure(client.uploadSound(name, wavFile(Buffer.alloc(4))));
      expect(error).toBeInstanceOf(DaemonRequestInvalid);
      expect(error).toMatchObject({ method: 'POST', route: '/api/media/sounds/upload' });
    }
    expect(uploads(emulator)).toBe(0);
  });

  test('the client refuses a body over the daemon cap without sending it', async () => {
    const { emulator, client } = await setup();
    const error = await failure(client.uploadSound('huge.wav', new Uint8Array(MAX_SOUND_UPLOAD_BYTES)));
    expect(error).toBeInstanceOf(DaemonRequestInvalid);
    expect(uploads(emulator)).toBe(0);
    // The resolver's cap leaves room for the envelope: a file at the cap fits.
    const atCap = Buffer.alloc(MAX_SOUND_FILE_BYTES);
    wavFile(Buffer.alloc(0)).copy(atCap);
    expect((await client.uploadSound('atcap.wav', atCap)).path).toBe('/tmp/reachy_mini_sounds/atcap.wav');
    expect(emulator.snapshot().uploadedSounds).toEqual([{ name: 'atcap.wav', bytes: MAX_SOUND_FILE_BYTES, sha256: sha256(atCap) }]);
  });

  test('an upload whose caller gave up or whose write check refuses is never sent (CallOptions like every call)', async () => {
    const { emulator, client } = await setup();
    const gaveUp = new AbortController();
    gaveUp.abort();
    await expect(client.uploadSound('a.wav', wavFile(Buffer.alloc(4)), { signal: gaveUp.signal })).rejects.toBeInstanceOf(DaemonCallCancelled);
    await expect(client.uploadSound('b.wav', wavFile(Buffer.alloc(4)), { mayWrite: () => false })).rejects.toBeInstanceOf(DaemonCallCancelled);
    expect(uploads(emulator)).toBe(0);
  });

  test('delete: ok, then 404; traversal spellings are 400', async () => {
    const { emulator, client } = await setup();
    await client.uploadSound('a.wav', wavFile(Buffer.alloc(4)));
    await client.uploadSound('b.ogg', Buffer.from('OggS\u0000\u0002'));
    expect(await client.listSounds()).toEqual(['a.wav', 'b.ogg']);
    expect(await client.deleteSound('a.wav')).toEqual({ status: 'ok' });
    expect(await client.listSounds()).toEqual(['b.ogg']);
    expect(await failure(client.deleteSound('a.wav'))).toMatchObject({ _tag: 'DaemonRejected', status: 404, detail: "File 'a.wav' not found" });
    expect(await raw(emulator, 'DELETE', '/api/media/sounds/..%2Fb.ogg', {})).toEqual({ status: 400, json: { detail: 'Invalid filename' } });
    expect(await raw(emulator, 'DELETE', '/api/media/sounds/x%5Cb.ogg', {})).toEqual({ status: 400, json: { detail: 'Invalid filename' } });
    expect(await raw(emulator, 'DELETE', '/api/media/sounds/..', {})).toMatchObject({ status: 404 });
    expect(emulator.snapshot().uploadedSounds.map((s) => s.name)).toEqual(['b.ogg']);
  });

  test('uploads need no backend and survive a daemon restart, like files in /tmp', async () => {
    const { emulator, client } = await setup();
    emulator.setFault({ kind: 'backend-not-running' });
    await client.uploadSound('keep.wav', wavFile(Buffer.alloc(4)));
    await emulator.restart();
    expect(await client.listSounds()).toEqual(['keep.wav']);
  });
});

describe('what the daemon checks on the wire', () => {
  test('its own name rules: basename kept, "..", "" and "." refused', async () => {
    const { emulator } = await setup();
    const audio = wavFile(Buffer.alloc(4));
    const post = (filename: string): Promise<RawReply> => {
      const { body, headers } = multipart(filename, audio);
      return raw(emulator, 'POST', '/api/media/sounds/upload', headers, body);
    };
    expect(await post('../../etc/x.wav')).toEqual({ status: 200, json: { status: 'ok', path: '/tmp/reachy_mini_sounds/x.wav' } });
    expect(await post('..')).toEqual({ status: 400, json: { detail: 'Invalid filename' } });
    expect(await post('a/..')).toEqual({ status: 400, json: { detail: 'Invalid filename' } });
    expect(await post('/')).toEqual({ status: 400, json: { detail: 'Invalid filename' } });
    expect(await post('')).toEqual({ status: 400, json: { detail: 'Filename is required' } });
    expect(await post('.wav')).toMatchObject({ status: 400, json: { detail: expect.stringMatching(/^Unsupported file extension/) } });
    expect(emulator.snapshot().uploadedSounds.map((s) => s.name)).toEqual(['x.wav']);
  });

  test('malformed or missing multipart: 400 or 422 as FastAPI answers, nothing stored', async () => {
    const { emulator } = await setup();
    const path = '/api/media/sounds/upload';
    const good = multipart('x.wav', wavFile(Buffer.alloc(4)));
    expect(await raw(emulator, 'POST', path, { 'content-type': 'multipart/form-data' }, good.body)).toEqual({ status: 400, json: { detail: 'Missing boundary in multipart.' } });
    expect(await raw(emulator, 'POST', path, good.headers, Buffer.from('not a multipart body at all'))).toEqual({ status: 400, json: { detail: 'There was an error parsing the body' } });
    expect(await raw(emulator, 'POST', path, good.headers, good.body.subarray(0, good.body.length - 10))).toEqual({ status: 400, json: { detail: 'There was an error parsing the body' } });
    const missing = { type: 'missing', loc: ['body', 'file'], msg: 'Field required', input: null };
    expect(await raw(emulator, 'POST', path, { 'content-type': 'application/json' }, Buffer.from('{"file":"x.wav"}'))).toEqual({ status: 422, json: { detail: [missing] } });
    expect(await raw(emulator, 'POST', path, {})).toEqual({ status: 422, json: { detail: [missing] } });
    const otherField = multipart('x.wav', wavFile(Buffer.alloc(4)), 'sound');
    expect(await raw(emulator, 'POST', path, otherField.headers, otherField.body)).toEqual({ status: 422, json: { detail: [missing] } });
    const boundary = 'plainfield';
    const plain = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"\r\n\r\nx.wav\r\n--${boundary}--\r\n`);
    expect(await raw(emulator, 'POST', path, { 'content-type': `multipart/form-data; boundary=${boundary}` }, plain)).toMatchObject({
      status: 422,
      json: { detail: [{ type: 'value_error', loc: ['body', 'file'] }] },
    });
    expect(emulator.snapshot().uploadedSounds).toEqual([]);
  });

  test('a Content-Length over 25 MiB is answered 413 at once, without the body, and the connection closed', async () => {
    const { emulator } = await setup();
    const socket = rawConnection(emulator);
    const reply = new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.on('error', reject);
    });
    // Headers only, and a body that never comes: a server waiting for it would never answer.
    socket.write(
      `POST /api/media/sounds/upload HTTP/1.1\r\nHost: ${emulator.host}\r\nContent-Type: multipart/form-data; boundary=x\r\n` +
        `Content-Length: ${MAX_SOUND_UPLOAD_BYTES + 1}\r\n\r\n--x\r\n`,
    );
    const text = await reply;
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({ detail: `Request body too large; maximum is ${MAX_SOUND_UPLOAD_BYTES} bytes` });
    expect(uploads(emulator)).toBe(1);
    expect(emulator.snapshot().uploadedSounds).toEqual([]);
  });

  test('a streamed body without Content-Length is cut with a 413 once it passes the cap', async () => {
    const { emulator } = await setup();
    const socket = rawConnection(emulator);
    let answered = false;
    const reply = new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => {
        answered = true;
        chunks.push(chunk);
      });
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      // The server closes while we may still be writing: EPIPE/ECONNRESET are expected here.
      socket.on('error', () => undefined);
    });
    socket.write(`POST /api/media/sounds/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=x\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    let sent = 0;
    // Up to 4 MiB past the cap; the answer must come before the writer gives up.
    while (!answered && !socket.destroyed && sent < MAX_SOUND_UPLOAD_BYTES + 4 * 1024 * 1024) {
      if (!socket.write(framed)) await new Promise((resolve) => socket.once('drain', resolve).once('close', resolve));
      sent += chunk.length;
    }
    const text = await reply;
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(sent).toBeGreaterThan(MAX_SOUND_UPLOAD_BYTES);
    expect(emulator.snapshot().uploadedSounds).toEqual([]);
  });
});

// `settings-link`'s handshake has one overall deadline: a listener on the recorded port that sends
// headers and then trickles a byte now and then (never idle long enough for an idle timeout) does
// not hold the command; when the (here injected, short) deadline passes it gives up with no link,
// saying the listener did not prove it is the settings app and to start it or remove the left-over
// settings-server.json. A real listener on port 0 and the real client function.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { requestLoginLink } from '../../src/adapters/settings-http/settings-link-client.ts';
import { SERVER_FILE_NAME } from '../../src/adapters/settings-http/settings-server.ts';
import { loadOrCreateToken } from '../../src/adapters/settings-http/settings-token.ts';

/** The injected deadline: short, so the test does not wait for the real one. */
const DEADLINE_MS = 300;
/** How often the fake sends a byte: far below any idle timeout, so only an overall deadline ends the wait. */
const TRICKLE_EVERY_MS = 20;

let dir: string;
let trickler: Server;
const heard: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'settings-link-deadline-'));
  await loadOrCreateToken(dir);
  trickler = createServer((req, res) => {
    heard.push(`${String(req.method)} ${String(req.url)}`);
    process.stdout.write(`  trickler heard ${String(req.method)} ${String(req.url)}; answers 200 and '{', then a space every ${TRICKLE_EVERY_MS} ms\n`);
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).write('{');
    const trickle = setInterval(() => res.write(' '), TRICKLE_EVERY_MS);
    res.on('close', () => clearInterval(trickle));
  });
  await new Promise<void>((resolve) => trickler.listen(0, '127.0.0.1', resolve));
  const port = (trickler.address() as AddressInfo).port;
  // A left-over file naming a live pid (this process) and the trickler's port.
  writeFileSync(join(dir, SERVER_FILE_NAME), JSON.stringify({ pid: process.pid, host: '127.0.0.1', port, url: `http://127.0.0.1:${port}` }), { mode: 0o600 });
});

afterAll(async () => {
  trickler.closeAllConnections();
  await new Promise<void>((resolve) => trickler.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

test('a listener trickling its answer is given up on at the deadline: no link, exit-1 advice to start the app or remove the file', async () => {
  const answer = await requestLoginLink(dir, { deadlineMs: DEADLINE_MS });
  process.stdout.write(`  settings-link → ${JSON.stringify(answer)}\n`);
  expect(answer.ok).toBe(false);
  if (answer.ok) return;
  expect(answer._tag).toBe('TimedOut');
  expect(answer.error).toMatch(/did not prove it is the settings app of this config dir within 0\.3 s \(its answer never completed\), so the token was not used and no link is printed/);
  expect(answer.error).toMatch(/start the app with `reachy-mini-driver app`, or remove that file/);
  expect(heard).toEqual(['POST /api/login-link/challenge']);
}, 5_000);

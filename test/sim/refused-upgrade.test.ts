// A daemon emulator that requires a token (src/sim/daemon-auth-check.ts) refuses a WebSocket
// upgrade without it with a 401 and closes the socket. A client that then resets the connection
// (as a driver giving up on the 401 may) must not take the emulator's process down: the reset
// reaches a socket the HTTP server no longer watches once it handed it to the upgrade handler.
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { EMULATOR_TIME_SCALE } from '../harness/emulator-probes.ts';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ timeScale: EMULATOR_TIME_SCALE, token: 'the-token' });
});
afterAll(async () => {
  await emulator?.close();
});

/** Sends a token-less upgrade to `path`, reads the 401, then resets the connection (RST, not FIN). */
function refusedThenReset(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    socket.once('data', (data) => {
      socket.resetAndDestroy();
      resolve(data.toString('latin1').split('\r\n')[0] ?? '');
    });
    socket.once('error', reject);
  });
}

test('a client resetting after a refused upgrade leaves the emulator serving', async () => {
  const port = Number(new URL(emulator.url).port);
  for (let i = 0; i < 20; i++) expect(await refusedThenReset(port, '/ws/sdk')).toBe('HTTP/1.1 401 Unauthorized');
  // Give the resets time to arrive; an unhandled socket error would fail the run here.
  await new Promise((r) => setTimeout(r, 200));
  const res = await fetch(`${emulator.url}/api/daemon/status`, { headers: { authorization: 'Bearer the-token' } });
  expect(res.status).toBe(200);
});

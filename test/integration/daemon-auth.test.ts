// Daemon authentication and TLS (issue 12 part 3, the prior art's REACHY_DAEMON_TOKEN): an
// emulator that requires a bearer token (and, in the last case, serves https/wss with a
// certificate of a test CA). The driver's token reaches REST and both WebSockets (the emulator's
// record of what it accepted); a wrong or missing token is a visible failure (link not connected,
// the 401 in get_status); an https target verified with --daemon-ca-file connects, and the token
// shows up nowhere the driver prints state.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { startMeshScene, waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';
import { EMULATOR_TIME_SCALE } from '../harness/emulator-probes.ts';

const TOKEN = 'daemon-token-7f3a9c';
const SDK_PATH = '/ws/sdk';
const MOVES_PATH = '/api/move/ws/updates';
/** How long a driver gets to connect to (or fail against) its daemon. */
const CONNECT_WAIT_MS = 10_000;

let dir: string;
let tls: { key: string; cert: string };
beforeAll(() => {
  // A self-signed certificate for 127.0.0.1, used as its own CA (the driver trusts only that file).
  dir = mkdtempSync(join(tmpdir(), 'daemon-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'ca.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  tls = { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'ca.pem'), 'utf8') };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function status(scene: MeshScene, device: string): Promise<Record<string, any>> {
  const reply = (await rpc(scene.nc, `device-connect.default.${device}.cmd`, { jsonrpc: '2.0', id: 's', method: 'get_status' }, 1_000).catch(() => ({}))) as Record<string, any>;
  return reply.result ?? {};
}
async function driverAgainst(emulator: Emulator, device: string, extraArgs: string[], env: Record<string, string>): Promise<MeshScene> {
  const target = emulator.url.replace(/^http:\/\//, '');
  return startMeshScene(['--no-media', '--device-id', device, '--discovery-mode', 'd2d', '--target', target, ...extraArgs], env);
}
const accepted = (emulator: Emulator, kind: 'http' | 'ws', path: string) => emulator.authAttempts.some((a) => a.kind === kind && a.path === path && a.accepted);

describe('a daemon that requires a token', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ timeScale: EMULATOR_TIME_SCALE, token: TOKEN });
  });
  afterAll(async () => {
    await emulator?.close();
  });

  test('the token reaches REST and both WebSockets; motion works; the token is in no printed state', async () => {
    const scene = await driverAgainst(emulator, 'auth-ok', [], { REACHY_DAEMON_TOKEN: TOKEN });
    try {
      await waitFor(async () => (await status(scene, 'auth-ok')).driver_state?.connection_state === 'connected', CONNECT_WAIT_MS, 'the driver connected with its token');
      expect(accepted(emulator, 'http', '/api/daemon/status')).toBe(true);
      expect(accepted(emulator, 'ws', SDK_PATH)).toBe(true);
      expect(accepted(emulator, 'ws', MOVES_PATH)).toBe(true);
      const move = await rpc(scene.nc, 'device-connect.default.auth-ok.cmd', { jsonrpc: '2.0', id: 'g', method: 'goto_pose', params: { yaw: 10, duration_s: 0.5, owner: 'op', wait: true } }, 10_000);
      expect((move as any).result?.status).toBe('completed');
      expect(emulator.authAttempts.filter((a) => !a.accepted)).toEqual([]);
      // Never printed: not in the config as JSON, not in the status panel, not in get_status.
      expect(JSON.stringify(scene.driver.config)).not.toContain(TOKEN);
      expect(JSON.stringify(scene.driver.statusSnapshot())).not.toContain(TOKEN);
      expect(JSON.stringify(await status(scene, 'auth-ok'))).not.toContain(TOKEN);
    } finally {
      await scene.stop();
    }
  });

  test.each([
    ['a wrong token', { REACHY_DAEMON_TOKEN: 'not-the-token' }],
    ['no token', {}],
  ])('%s is a visible failure: the link never connects and get_status says 401', async (_name, env) => {
    const device = `auth-bad-${Object.keys(env).length}`;
    const scene = await driverAgainst(emulator, device, [], env);
    try {
      await waitFor(async () => /401/.test(String((await status(scene, device)).daemon?.reason ?? '')), CONNECT_WAIT_MS, 'get_status reports the 401');
      const s = await status(scene, device);
      expect(s.driver_state.connection_state).not.toBe('connected');
      expect(s.daemon.available).toBe(false);
      expect(emulator.authAttempts.some((a) => !a.accepted && a.path === '/api/daemon/status')).toBe(true);
    } finally {
      await scene.stop();
    }
  });
});

describe('a daemon behind https/wss', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ timeScale: EMULATOR_TIME_SCALE, token: TOKEN, tls });
  });
  afterAll(async () => {
    await emulator?.close();
  });

  test('an https:// target verified with --daemon-ca-file connects over https and wss with the token', async () => {
    expect(emulator.url).toMatch(/^https:\/\//);
    const scene = await startMeshScene(['--no-media', '--device-id', 'tls-ok', '--discovery-mode', 'd2d', '--target', emulator.url, '--daemon-ca-file', join(dir, 'ca.pem')], { REACHY_DAEMON_TOKEN: TOKEN });
    try {
      await waitFor(async () => (await status(scene, 'tls-ok')).driver_state?.connection_state === 'connected', CONNECT_WAIT_MS, 'the driver connected over TLS');
      expect(scene.driver.robot.daemonBaseUrl).toMatch(/^https:\/\//);
      expect(accepted(emulator, 'ws', SDK_PATH)).toBe(true);
      expect(accepted(emulator, 'ws', MOVES_PATH)).toBe(true);
    } finally {
      await scene.stop();
    }
  });

  test('without the CA the certificate is not trusted: a visible failure, never a silent downgrade', async () => {
    const scene = await startMeshScene(['--no-media', '--device-id', 'tls-noca', '--discovery-mode', 'd2d', '--target', emulator.url], { REACHY_DAEMON_TOKEN: TOKEN });
    try {
      await waitFor(async () => String((await status(scene, 'tls-noca')).daemon?.reason ?? '') !== '' && (await status(scene, 'tls-noca')).daemon?.reason !== 'no daemon status received yet', CONNECT_WAIT_MS, 'get_status reports the failure');
      const s = await status(scene, 'tls-noca');
      expect(s.driver_state.connection_state).not.toBe('connected');
      expect(s.daemon.reason).toMatch(/cert|self.signed|unable to verify|TLS/i);
    } finally {
      await scene.stop();
    }
  });
});

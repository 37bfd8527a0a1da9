// The Stately relay of `npm run inspect` (src/adapters/inspector-relay.ts) and the driver's side
// (src/adapters/state-inspector.ts): the relay listens on loopback only by default (a LAN address
// of this machine is refused), passes the driver's inspection messages to a viewer, and the
// driver logs once that the relay is not reachable and once that it is connected. Bound to
// 0.0.0.0 it answers this machine's LAN address (a driver or browser elsewhere) and its page
// connects back to that address; bound to loopback it does not; foreign names and origins never.
// A stopped inspector dials no more.
import { request } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { createActor, createMachine } from 'xstate';
import { RELAY_MAX_MESSAGE_BYTES, startInspectorRelay, type InspectorRelay } from '../../src/adapters/inspector-relay.ts';
import { INSPECTOR_RETRY_MS } from '../../src/adapters/inspector-relay-watch.ts';
import { createStateInspector, type StateInspector } from '../../src/adapters/state-inspector.ts';
import { setLogSink } from '../../src/logging/logger.ts';

/** The driver's warning for a relay it cannot reach (worded "not reachable" or "cannot reach"). */
const UNREACHABLE = /inspector relay not reachable|cannot reach the inspector relay/;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  setLogSink((line) => process.stderr.write(line + '\n'));
});

function lanAddress(): string | undefined {
  return Object.values(networkInterfaces()).flat().find((e) => e && !e.internal && e.family === 'IPv4')?.address;
}

async function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

test('the relay binds loopback by default: a LAN address of this machine is refused', async (ctx) => {
  const relay = await startInspectorRelay(undefined, 0);
  cleanups.push(() => relay.close());
  const port = Number(new URL(relay.url).port);
  expect(relay.wsUrl).toBe(`ws://127.0.0.1:${port}`);
  expect(await refused('127.0.0.1', port)).toBe(false);
  const lan = lanAddress();
  if (lan === undefined) ctx.skip();
  expect(await refused(lan as string, port)).toBe(true);
});

test('the driver logs that the relay is not reachable, then that it is connected; a viewer receives its inspection messages', async () => {
  const lines: string[] = [];
  setLogSink((line) => lines.push(line));
  // A free port with nothing on it yet.
  const probe = await startInspectorRelay('127.0.0.1', 0);
  const port = Number(new URL(probe.url).port);
  await probe.close();
  const inspector: StateInspector = createStateInspector(`ws://127.0.0.1:${port}`);
  cleanups.push(() => inspector.stop());
  await expect.poll(() => lines.filter((l) => UNREACHABLE.test(l)).length, { timeout: 5_000 }).toBe(1);
  expect(lines.find((l) => UNREACHABLE.test(l))).toContain('npm run inspect');

  let relay: InspectorRelay | undefined;
  relay = await startInspectorRelay('127.0.0.1', port);
  cleanups.push(() => relay?.close());
  const viewer = new WebSocket(relay.wsUrl);
  cleanups.push(() => viewer.close());
  const received: string[] = [];
  viewer.on('message', (data) => received.push(data.toString()));
  await new Promise((resolve) => viewer.once('open', resolve));
  // The retry at its production 5 s (visible-failures shortens it; this test keeps the path a
  // user's driver takes).
  await expect.poll(() => lines.filter((l) => l.includes('connected to the inspector relay')).length, { timeout: 10_000 }).toBe(1);
  const actor = createActor(createMachine({ id: 'probe', initial: 'a', states: { a: { on: { GO: 'b' } }, b: {} } }), { inspect: inspector.inspect }).start();
  actor.send({ type: 'GO' });
  await expect.poll(() => received.some((m) => m.includes('"probe"') || m.includes('GO')), { timeout: 5_000 }).toBe(true);
  actor.stop();
  expect(lines.filter((l) => UNREACHABLE.test(l)).length).toBe(1);
}, 20_000);

test('a stopped inspector dials its failing relay no more (the library alone dialed again every 5 s, for ever)', async () => {
  setLogSink(() => {});
  // A relay that fails every dial: the connection is accepted, then dropped before the handshake.
  let dials = 0;
  const server = createServer((socket) => {
    dials += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  // The production retry (INSPECTOR_RETRY_MS): the path a user's driver takes.
  const inspector = createStateInspector(`ws://127.0.0.1:${port}`);
  await expect.poll(() => dials, { timeout: 5_000 }).toBe(1);
  inspector.stop();
  await new Promise((resolve) => setTimeout(resolve, INSPECTOR_RETRY_MS + 700));
  expect(dials).toBe(1);
}, 15_000);

test("the relay refuses a web page of another origin and a foreign Host name; a message over the bound closes its sender", async () => {
  const relay = await startInspectorRelay('127.0.0.1', 0);
  cleanups.push(() => relay.close());
  const opens = (options: ConstructorParameters<typeof WebSocket>[2]) =>
    new Promise<boolean>((resolve) => {
      const ws = new WebSocket(relay.wsUrl, options);
      ws.once('open', () => (ws.close(), resolve(true)));
      ws.once('error', () => resolve(false));
    });
  expect(await opens({})).toBe(true);
  expect(await opens({ origin: relay.url })).toBe(true);
  expect(await opens({ origin: 'https://evil.example' })).toBe(false);
  expect(await opens({ headers: { host: `attacker.example:${new URL(relay.url).port}` } })).toBe(false);
  const sender = new WebSocket(relay.wsUrl);
  await new Promise((resolve) => sender.once('open', resolve));
  const closed = new Promise<number>((resolve) => sender.once('close', (code) => resolve(code)));
  sender.send('x'.repeat(RELAY_MAX_MESSAGE_BYTES + 1));
  expect(await closed).toBe(1009);
  // The relay is still up (an unheard socket error ended its process before).
  expect(await opens({})).toBe(true);
});

/** GET / with a Host header of our choosing: the status and the page. */
async function page(relay: InspectorRelay, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(relay.url, { headers: { host } }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('error', reject).end();
  });
}

/** Whether a WebSocket to `url` (sending these headers) is accepted. */
async function opens(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => (ws.close(), resolve(true)));
    ws.once('error', () => resolve(false));
  });
}

test('bound to 0.0.0.0 the relay answers at a LAN address of this machine and its page connects back there; bound to loopback it does not', async (ctx) => {
  const lan = lanAddress();
  if (lan === undefined) ctx.skip('this machine has no non-internal IPv4 address to be reached at');
  const wide = await startInspectorRelay('0.0.0.0', 0);
  cleanups.push(() => wide.close());
  const port = Number(new URL(wide.url).port);
  expect(wide.urls).toContain(`http://${lan}:${port}`);
  // A driver on another machine: `--inspect ws://<robot-ip>:<port>` (Host <robot-ip>:<port>, no Origin).
  expect(await opens(`ws://${lan}:${port}`)).toBe(true);
  // A browser on the LAN: the page it loads points its WebSocket at the address it typed, and that
  // page's origin may connect.
  const served = await page(wide, `${lan}:${port}`);
  expect(served.status).toBe(200);
  expect(served.body).toContain(`new WebSocket(${JSON.stringify(`ws://${lan}:${port}`)})`);
  expect(served.body).not.toContain('127.0.0.1');
  expect(await opens(`ws://${lan}:${port}`, { origin: `http://${lan}:${port}` })).toBe(true);
  // Still refused: a foreign name (the page too), this machine's name at another port, a foreign origin.
  expect(await opens(`ws://${lan}:${port}`, { headers: { host: `evil.example:${port}` } })).toBe(false);
  expect((await page(wide, `evil.example:${port}`)).status).toBe(421);
  expect(await opens(`ws://${lan}:${port}`, { headers: { host: `${lan}:${port + 1}` } })).toBe(false);
  expect(await opens(`ws://${lan}:${port}`, { origin: 'http://evil.example' })).toBe(false);
  expect(await opens(`ws://${lan}:${port}`, { origin: `http://evil.example:${port}` })).toBe(false);

  const narrow = await startInspectorRelay('127.0.0.1', 0);
  cleanups.push(() => narrow.close());
  const narrowPort = Number(new URL(narrow.url).port);
  expect(await opens(narrow.wsUrl)).toBe(true);
  expect(await opens(narrow.wsUrl, { headers: { host: `${lan}:${narrowPort}` } })).toBe(false);
  expect((await page(narrow, `${lan}:${narrowPort}`)).status).toBe(421);
  expect((await page(narrow, `localhost:${narrowPort}`)).body).toContain(`ws://localhost:${narrowPort}`);
});

// The stop sweep's listing of running moves (README "Safety: what a stop guarantees") against a fake
// daemon on port 0: a first listing reply that never comes (lost or stuck on one connection) is
// hedged on another stop-lane connection after LISTING_HEDGE_MS, instead of waiting out the 2 s
// deadline with a late move running (fault-simulation seed 2301364); a listed move is stopped at
// once, not after a stuck stop of a known move; a refused listing fails the sweep at once; a sweep
// abandoned for a newer one sends no more hedges, and hedges wait while LISTINGS_OPEN_MAX are open
// (and go once fewer are).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { createActor, toPromise } from 'xstate';
import { closeDaemonLink, openDaemonLink, type DaemonLink } from '../../src/actors/daemon-link.ts';
import { createMotionExecutor, LISTING_HEDGE_MS, LISTINGS_OPEN_MAX, LISTINGS_PER_SWEEP } from '../../src/actors/motion-executor.ts';
import { DEFAULT_SAFETY_POLICY } from '../../src/safety/safety-policy.ts';

const LATE_MOVE = '6f8eaf06-f749-40d0-a879-d8677c2ffd19';
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface FakeDaemon {
  readonly url: string;
  readonly listings: number;
  readonly stopped: string[];
}

/**
 * A daemon on port 0 whose `/api/move/running` answers by `listing(n)` (n from 1; null = never) and
 * whose `/api/move/stop` answers unless `stopAnswers(uuid)` says not (then never).
 */
async function fakeDaemon(listing: (n: number) => { status: number; body: unknown; delayMs?: number } | null, stopAnswers: (uuid: string) => boolean = () => true): Promise<FakeDaemon> {
  let listings = 0;
  const stopped: string[] = [];
  const held: ServerResponse[] = [];
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      if (request.method === 'GET' && request.url === '/api/move/running') {
        const reply = listing(++listings);
        if (reply === null) return void held.push(response);
        const answer = (): void => void response.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
        if (reply.delayMs) setTimeout(answer, reply.delayMs);
        else answer();
        return;
      }
      if (request.method === 'POST' && request.url === '/api/move/stop') {
        const { uuid } = JSON.parse(raw) as { uuid: string };
        if (!stopAnswers(uuid)) return void held.push(response);
        stopped.push(uuid);
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Move stopped' }));
        return;
      }
      response.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const response of held) response.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get listings() {
      return listings;
    },
    stopped,
  };
}

function executorOver(daemon: FakeDaemon) {
  const link: DaemonLink = openDaemonLink(daemon.url, 'http');
  cleanups.push(() => closeDaemonLink(link));
  return createMotionExecutor({ link: () => link, mayMove: () => null, report: () => undefined, policy: () => DEFAULT_SAFETY_POLICY });
}

function sweepOver(daemon: FakeDaemon, known: ReadonlyArray<string> = []): Promise<ReadonlyArray<string>> {
  return toPromise(createActor(executorOver(daemon).stopMotion, { input: { uuids: known } }).start());
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** Longer than a few hedges (LISTING_HEDGE_MS apart), far shorter than a listing's 2 s deadline. */
const HEDGES_DONE_MS = 4 * LISTING_HEDGE_MS;

test('a listing whose reply never comes is sent again on another connection: the sweep stops the move it names', async () => {
  const daemon = await fakeDaemon((n) => (n === 1 ? null : { status: 200, body: [{ uuid: LATE_MOVE }] }));
  // Before 2026-12-06: one listing, rejected after its 2 s deadline (DaemonTimeout) while the move ran.
  expect(await sweepOver(daemon)).toEqual([LATE_MOVE]);
  expect(daemon.stopped).toEqual([LATE_MOVE]);
  expect(daemon.listings).toBeGreaterThanOrEqual(2);
  expect(daemon.listings).toBeLessThanOrEqual(LISTINGS_PER_SWEEP);
});

test('a listing the daemon refuses fails the sweep at once, with no further listings', async () => {
  const daemon = await fakeDaemon(() => ({ status: 503, body: { detail: 'Backend not running' } }));
  await expect(sweepOver(daemon)).rejects.toMatchObject({ _tag: expect.stringMatching(/^Daemon/) });
  expect(daemon.listings).toBe(1);
});

test('a move the listing names is stopped at once, not after a known move\'s stop that is stuck', async () => {
  const KNOWN = '0f0e0d0c-0b0a-4908-8706-050403020100';
  const daemon = await fakeDaemon(() => ({ status: 200, body: [{ uuid: KNOWN }, { uuid: LATE_MOVE }] }), (uuid) => uuid !== KNOWN);
  let settled = false;
  const sweep = sweepOver(daemon, [KNOWN]).finally(() => (settled = true));
  sweep.catch(() => undefined);
  while (!daemon.stopped.includes(LATE_MOVE) && !settled) await sleep(2);
  // Before 2026-12-06 the listed move waited for the known move's stop (2 s), and was never stopped when that failed.
  expect(settled, 'stopped while the known move\'s stop is still unanswered').toBe(false);
  expect(daemon.stopped).toEqual([LATE_MOVE]);
  await expect(sweep).rejects.toMatchObject({ _tag: 'DaemonTimeout' });
});

test('a sweep abandoned for a newer one sends no more hedges', async () => {
  const daemon = await fakeDaemon(() => null);
  const sweep = createActor(executorOver(daemon).stopMotion, { input: { uuids: [] } }).start();
  await sleep(LISTING_HEDGE_MS / 5);
  sweep.stop();
  await sleep(HEDGES_DONE_MS);
  expect(daemon.listings).toBe(1);
});

test('hedges wait while LISTINGS_OPEN_MAX listings are open on the stop lane: a burst of stops does not fill it', async () => {
  const daemon = await fakeDaemon(() => null);
  const executor = executorOver(daemon);
  const SWEEPS = LISTINGS_OPEN_MAX + 2;
  for (let i = 0; i < SWEEPS; i += 1) {
    const sweep = createActor(executor.stopMotion, { input: { uuids: [] } }).start();
    cleanups.push(() => sweep.stop());
  }
  while (daemon.listings < SWEEPS) await sleep(2);
  await sleep(HEDGES_DONE_MS);
  // Each sweep's first listing goes; no hedge while LISTINGS_OPEN_MAX or more are open.
  expect(daemon.listings).toBe(SWEEPS);
});

test('a hedge held back while LISTINGS_OPEN_MAX listings are open goes once fewer are', async () => {
  const OTHERS = LISTINGS_OPEN_MAX - 1;
  // The other sweeps' listings answer after a while; this sweep's first listing never does; later ones name the move.
  const daemon = await fakeDaemon((n) => (n <= OTHERS ? { status: 200, body: [], delayMs: 3 * LISTING_HEDGE_MS } : n === OTHERS + 1 ? null : { status: 200, body: [{ uuid: LATE_MOVE }] }));
  const executor = executorOver(daemon);
  for (let i = 0; i < OTHERS; i += 1) {
    const other = createActor(executor.stopMotion, { input: { uuids: [] } }).start();
    cleanups.push(() => other.stop());
  }
  while (daemon.listings < OTHERS) await sleep(2);
  // Before 2026-12-06 (second fix) a hedge found the lane full once and never went: the sweep waited out its 2 s deadline.
  expect(await toPromise(createActor(executor.stopMotion, { input: { uuids: [] } }).start())).toEqual([LATE_MOVE]);
});

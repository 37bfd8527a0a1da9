// The stop sweep's listing of running moves (README "Safety: what a stop guarantees") against a
// daemon whose first listing reply never comes (a reply lost or stuck on one connection) while its
// other connections answer: the sweep lists again on another stop-lane connection after
// LISTING_HEDGE_MS and stops what that listing names, instead of waiting out the 2 s deadline with a
// late move running (fault-simulation seed 2301364). And a daemon that refuses the listing fails the
// sweep at once (the retried sweep's business), without more listings.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { createActor, toPromise } from 'xstate';
import { closeDaemonLink, openDaemonLink, type DaemonLink } from '../../src/actors/daemon-link.ts';
import { createMotionExecutor, LISTINGS_PER_SWEEP } from '../../src/actors/motion-executor.ts';
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

/** A daemon on port 0 whose `/api/move/running` answers by `listing(n)` (n from 1; null = never). */
async function fakeDaemon(listing: (n: number) => { status: number; body: unknown } | null): Promise<FakeDaemon> {
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
        response.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
        return;
      }
      if (request.method === 'POST' && request.url === '/api/move/stop') {
        stopped.push((JSON.parse(raw) as { uuid: string }).uuid);
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

function sweepOver(daemon: FakeDaemon): Promise<ReadonlyArray<string>> {
  const link: DaemonLink = openDaemonLink(daemon.url, 'http');
  cleanups.push(() => closeDaemonLink(link));
  const executor = createMotionExecutor({ link: () => link, mayMove: () => null, report: () => undefined, policy: () => DEFAULT_SAFETY_POLICY });
  return toPromise(createActor(executor.stopMotion, { input: { uuids: [] } }).start());
}

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

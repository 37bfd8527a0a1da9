// connectNats against a broker that accepts TCP and never says INFO (a hung broker): each attempt
// that times out leaves no socket open, counted on the server side. nats.js' own `connect` (3.4)
// kept every such socket (nats-io/nats.js#64): the same attempts through it are the baseline, so
// this test fails if the fix stops working. Also: no module of src/ opens a NATS connection any
// other way (transport-node's `connect` would put its leaking transport back, process-wide).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { afterEach, expect, test } from 'vitest';
import { connectNats } from '../../src/adapters/nats-connect.ts';
import { silentBroker, type SilentBroker } from '../harness/dead-brokers.ts';

/** Short: each attempt waits this long for INFO, then gives up. */
const ATTEMPT_TIMEOUT_MS = 200;
const ATTEMPTS = 4;
/** Time for the closes to reach the server. */
const SETTLE_MS = 300;

const silents: SilentBroker[] = [];
afterEach(async () => {
  for (const s of silents.splice(0)) await s.close();
});

/** ATTEMPTS one-shot connections through `dial`, each failing at its timeout; then the sockets still open on the server. */
async function openAfterAttempts(dial: typeof connectNats): Promise<{ accepted: number; open: number; failures: string[] }> {
  const broker = await silentBroker();
  silents.push(broker);
  const failures: string[] = [];
  for (let i = 0; i < ATTEMPTS; i++) {
    await dial({ servers: [broker.url], timeout: ATTEMPT_TIMEOUT_MS, reconnect: false, waitOnFirstConnect: false, maxReconnectAttempts: -1 }).then(
      async (nc) => (await nc.close(), failures.push('connected')),
      (error: unknown) => failures.push((error as Error).name),
    );
  }
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return { accepted: broker.accepted(), open: broker.open(), failures };
}

test('a broker that never says INFO: every timed-out attempt closes its socket', async () => {
  const result = await openAfterAttempts(connectNats);
  expect(result.failures).toHaveLength(ATTEMPTS);
  expect(result.failures).not.toContain('connected');
  expect(result.accepted).toBe(ATTEMPTS);
  expect(result.open).toBe(0);
});

test("baseline: nats.js' own connect leaves each such socket open (the defect connectNats mends)", async () => {
  const result = await openAfterAttempts(connect);
  expect(result.accepted).toBe(ATTEMPTS);
  expect(result.open).toBe(ATTEMPTS);
});

test('no module of src/ opens a NATS connection other than through connectNats', () => {
  const src = fileURLToPath(new URL('../../src/', import.meta.url));
  const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => join(src, f));
  const bypassing = files
    .filter((file) => !file.endsWith('nats-connect.ts'))
    .filter((file) => /import\s*\{[^}]*\bconnect\b[^}]*\}\s*from\s*'@nats-io\/transport-node'/.test(readFileSync(file, 'utf8').replace(/import type[^;]*;/g, '')))
    .map((file) => relative(src, file));
  expect(bypassing).toEqual([]);
});

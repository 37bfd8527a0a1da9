// The settings server's connection limits (connection-admission.ts), over real sockets: one LAN
// address holding sockets cannot take them all — another address still gets its page, and this
// machine gets in when the LAN holds every slot it may; a socket over a limit is closed before
// any HTTP is read; closing sockets frees their slots (no count left behind after many cycles);
// a refused address is warned about once with the cause and what to do, then summed up. The rule
// runs on a plain HTTP server whose "same machine" is 127.0.0.1 alone, so that 127.0.0.2… act as
// LAN peers (Linux routes all of 127.0.0.0/8 to loopback); the settings server's own wiring is
// tested in settings-guards.test.ts.
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  admitConnections,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_ADDRESS,
  MAX_LAN_CONNECTIONS,
  SAME_MACHINE_RESERVED_CONNECTIONS,
  type ConnectionAdmission,
  type ConnectionRefusal,
} from '../../src/adapters/settings-http/connection-admission.ts';
import { connectionRefusalNotice, MAX_ADDRESSES_WARNED, REFUSAL_WARNING_INTERVAL_MS } from '../../src/adapters/settings-http/connection-refusal-notice.ts';
import { captureLogs } from '../harness/log-capture.ts';
import { answerTo, connectFrom } from './settings-harness.ts';

/** One transcript line per exchange, like the settings harness's `call`. */
async function page(port: number, from: string): Promise<string> {
  const answer = await answerTo(await connectFrom(port, from));
  process.stdout.write(`  GET / from ${from} → ${answer === '' ? 'closed unanswered' : answer.split('\r\n')[0]}\n`);
  return answer;
}

describe('connection admission (LAN peers played by 127.0.0.2…)', () => {
  let server: Server;
  let admission: ConnectionAdmission;
  let port: number;
  let refusals: ConnectionRefusal[];
  const held: Socket[] = [];
  /** Opens `count` sockets from `from` and keeps them (idle, as a keep-alive or a slow reader would). */
  const hold = async (from: string, count: number): Promise<void> => {
    for (let i = 0; i < count; i++) held.push(await connectFrom(port, from));
  };

  beforeEach(async () => {
    refusals = [];
    server = createServer((_request, response) => response.end('the page'));
    admission = admitConnections(server, { refused: (refusal) => refusals.push(refusal), sameMachine: (remote) => remote === '127.0.0.1' });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
  });
  afterEach(async () => {
    for (const socket of held.splice(0)) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  test(`one address holding ${MAX_CONNECTIONS_PER_ADDRESS} sockets gets no more; another address still gets its page`, async () => {
    await hold('127.0.0.2', MAX_CONNECTIONS_PER_ADDRESS);
    await expect.poll(() => admission.open()).toEqual({ total: MAX_CONNECTIONS_PER_ADDRESS, lan: MAX_CONNECTIONS_PER_ADDRESS, lanAddresses: 1 });
    for (let i = 0; i < 5; i++) expect(await page(port, '127.0.0.2')).toBe('');
    expect(refusals).toHaveLength(5);
    expect(refusals[0]).toMatchObject({ _tag: 'AddressFull', address: '127.0.0.2', limit: MAX_CONNECTIONS_PER_ADDRESS, port });
    expect(await page(port, '127.0.0.3')).toMatch(/^HTTP\/1\.1 200[^]*the page$/);
    expect(await page(port, '127.0.0.1')).toMatch(/^HTTP\/1\.1 200/);
    // The refused sockets were never counted.
    expect(admission.open().total).toBe(MAX_CONNECTIONS_PER_ADDRESS);
  });

  test(`this machine gets in while the LAN holds all ${MAX_LAN_CONNECTIONS} of its slots, up to ${MAX_CONNECTIONS} in all`, async () => {
    const peers = Array.from({ length: MAX_LAN_CONNECTIONS / MAX_CONNECTIONS_PER_ADDRESS }, (_, i) => `127.0.0.${i + 2}`);
    for (const peer of peers) await hold(peer, MAX_CONNECTIONS_PER_ADDRESS);
    await expect.poll(() => admission.open()).toEqual({ total: MAX_LAN_CONNECTIONS, lan: MAX_LAN_CONNECTIONS, lanAddresses: peers.length });
    // A new LAN address finds the LAN's slots taken.
    expect(await page(port, '127.0.0.200')).toBe('');
    expect(refusals.at(-1)).toMatchObject({ _tag: 'LanFull', address: '127.0.0.200', limit: MAX_LAN_CONNECTIONS });
    // This machine (settings-link's path) still gets its page, and can hold every reserved slot.
    expect(await page(port, '127.0.0.1')).toMatch(/^HTTP\/1\.1 200/);
    await hold('127.0.0.1', SAME_MACHINE_RESERVED_CONNECTIONS);
    await expect.poll(() => admission.open().total).toBe(MAX_CONNECTIONS);
    // Past the file-descriptor bound nobody gets in, this machine included.
    expect(await page(port, '127.0.0.1')).toBe('');
    expect(refusals.at(-1)).toMatchObject({ _tag: 'ServerFull', address: '127.0.0.1', limit: MAX_CONNECTIONS });
    // A LAN peer closing its sockets gives the LAN its slots back.
    for (const socket of held.splice(0, MAX_CONNECTIONS_PER_ADDRESS)) socket.destroy();
    await expect.poll(() => admission.open()).toEqual({ total: MAX_CONNECTIONS - MAX_CONNECTIONS_PER_ADDRESS, lan: MAX_LAN_CONNECTIONS - MAX_CONNECTIONS_PER_ADDRESS, lanAddresses: peers.length - 1 });
    expect(await page(port, '127.0.0.200')).toMatch(/^HTTP\/1\.1 200/);
  });

  test('closing sockets frees their slots: after 40 fill-and-close cycles nothing is left counted', async () => {
    for (let cycle = 0; cycle < 40; cycle++) {
      await hold('127.0.0.2', MAX_CONNECTIONS_PER_ADDRESS);
      await hold('127.0.0.1', 2);
      const over = await connectFrom(port, '127.0.0.2');
      expect(await answerTo(over)).toBe('');
      for (const socket of held.splice(0)) socket.destroy();
      await expect.poll(() => admission.open()).toEqual({ total: 0, lan: 0, lanAddresses: 0 });
    }
    expect(refusals).toHaveLength(40);
    // The address got its whole quota back, and not one socket more.
    await hold('127.0.0.2', MAX_CONNECTIONS_PER_ADDRESS);
    expect(await page(port, '127.0.0.2')).toBe('');
    expect(await page(port, '127.0.0.3')).toMatch(/^HTTP\/1\.1 200/);
  }, 60_000);

  test('sockets that ended by themselves (answered with Connection: close) free their slots too', async () => {
    for (let i = 0; i < 3 * MAX_CONNECTIONS_PER_ADDRESS; i++) expect(await page(port, '127.0.0.2')).toMatch(/^HTTP\/1\.1 200/);
    await expect.poll(() => admission.open()).toEqual({ total: 0, lan: 0, lanAddresses: 0 });
    expect(refusals).toEqual([]);
  });
});

describe('refusal notice', () => {
  const refusal = (address: string, _tag: ConnectionRefusal['_tag'] = 'AddressFull'): ConnectionRefusal => ({
    _tag,
    address,
    limit: _tag === 'AddressFull' ? MAX_CONNECTIONS_PER_ADDRESS : MAX_LAN_CONNECTIONS,
    port: 8842,
  });
  let logs: ReturnType<typeof captureLogs>;
  beforeEach(() => {
    logs = captureLogs('info');
  });
  afterEach(() => logs.restore());

  test('the first refusal of an address is warned with cause and fix; its repeats are counted, and warned again once per interval', () => {
    let now = 1_000_000;
    const notice = connectionRefusalNotice(undefined, () => now);
    notice(refusal('192.0.2.7'));
    const first = logs.matching('WARN', '192.0.2.7');
    expect(first).toHaveLength(1);
    expect(first[0]).toContain(`already holds ${MAX_CONNECTIONS_PER_ADDRESS} open connections`);
    expect(first[0]).toContain('close settings tabs and live views on that machine');
    expect(first[0]).toContain('sport = :8842');
    expect(first[0]).toContain('cause=AddressFull');
    for (let i = 0; i < 500; i++) {
      now += 10;
      notice(refusal('192.0.2.7'));
    }
    expect(logs.lines).toHaveLength(1);
    // Another address's first refusal is its own warning, with its own cause and fix, and the count of those not logged.
    notice(refusal('192.0.2.8', 'LanFull'));
    expect(logs.matching('WARN', '192.0.2.8', 'cause=LanFull', 'settings-link', 'unlogged_refusals=500')).toHaveLength(1);
    now += REFUSAL_WARNING_INTERVAL_MS;
    notice(refusal('192.0.2.7'));
    expect(logs.lines).toHaveLength(3);
    expect(logs.lines[2]).toContain('settings connection refused: 192.0.2.7');
    now += 10;
    notice(refusal('192.0.2.7'));
    expect(logs.lines).toHaveLength(3);
  });

  test(`a peer cycling through addresses gets ${MAX_ADDRESSES_WARNED} warnings per interval; the rest are counted`, () => {
    let now = 1_000_000;
    const notice = connectionRefusalNotice(undefined, () => now);
    for (let i = 0; i < 1000; i++) {
      now += 1;
      notice(refusal(`fd00::${i.toString(16)}`, 'LanFull'));
    }
    expect(logs.lines).toHaveLength(MAX_ADDRESSES_WARNED);
    now += REFUSAL_WARNING_INTERVAL_MS;
    notice(refusal('fd00::ffff', 'LanFull'));
    expect(logs.lines).toHaveLength(MAX_ADDRESSES_WARNED + 1);
    expect(logs.lines.at(-1)).toContain('settings connection refused: the LAN already holds');
    expect(logs.lines.at(-1)).toContain(`unlogged_refusals=${1000 - MAX_ADDRESSES_WARNED}`);
  });
});

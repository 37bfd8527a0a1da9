// "Once clearly, then rate-limited" (src/logging/failure-notice.ts) on an injected clock, and the
// cause classification (src/adapters/network-cause.ts) on real errors from real sockets: DNS,
// refused, nats.js timeouts and no-responders — never on message text.
import { lookup } from 'node:dns/promises';
import { connect as tcpConnect, createServer } from 'node:net';
import { errors } from '@nats-io/nats-core';
import { expect, test } from 'vitest';
import { createLogger, setLogLevel, setLogSink } from '../../src/logging/logger.ts';
import { failureNotice, FAILURE_REPEAT_INTERVAL_MS } from '../../src/logging/failure-notice.ts';
import { causeOf } from '../../src/adapters/network-cause.ts';
import { DaemonTimeout, DaemonUnreachable } from '../../src/adapters/daemon-errors.ts';

function captured(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  setLogSink((line) => lines.push(line));
  setLogLevel('debug');
  return {
    lines,
    restore: () => {
      setLogSink((line) => void process.stderr.write(line + '\n'));
      setLogLevel('info');
    },
  };
}

test('a failure is a warning once, repeats are debug until the interval passes, then one summary; recovery is said once', () => {
  const log = captured();
  try {
    let now = 0;
    const notice = failureNotice(createLogger('test'), FAILURE_REPEAT_INTERVAL_MS, () => now);
    for (let i = 0; i < 30; i += 1) {
      notice.failed('refused', 'cannot reach X: connection refused', { url: 'x' });
      now += 1_000; // a retry every second for 30 s
    }
    expect(log.lines.filter((l) => l.includes(' WARN '))).toHaveLength(1);
    expect(log.lines.filter((l) => l.includes(' DEBUG '))).toHaveLength(29);
    now = 61_000;
    notice.failed('refused', 'cannot reach X: connection refused');
    const warns = log.lines.filter((l) => l.includes(' WARN '));
    expect(warns).toHaveLength(2);
    expect(warns[1]).toContain('still failing: cannot reach X');
    expect(warns[1]).toContain('attempts=31');
    expect(warns[1]).toContain('suppressed_since_last=29');
    // A new cause is news: logged at once.
    notice.failed('dns', 'cannot reach X: DNS lookup failed');
    expect(log.lines.filter((l) => l.includes(' WARN '))).toHaveLength(3);
    notice.recovered('X reachable again');
    notice.recovered('X reachable again');
    expect(log.lines.filter((l) => l.includes(' INFO '))).toHaveLength(1);
    expect(notice.failing).toBeNull();
    // After a recovery the next failure is news again.
    notice.failed('dns', 'cannot reach X: DNS lookup failed');
    expect(log.lines.filter((l) => l.includes(' WARN '))).toHaveLength(4);
  } finally {
    log.restore();
  }
});

test('causes come from codes and class names: DNS, refused, timeout, no responders, tagged daemon errors', async () => {
  const dns = await lookup('no-such-host.invalid').catch((e: unknown) => e);
  expect(causeOf(dns)).toMatchObject({ cause: 'dns', code: 'ENOTFOUND' });

  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const refused = await new Promise<unknown>((resolve) => tcpConnect(port, '127.0.0.1').on('error', resolve));
  expect(causeOf(refused)).toMatchObject({ cause: 'refused', code: 'ECONNREFUSED' });
  // nats.js wraps the system error as its cause.
  expect(causeOf(new errors.ConnectionError('connection refused', { cause: refused }))).toMatchObject({ cause: 'refused' });
  expect(causeOf(new errors.TimeoutError())).toMatchObject({ cause: 'timeout', code: 'TimeoutError' });
  expect(causeOf(new errors.RequestError('no responders', { cause: new errors.NoRespondersError('x') }))).toMatchObject({ cause: 'no_responders' });
  expect(causeOf(new errors.AuthorizationError('Authorization Violation'))).toMatchObject({ cause: 'authorization' });
  expect(causeOf(new DaemonUnreachable({ message: 'm', url: 'http://reachy-mini.local:8000', code: 'ENOTFOUND' }))).toMatchObject({ cause: 'dns' });
  expect(causeOf(new DaemonTimeout({ message: 'm', method: 'GET', route: '/api/daemon/status', timeoutMs: 1 }))).toMatchObject({ cause: 'timeout', code: 'DaemonTimeout' });
  // The message is never read: a misleading text does not change the cause.
  expect(causeOf(new Error('ECONNREFUSED ENOTFOUND timeout'))).toMatchObject({ cause: 'other' });
});

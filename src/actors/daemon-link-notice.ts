// What the driver says when the daemon link cannot be opened: the target's name does not resolve
// (the default `reachy-mini.local` off the robot's network), nothing listens on the daemon port, the
// daemon does not answer in time, or it answers with an error — once at warn with the URL, the cause,
// the retry cadence and what to do, then rate-limited; one info line when the link is back. Owns the
// wording; the connection machine owns the back-off. Issue 10 item 2 ("daemon unreachable").
import { createLogger } from '../logging/logger.ts';
import { failureNotice, type FailureNotice } from '../logging/failure-notice.ts';
import { causeOf, describeCause, type NetworkCause } from '../adapters/network-cause.ts';
import { RECONNECT_BACKOFF_BASE_MS, RECONNECT_BACKOFF_MAX_MS } from '../machines/connection.machine.ts';

const log = createLogger('robot');

function hostOf(baseUrl: string): { host: string; port: string } {
  try {
    const u = new URL(baseUrl);
    return { host: u.hostname, port: u.port || '80' };
  } catch {
    return { host: baseUrl, port: '?' };
  }
}

export function daemonAdvice(cause: NetworkCause, baseUrl: string): string {
  const { host, port } = hostOf(baseUrl);
  switch (cause) {
    case 'dns':
      return `the name ${host} does not resolve: is the robot powered and on this network (.local names need mDNS: avahi or Bonjour)? Set --target (REACHY_TARGET) to the robot's IP address, or run with --sim for the embedded emulator`;
    case 'refused':
      return `${host} answers but nothing listens on port ${port}: start the robot's daemon, or check the port in --target / --api-port`;
    case 'timeout':
    case 'unreachable':
      return `check --target (${host}), that the robot is powered and on this network, and any firewall`;
    case 'tls':
      return "the daemon's certificate is not trusted: pass --daemon-ca-file (REACHY_DAEMON_CA_FILE) with the CA that signed it";
    case 'authorization':
      return 'the daemon requires a token and refused ours (or none was sent): set REACHY_DAEMON_TOKEN to the daemon\'s token';
    default:
      return "the daemon answered but not as expected: see the daemon's log";
  }
}

/** The network cause, with the daemon's own 401/403 (a missing or wrong REACHY_DAEMON_TOKEN) as `authorization`. */
function daemonCauseOf(error: unknown): ReturnType<typeof causeOf> {
  const e = error as { _tag?: unknown; status?: unknown; message?: unknown } | null;
  if (e?._tag === 'DaemonRejected' && (e.status === 401 || e.status === 403)) return { cause: 'authorization', code: `HTTP ${e.status}`, detail: String(e.message) };
  return causeOf(error);
}

function closedByUs(error: unknown): boolean {
  const e = error as { _tag?: unknown; state?: unknown } | null;
  return e?._tag === 'DaemonCallCancelled' || (e?._tag === 'DaemonNotConnected' && e.state === 'closed');
}

export interface DaemonLinkNotice {
  /** Reports a failed status probe, then rethrows it (the connection machine backs off). */
  failed(baseUrl: string, error: unknown): never;
  connected(baseUrl: string): void;
}

export function daemonLinkNotice(notice: FailureNotice = failureNotice(log)): DaemonLinkNotice {
  return {
    failed(baseUrl, error) {
      // Our own shutdown or retarget closed the client under the probe: not a failure of the daemon.
      if (closedByUs(error)) throw error;
      const { cause, code, detail } = daemonCauseOf(error);
      const cadence = `retrying every ${RECONNECT_BACKOFF_BASE_MS} ms → ${RECONNECT_BACKOFF_MAX_MS / 1000} s`;
      notice.failed(`${baseUrl}|${cause}`, `cannot reach the robot daemon at ${baseUrl}: ${describeCause(cause)}; ${cadence} — ${daemonAdvice(cause, baseUrl)}`, {
        daemon: baseUrl,
        cause,
        code,
        error: detail,
      });
      throw error;
    },
    connected(baseUrl) {
      notice.recovered('robot daemon reachable; link up', { daemon: baseUrl });
    },
  };
}

// Makes the Stately inspector's relay connection visible: `@statelyai/inspect` dials the relay and
// retries every 5 s in silence, so `--inspect ws://…` with no relay running said nothing. This
// watches each WebSocket the inspector opens: the first failure is a warning with the URL, the cause
// and what to do, repeats are rate-limited, and connecting says so once at info. It also takes over
// the library's retry, which dialed again after the inspector stopped. Owns that watching and the
// retry; the inspector (state-inspector.ts) owns the sanitising. Issue 10 item 2.
import { createLogger, type Logger } from '../logging/logger.ts';
import { failureNotice, type FailureNotice } from '../logging/failure-notice.ts';
import { causeOf, describeCause } from './network-cause.ts';

const log = createLogger('inspect');

/** `@statelyai/inspect`'s own retry delay after a failed dial (not configurable there). */
export const INSPECTOR_RETRY_MS = 5_000;

/** The part of a `ws` WebSocket this needs (isomorphic-ws is `ws` on Node). */
interface WatchedSocket {
  on(event: 'open', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** The inspector's WebSocket adapter: it assigns `ws` each time it dials; `start` dials. */
interface InspectorAdapter {
  ws?: unknown;
  status?: string;
  start?: () => void;
}

export interface RelayWatchOptions {
  readonly logger?: Logger;
  /** The wait before dialing again after a failed dial (default INSPECTOR_RETRY_MS, the library's own); tests shorten it. */
  readonly retryMs?: number;
  /** True once the inspector is stopped: the retry is then not dialed. */
  readonly stopped?: () => boolean;
}

function isWatchable(value: unknown): value is WatchedSocket {
  return typeof value === 'object' && value !== null && typeof (value as { on?: unknown }).on === 'function';
}

export function reportRelay(notice: FailureNotice, url: string) {
  return {
    opened: () => {
      if (notice.failing === null) log.info('connected to the inspector relay', { url });
      else notice.recovered('connected to the inspector relay', { url });
    },
    failed: (error: Error) => {
      const { cause, code, detail } = causeOf(error);
      notice.failed(
        cause,
        `cannot reach the inspector relay at ${url}: ${describeCause(cause)}; retrying every ${INSPECTOR_RETRY_MS / 1000} s — start it with \`npm run inspect\` (or drop --inspect / REACHY_MINI_DRIVER_INSPECT_URL)`,
        { url, cause, code, error: detail },
      );
    },
  };
}

/**
 * Replaces the `onerror` handler the adapter gives `socket` (its 5-s wait, then dial again) by the
 * same step after `retryMs`, skipped once stopped: the library's own dials again whatever happened
 * meanwhile, so a relay that failed (or a dial that `stop()` itself broke off) was dialed every 5 s
 * after the inspector stopped, for ever. `ws` sockets take `onerror` through a prototype accessor,
 * shadowed here. The timer does not hold the process open.
 */
function retryAfter(socket: object, adapter: InspectorAdapter, retryMs: number, stopped: () => boolean): void {
  const onerror = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(socket), 'onerror');
  if (!onerror?.set || !adapter.start) return;
  const redial = () => {
    adapter.status = 'closed';
    if (!stopped()) setTimeout(() => stopped() || adapter.start?.(), retryMs).unref();
  };
  Object.defineProperty(socket, 'onerror', { configurable: true, get: () => onerror.get?.call(socket), set: () => onerror.set?.call(socket, redial) });
}

/**
 * Watches every socket `adapter` will open from now on (call before starting the inspector).
 * The adapter's own handlers stay in place but for its retry (retryAfter): these are extra listeners.
 */
export function watchInspectorRelay(adapter: InspectorAdapter, url: string, options: RelayWatchOptions = {}): void {
  const { logger = log, retryMs = INSPECTOR_RETRY_MS, stopped = () => false } = options;
  const report = reportRelay(failureNotice(logger), url);
  let current: unknown = adapter.ws;
  Object.defineProperty(adapter, 'ws', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (socket: unknown) => {
      current = socket;
      if (!isWatchable(socket)) return;
      retryAfter(socket, adapter, retryMs, stopped);
      socket.on('open', report.opened);
      socket.on('error', report.failed);
    },
  });
}

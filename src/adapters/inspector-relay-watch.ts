// Makes the Stately inspector's relay connection visible: `@statelyai/inspect` dials the relay and
// retries every 5 s in silence, so `--inspect ws://…` with no relay running said nothing. This
// watches each WebSocket the inspector opens: the first failure is a warning with the URL, the cause
// and what to do, repeats are rate-limited, and connecting says so once at info. Owns only that
// watching; the inspector (state-inspector.ts) owns the sanitising. Issue 10 item 2.
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

/** The inspector's WebSocket adapter: it assigns `ws` each time it dials. */
interface InspectorAdapter {
  ws?: unknown;
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
 * Watches every socket `adapter` will open from now on (call before starting the inspector).
 * The adapter's own handlers stay in place: these are extra listeners.
 */
export function watchInspectorRelay(adapter: InspectorAdapter, url: string, logger: Logger = log): void {
  const report = reportRelay(failureNotice(logger), url);
  let current: unknown = adapter.ws;
  Object.defineProperty(adapter, 'ws', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (socket: unknown) => {
      current = socket;
      if (!isWatchable(socket)) return;
      socket.on('open', report.opened);
      socket.on('error', report.failed);
    },
  });
}

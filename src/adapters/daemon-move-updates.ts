// Client of the daemon's `/api/move/ws/updates` push socket (reachy-daemon-api.md §1.2;
// fixtures/daemon/ws1.txt): typed `move_started` / `move_completed` / `move_failed` /
// `move_cancelled` events for every REST move, a short memory of recent events so a caller that
// learns a goto uuid after its events arrived still sees them, and `waitForEnd(uuid)`.
// Connection policy is the shared daemon-reconnecting-socket.ts. Does not own moves (REST,
// daemon-http.ts) nor what a failed move means for the driver.
import { createLogger } from '../logging/logger.ts';
import { DaemonNotConnected, DaemonTimeout } from './daemon-errors.ts';
import { DaemonPushClient, type CloseInfo, type DaemonSocketOverrides, type ReconnectInfo } from './daemon-reconnecting-socket.ts';
import { decodeMoveUpdate, parseJson, type MoveUpdate } from './daemon-wire.ts';

export type { MoveUpdate, MoveUpdateType } from './daemon-wire.ts';

const log = createLogger('daemon-moves');

export const MOVE_UPDATES_PATH = '/api/move/ws/updates';
/**
 * Recent events kept: a move yields 2 (started + end); 64 covers the ~30 moves a busy agent can
 * start in the time an RPC takes to learn its uuid, and bounds memory.
 */
export const RECENT_EVENTS_KEPT = 64;

const TERMINAL: ReadonlySet<MoveUpdate['type']> = new Set(['move_completed', 'move_failed', 'move_cancelled']);

export interface MoveUpdatesEvents {
  open: () => void;
  close: (info: CloseInfo) => void;
  reconnecting: (info: ReconnectInfo) => void;
  move: (update: MoveUpdate) => void;
}

export interface DaemonMoveUpdatesOptions extends DaemonSocketOverrides {
  /** `ws://host:port` or `http://host:port` of the daemon. */
  readonly baseUrl: string;
}

export class DaemonMoveUpdates extends DaemonPushClient<MoveUpdatesEvents> {
  readonly #recent: MoveUpdate[] = [];

  /** Creates the client and starts connecting at once. */
  constructor(options: DaemonMoveUpdatesOptions) {
    super('move-updates', options.baseUrl, MOVE_UPDATES_PATH, options, log);
  }

  /** Events already received for `uuid`, oldest first (bounded memory, see RECENT_EVENTS_KEPT). */
  recent(uuid: string): readonly MoveUpdate[] {
    return this.#recent.filter((update) => update.uuid === uuid);
  }

  /**
   * Resolves with the move's terminal event (completed, failed or cancelled), already received or
   * still to come. Rejects with DaemonTimeout, or DaemonNotConnected if the socket drops first
   * (events sent while disconnected are lost: the caller then asks `/api/move/running`).
   */
  waitForEnd(uuid: string, timeoutMs: number): Promise<MoveUpdate> {
    const done = this.recent(uuid).find((update) => TERMINAL.has(update.type));
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const stopMove = this.on('move', (update) => {
        if (update.uuid !== uuid || !TERMINAL.has(update.type)) return;
        cleanup();
        resolve(update);
      });
      const stopClose = this.on('close', (info) => {
        cleanup();
        reject(new DaemonNotConnected({ message: `move updates closed before move ${uuid} ended: ${info.reason}`, url: this.url, state: 'connecting' }));
      });
      const timer = setTimeout(() => {
        cleanup();
        reject(new DaemonTimeout({ message: `move ${uuid} did not end within ${timeoutMs} ms`, method: 'WS', route: MOVE_UPDATES_PATH, timeoutMs }));
      }, timeoutMs);
      const cleanup = (): void => {
        stopMove();
        stopClose();
        clearTimeout(timer);
      };
    });
  }

  protected onMessage(text: string): void {
    const parsed = parseJson(text);
    const decoded = parsed ? decodeMoveUpdate(parsed.json) : { ok: false as const, problem: 'not JSON' };
    if (!decoded.ok) {
      this.countInvalidFrame();
      log.debug('move update dropped', { problem: decoded.problem, frame: text.slice(0, 200) });
      return;
    }
    this.#recent.push(decoded.value);
    if (this.#recent.length > RECENT_EVENTS_KEPT) this.#recent.splice(0, this.#recent.length - RECENT_EVENTS_KEPT);
    this.events.emit('move', decoded.value);
  }
}

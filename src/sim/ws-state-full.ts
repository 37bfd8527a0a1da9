// `/api/state/ws/full` (RM:.../routers/state.py `ws_full_state`; reachy-daemon-api.md §1.1;
// fixtures/daemon/ws1.txt: 41 frames in 2 s at 20 Hz): one FullState per period — send, then wait
// 1/frequency s of wall time, so the rate is slightly below `frequency` — while the backend runs;
// the stream ends (close 1000) when it stops. Same flags as `/full` minus `with_control_mode`.
// No frame is sent while the daemon is paused (fault-injector.ts); the pacing goes on.
// Owns the per-socket pacing only; the FullState document is wire-format.ts's.
import type { WebSocket } from 'ws';
import { backendNotRunning } from './fastapi-errors.ts';
import type { FaultInjector } from './fault-injector.ts';
import { checkQueryFloat } from './request-validation.ts';
import { parseFullStateFlags } from './routes-state.ts';
import type { SimDaemon } from './sim-daemon.ts';
import { fullStateJson, type FullStateFlags } from './wire-format.ts';
import { REFUSE_FORBIDDEN, type Admission, type WsEndpoint } from './ws-gateway.ts';

/** `frequency` default, Hz. */
const DEFAULT_FREQUENCY_HZ = 10;
/**
 * Shortest wait between frames (ms). A negative frequency makes the daemon's
 * `asyncio.sleep(1/f)` return at once (a flood); 1 ms keeps that visible without starving Node.
 */
const MIN_PERIOD_MS = 1;
/** Close code uvicorn sends when the handler raises after accept (`frequency=0`: 1/0). */
const CLOSE_INTERNAL_ERROR = 1011;
/** Normal closure: the handler's loop ended because the backend stopped. */
const CLOSE_NORMAL = 1000;

interface StreamParams {
  readonly flags: FullStateFlags;
  readonly frequency: number;
}

function parseParams(query: URLSearchParams): StreamParams | null {
  const frequency = checkQueryFloat(query, 'frequency', DEFAULT_FREQUENCY_HZ);
  const parsed = parseFullStateFlags(query, false);
  if (!frequency.ok || 'issues' in parsed) return null;
  return { flags: parsed.flags, frequency: frequency.value };
}

export class StateFullSocket implements WsEndpoint {
  readonly path = '/api/state/ws/full';
  readonly #daemon: SimDaemon;
  readonly #faults: FaultInjector;

  constructor(daemon: SimDaemon, faults: FaultInjector) {
    this.#daemon = daemon;
    this.#faults = faults;
  }

  admit(query: URLSearchParams): Admission {
    if (!this.#daemon.backendReady) {
      const reply = backendNotRunning();
      return { accept: false, status: reply.status, json: 'json' in reply ? reply.json : undefined };
    }
    return parseParams(query) ? { accept: true } : REFUSE_FORBIDDEN;
  }

  connect(socket: WebSocket, query: URLSearchParams): void {
    const params = parseParams(query);
    if (!params) return;
    if (params.frequency === 0) {
      socket.close(CLOSE_INTERNAL_ERROR);
      return;
    }
    const periodMs = Math.max(MIN_PERIOD_MS, 1000 / params.frequency);
    let cancel = (): void => undefined;
    const step = (): void => {
      if (socket.readyState !== socket.OPEN) return;
      if (!this.#daemon.backendReady) {
        socket.close(CLOSE_NORMAL);
        return;
      }
      if (!this.#faults.paused) socket.send(JSON.stringify(fullStateJson(this.#daemon.robot.snapshot(), params.flags)));
      cancel = this.#daemon.clock.afterWall(periodMs, step);
    };
    socket.on('close', () => cancel());
    step();
  }
}

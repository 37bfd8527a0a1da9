// `/api/move/ws/updates` (RM:.../routers/move.py `ws_move_updates`; reachy-daemon-api.md §1.2;
// fixtures/daemon/ws1.txt): pushes `{"type","uuid","details"}` for every REST move's start,
// completion, failure or cancellation. No backend dependency; client text is read and ignored.
// Injected faults (fault-injector.ts): events are held while the daemon is paused and sent on
// resume; with `reorderMoveUpdatesMs` they are held per window and sent shuffled. Owns the
// listener sockets only; the events come from move-tasks.ts.
import type { WebSocket } from 'ws';
import type { FaultInjector } from './fault-injector.ts';
import type { MoveTasks } from './move-tasks.ts';
import type { SimClock } from './sim-clock.ts';
import type { Admission, WsEndpoint } from './ws-gateway.ts';

export class MoveUpdatesSocket implements WsEndpoint {
  readonly path = '/api/move/ws/updates';
  readonly #listeners = new Set<WebSocket>();
  readonly #faults: FaultInjector;
  readonly #clock: SimClock;
  /** Frames of the open reorder window, in event order; null when no window is open. */
  #window: string[] | null = null;

  constructor(moves: MoveTasks, faults: FaultInjector, clock: SimClock) {
    this.#faults = faults;
    this.#clock = clock;
    moves.subscribe((event) => this.#publish(JSON.stringify(event)));
  }

  admit(): Admission {
    return { accept: true };
  }

  connect(socket: WebSocket): void {
    this.#listeners.add(socket);
    socket.on('close', () => this.#listeners.delete(socket));
  }

  /** The daemon process died: a reorder window's frames are lost with it. */
  processDied(): void {
    this.#window = null;
  }

  #publish(text: string): void {
    const windowMs = this.#faults.reorderWindowMs;
    if (this.#window) {
      this.#window.push(text);
      return;
    }
    if (windowMs <= 0) {
      this.#faults.whenRunning(() => this.#send(text));
      return;
    }
    const held = [text];
    this.#window = held;
    this.#clock.afterWall(windowMs, () => {
      if (this.#window !== held) return;
      this.#window = null;
      for (const frame of this.#faults.shuffle(held)) this.#faults.whenRunning(() => this.#send(frame));
    });
  }

  #send(text: string): void {
    for (const socket of this.#listeners) if (socket.readyState === socket.OPEN) socket.send(text);
  }
}

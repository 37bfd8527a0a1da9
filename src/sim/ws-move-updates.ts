// `/api/move/ws/updates` (RM:.../routers/move.py `ws_move_updates`; reachy-daemon-api.md §1.2;
// fixtures/daemon/ws1.txt): pushes `{"type","uuid","details"}` for every REST move's start,
// completion, failure or cancellation. No backend dependency; client text is read and ignored.
// Owns the listener sockets only; the events come from move-tasks.ts.
import type { WebSocket } from 'ws';
import type { MoveTasks } from './move-tasks.ts';
import type { Admission, WsEndpoint } from './ws-gateway.ts';

export class MoveUpdatesSocket implements WsEndpoint {
  readonly path = '/api/move/ws/updates';
  readonly #listeners = new Set<WebSocket>();

  constructor(moves: MoveTasks) {
    moves.subscribe((event) => {
      const text = JSON.stringify(event);
      for (const socket of this.#listeners) if (socket.readyState === socket.OPEN) socket.send(text);
    });
  }

  admit(): Admission {
    return { accept: true };
  }

  connect(socket: WebSocket): void {
    this.#listeners.add(socket);
    socket.on('close', () => this.#listeners.delete(socket));
  }
}

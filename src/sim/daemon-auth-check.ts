// The emulator's optional daemon authentication (issue 12 part 3, the prior art's
// `REACHY_DAEMON_TOKEN`): with a token configured, every HTTP request and WebSocket upgrade must
// carry `Authorization: Bearer <token>`; others get 401 (an upgrade is refused before it opens).
// Records what it saw per path (accepted or refused), so tests can check the token reached REST and
// both sockets. Owns no routes and no robot state.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export interface AuthAttempt {
  readonly kind: 'http' | 'ws';
  readonly path: string;
  readonly accepted: boolean;
}

export class DaemonAuthCheck {
  readonly #expected: string | null;
  readonly attempts: AuthAttempt[] = [];

  constructor(token: string | undefined) {
    this.#expected = token === undefined ? null : `Bearer ${token}`;
  }

  #allowed(request: IncomingMessage, kind: AuthAttempt['kind']): boolean {
    if (this.#expected === null) return true;
    const accepted = request.headers.authorization === this.#expected;
    this.attempts.push({ kind, path: new URL(request.url ?? '/', 'http://emulator.invalid').pathname, accepted });
    return accepted;
  }

  /** Wraps the HTTP handler: 401 with the daemon's FastAPI shape when the token is missing or wrong. */
  http(handler: (request: IncomingMessage, response: ServerResponse) => void): (request: IncomingMessage, response: ServerResponse) => void {
    return (request, response) => {
      if (this.#allowed(request, 'http')) return handler(request, response);
      response.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
      response.end(JSON.stringify({ detail: 'Not authenticated' }));
    };
  }

  /** Wraps the upgrade handler: a refused upgrade is answered 401 and the socket closed. */
  upgrade(handler: (request: IncomingMessage, socket: Duplex, head: Buffer) => void): (request: IncomingMessage, socket: Duplex, head: Buffer) => void {
    return (request, socket, head) => {
      if (this.#allowed(request, 'ws')) return handler(request, socket, head);
      // The HTTP server stops watching a socket it hands to the upgrade handler: a client that
      // resets the refused connection would otherwise be an uncaught error in the emulator.
      socket.on('error', () => socket.destroy());
      socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    };
  }
}

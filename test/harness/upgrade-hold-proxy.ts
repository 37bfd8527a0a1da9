// A TCP proxy in front of the daemon emulator that can hold back the daemon's answer to the next
// WebSocket upgrade on one path (a daemon whose /ws/sdk handshake completes after its HTTP API is
// back), and says which WebSockets on that path are open right now (their `101` reached the
// client and neither side has closed). It can also cut every connection on a path now, and refuse
// new ones on a path (accepted, then closed: the client sees a dropped link). Bytes pass unchanged
// otherwise. While the emulator is down, the proxy accepts the TCP connection and closes it at once.
// Owns its sockets only; not a daemon feature.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface UpgradeHoldProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>` — pass as the driver's `daemonBaseUrl`. */
  readonly url: string;
  /** The next upgrade answer on `path` is forwarded `ms` after it arrives (one upgrade only). */
  holdNextUpgrade(path: string, ms: number): void;
  /** WebSockets on `path` whose 101 reached the client and that are still open. */
  openWebSockets(path: string): number;
  /** Destroys every connection on `path` now (both sides). */
  cut(path: string): void;
  /** While on, new connections on `path` are closed as soon as their request arrives. */
  refuse(path: string, on: boolean): void;
  close(): Promise<void>;
}

/** The request line of an HTTP request: `GET /ws/sdk?x=1 HTTP/1.1` → `/ws/sdk`. */
function requestPath(head: Buffer): string {
  const line = head.toString('latin1', 0, Math.min(head.length, 2048)).split('\r\n', 1)[0] ?? '';
  const target = line.split(' ')[1] ?? '';
  return target.split('?')[0] ?? '';
}

export async function startUpgradeHoldProxy(target: { readonly host: string; readonly port: number }): Promise<UpgradeHoldProxy> {
  const open = new Map<string, number>();
  const holds = new Map<string, number>();
  const byPath = new Map<string, Set<Socket>>();
  const refused = new Set<string>();
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };

  const server: Server = createServer((client) => {
    track(client);
    client.once('data', (head: Buffer) => {
      const path = requestPath(head);
      if (refused.has(path)) return void client.destroy();
      const onPath = byPath.get(path) ?? new Set<Socket>();
      byPath.set(path, onPath);
      onPath.add(client);
      client.on('close', () => onPath.delete(client));
      const upstream = connect(target.port, target.host);
      track(upstream);
      let held: Buffer[] | null = null;
      let counted = false;
      const is101 = (chunk: Buffer) => chunk.toString('latin1', 0, 12) === 'HTTP/1.1 101';
      const forward = (chunk: Buffer) => {
        if (client.destroyed) return;
        if (!counted && is101(chunk)) {
          counted = true;
          open.set(path, (open.get(path) ?? 0) + 1);
        }
        client.write(chunk);
      };
      upstream.on('data', (chunk: Buffer) => {
        if (held) return void held.push(chunk);
        const hold = holds.get(path);
        if (hold !== undefined && !counted && is101(chunk)) {
          holds.delete(path);
          held = [chunk];
          setTimeout(() => {
            const chunks = held ?? [];
            held = null;
            for (const c of chunks) forward(c);
          }, hold);
          return;
        }
        forward(chunk);
      });
      const closed = () => {
        if (!counted) return;
        counted = false;
        open.set(path, (open.get(path) ?? 1) - 1);
      };
      // The daemon's side ended: pass the end on after what was already written (no truncation).
      upstream.on('close', () => {
        closed();
        client.end();
      });
      client.on('close', () => {
        closed();
        upstream.destroy();
      });
      upstream.write(head);
      client.on('data', (chunk: Buffer) => upstream.write(chunk));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    holdNextUpgrade: (path, ms) => void holds.set(path, ms),
    openWebSockets: (path) => open.get(path) ?? 0,
    cut: (path) => {
      for (const socket of byPath.get(path) ?? []) socket.destroy();
    },
    refuse: (path, on) => void (on ? refused.add(path) : refused.delete(path)),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

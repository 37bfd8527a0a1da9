// A loopback TCP proxy that can cut the link it carries: `cut()` destroys every connection through
// it and refuses new ones (accepted, then closed at once: the dialer sees a dropped link, as on a
// WAN outage that resets); `blackhole()` destroys them too but then accepts new ones and never
// answers (a host that vanished: a dialer waits for its connect timeout); `restore()` lets
// connections through again. Bytes pass unchanged.
// Used between a leaf nats-server and its hub, so the hub stays up for its own clients while the
// robot-local broker loses the mesh. Owns its sockets only; not a driver or broker feature.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

const LOOPBACK = '127.0.0.1';

export interface CutProxy {
  readonly port: number;
  /** True between `cut()` or `blackhole()` and `restore()`. */
  readonly isCut: boolean;
  /** Connections carried since the proxy started (each accepted while not cut). */
  readonly carried: number;
  cut(): void;
  blackhole(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startCutProxy(targetPort: number): Promise<CutProxy> {
  const sockets = new Set<Socket>();
  let mode: 'open' | 'cut' | 'blackhole' = 'open';
  let carried = 0;
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (mode === 'cut') {
      client.destroy();
      return;
    }
    if (mode === 'blackhole') return; // held open, never forwarded or answered
    carried += 1;
    const upstream = connect(targetPort, LOOPBACK);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    get isCut() {
      return mode !== 'open';
    },
    get carried() {
      return carried;
    },
    cut() {
      mode = 'cut';
      for (const socket of [...sockets]) socket.destroy();
    },
    blackhole() {
      mode = 'blackhole';
      for (const socket of [...sockets]) socket.destroy();
    },
    restore() {
      mode = 'open';
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of [...sockets]) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

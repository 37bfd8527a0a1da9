// Brokers that are not there, for tests of what a NATS client does without one: a loopback port
// nothing listens on (a dial is refused at once) and one that accepts TCP and never speaks (a hung
// broker: a dial ends at its timeout), which counts the sockets it was given and still holds.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A loopback port nothing listens on (bound, then closed): a dial there is refused at once. */
export async function closedPort(): Promise<number> {
  const listener = createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as AddressInfo;
  await new Promise<void>((resolve) => listener.close(() => resolve()));
  return port;
}

export interface SilentBroker {
  readonly url: string;
  /** Connections accepted so far. */
  accepted(): number;
  /** Connections still open (the client has not closed them). */
  open(): number;
  close(): Promise<void>;
}

/** A loopback port that accepts TCP and never writes (a wedged broker). */
export async function silentBroker(): Promise<SilentBroker> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const listener: Server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  return {
    url: `nats://127.0.0.1:${(listener.address() as AddressInfo).port}`,
    accepted: () => accepted,
    open: () => sockets.size,
    close: () => new Promise<void>((resolve) => (sockets.forEach((s) => s.destroy()), listener.close(() => resolve()))),
  };
}

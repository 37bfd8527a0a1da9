// How an emulator server starts listening: on a port of a host it binds itself, or on a socket
// the driver bound (with this too) and handed to the --sim emulator's process
// (src/sim/emulator-child.ts), so the driver knows the address before that process is up. Owns only
// the bind step and its error; not the servers (emulator.ts, signalling-server.ts) nor the handing
// over (src/adapters/emulator-process.ts).
import type { AddressInfo, Server as NetServer } from 'node:net';

/** A port on a host (0 = ephemeral), or a listening socket received from the driver. */
export type ListenTarget = { readonly port: number; readonly host: string } | { readonly socket: NetServer };

/** Starts `server` listening on `target`; resolves with the port it listens on, rejects on a bind error. */
export function listenOn(server: NetServer, target: ListenTarget): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    const listening = (): void => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    };
    if ('socket' in target) server.listen(target.socket, listening);
    else server.listen(target.port, target.host, listening);
  });
}

// The fault simulation's daemon transport (src/adapters/daemon-transport.ts): every connection the
// driver's adapters open (undici HTTP/1.1, the ws upgrades of /ws/sdk and move updates) becomes an
// in-memory socket pair handed to the emulator's own node:http server, so the real clients and the
// real server run with no TCP, on whatever clock drives the global timers (fake timers in the
// simulation). Link latency is a per-chunk draw; a stopped emulator refuses like a closed port.
// Owns the connection count and the latency only; faults of the daemon are `emulator.faults`.
import type { DaemonTransport } from '../adapters/daemon-transport.ts';
import type { Emulator } from './emulator.ts';
import { InMemorySocket, type LatencyMs } from './in-memory-socket.ts';

/** First client "port" of the in-memory connections (only shown in logs; ephemeral range). */
const FIRST_CLIENT_PORT = 49_152;

export interface InMemoryTransport extends DaemonTransport {
  /** Connections opened so far (accepted or refused). */
  readonly opened: number;
}

export function inMemoryTransport(emulator: Pick<Emulator, 'acceptConnection' | 'port'>, latencyMs: LatencyMs = () => 0): InMemoryTransport {
  let opened = 0;
  return {
    get opened() {
      return opened;
    },
    connect(callback) {
      opened += 1;
      const [client, server] = InMemorySocket.pair(latencyMs, FIRST_CLIENT_PORT + opened, emulator.port);
      // The SYN reaches the daemon one latency later; its answer is the same latency back.
      setTimeout(() => {
        if (emulator.acceptConnection(server)) {
          callback(null, client);
          return;
        }
        const refused = Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:${emulator.port} (in-memory daemon stopped)`), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' });
        callback(refused, null);
      }, Math.max(0, 2 * latencyMs()));
    },
  };
}

// How the daemon adapters reach the daemon's bytes: TCP by default (undici's and ws's own
// connectors); the deterministic fault simulation (test/simulation/) injects an in-memory byte
// pipe into the emulator instead (src/sim/in-memory-transport.ts), so HTTP/1.1 and the WebSocket
// upgrades still run through the real undici client, the real ws client and the emulator's real
// node:http server. Also the call deadline as a plain timer (AbortSignal.timeout runs on an
// internal clock no fake timer drives). Owns no protocol and no robot state.
import type { Duplex } from 'node:stream';

/** Opens one byte stream to the daemon; an error (coded like net's: ECONNREFUSED) when nothing listens. */
export type DaemonConnect = (callback: (error: Error | null, socket: Duplex | null) => void) => void;

export interface DaemonTransport {
  /** Used by the HTTP client's agent and by every daemon WebSocket, instead of a TCP connect. */
  readonly connect: DaemonConnect;
}

/** An abort signal that fires a `TimeoutError` after `ms` on the global timers; `clear` disarms it. */
export function deadlineSignal(ms: number): { readonly signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`deadline of ${ms} ms passed`, 'TimeoutError')), ms);
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

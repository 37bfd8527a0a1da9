// A connected pair of in-memory byte streams standing in for one TCP connection (the fault
// simulation's link to the emulator, in-memory-transport.ts): bytes written on one end arrive at
// the other after a per-chunk one-way latency, always in order; end() is a FIN, destroy() a reset
// seen by the peer one latency later. Carries the socket methods node:http, undici and ws call on
// a net.Socket (setTimeout idle timer, setNoDelay, ref/unref). All delays use the global timers,
// so fake timers drive them. Owns no protocol.
import { Duplex } from 'node:stream';

/** Draws one chunk's one-way latency in ms (a seeded draw in the simulation). */
export type LatencyMs = () => number;

export class InMemorySocket extends Duplex {
  readonly remoteAddress = '127.0.0.1';
  readonly remoteFamily = 'IPv4';
  readonly localAddress = '127.0.0.1';
  readonly connecting = false;
  readonly remotePort: number;
  readonly localPort: number;
  #peer: InMemorySocket | null = null;
  readonly #latencyMs: LatencyMs;
  /** Arrival time of the last chunk sent: later chunks never overtake it. */
  #lastArrivalMs = 0;
  #idleMs = 0;
  #idleTimer: ReturnType<typeof setTimeout> | null = null;
  #lastActivityMs = 0;
  #bytesWritten = 0;

  constructor(latencyMs: LatencyMs, localPort: number, remotePort: number) {
    super({ allowHalfOpen: false });
    this.#latencyMs = latencyMs;
    this.localPort = localPort;
    this.remotePort = remotePort;
  }

  /** Connects two fresh sockets to each other. */
  static pair(latencyMs: LatencyMs, clientPort: number, serverPort: number): [client: InMemorySocket, server: InMemorySocket] {
    const client = new InMemorySocket(latencyMs, clientPort, serverPort);
    const server = new InMemorySocket(latencyMs, serverPort, clientPort);
    client.#peer = server;
    server.#peer = client;
    return [client, server];
  }

  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Runs `deliver` at the peer after one latency, never before what was sent earlier. */
  #toPeer(deliver: (peer: InMemorySocket) => void): void {
    const peer = this.#peer;
    if (!peer) return;
    const now = Date.now();
    const at = Math.max(now + Math.max(0, this.#latencyMs()), this.#lastArrivalMs);
    this.#lastArrivalMs = at;
    setTimeout(() => {
      if (!peer.destroyed) deliver(peer);
    }, at - now);
  }

  override _read(): void {
    // Data is pushed by the peer as it arrives; nothing to pull.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#bytesWritten += chunk.length;
    this.#touch();
    this.#toPeer((peer) => {
      peer.#touch();
      peer.push(chunk);
    });
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#toPeer((peer) => peer.push(null));
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#clearIdle();
    // The peer sees the connection go away (a reset when it had not ended yet) one latency later.
    this.#toPeer((peer) => peer.destroy());
    this.#peer = null;
    callback(error);
  }

  /** net.Socket's idle timeout: 'timeout' after `ms` without traffic (0 disarms). */
  setTimeout(ms: number, callback?: () => void): this {
    this.#idleMs = ms;
    if (callback) this.once('timeout', callback);
    this.#clearIdle();
    this.#touch();
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /** Notes traffic; one idle timer is armed and re-aimed when it fires (no timer churn per chunk). */
  #touch(): void {
    this.#lastActivityMs = Date.now();
    if (this.#idleMs > 0 && this.#idleTimer === null && !this.destroyed) this.#armIdle(this.#idleMs);
  }

  #armIdle(ms: number): void {
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = null;
      if (this.#idleMs <= 0 || this.destroyed) return;
      const idleFor = Date.now() - this.#lastActivityMs;
      if (idleFor >= this.#idleMs) this.emit('timeout');
      else this.#armIdle(this.#idleMs - idleFor);
    }, ms);
  }

  #clearIdle(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
  }
}

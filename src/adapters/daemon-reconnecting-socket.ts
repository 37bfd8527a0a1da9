// A WebSocket to the Reachy daemon that never gives up (reference-driver.md §12 bug 12: the
// reference never reconnected nor noticed a dead link). Owns the connection policy `/ws/sdk` and
// `/api/move/ws/updates` share (reachy-daemon-api.md §2, §1.2): handshake timeout, bounded frames,
// no permessage-deflate, reconnect forever with capped full-jitter back-off, ping/pong liveness, a
// bounded send buffer, typed open/close/reconnecting events and relaxed reading (issue 11: see
// `tcpSocketStoppedWhenPaused` and `relax`); it is the endpoint clients' base class. Not frame
// meaning (the endpoint clients decode), when to relax (daemon-sdk-socket.ts) nor robot state.
import { connect as tcpConnect, type NetConnectOpts, type Socket } from 'node:net';
import WebSocket from 'ws';
import { backoffDelayMs } from '../backoff.ts';
import { createLogger, type Logger } from '../logging/logger.ts';
import { DaemonNotConnected, DaemonSocketCongested } from './daemon-errors.ts';
import type { DaemonTransport } from './daemon-transport.ts';
import { authHeaders, tlsTrust, type DaemonAuth } from './daemon-auth.ts';

/** First reconnect delay: a daemon restart takes seconds; 100 ms retries a blip at once. */
export const RECONNECT_INITIAL_DELAY_MS = 100;
/**
 * Longest reconnect delay. The driver must be back within 2 s of the daemon returning: a 1 s cap
 * plus a loopback/LAN handshake keeps that with margin, at ≤ 1 attempt/s while it is away.
 */
export const RECONNECT_MAX_DELAY_MS = 1_000;
/**
 * A connection that stayed open this long was a working one: when it drops, reconnecting starts
 * again from the first delay. One that closes sooner (an endpoint that accepts the upgrade and
 * drops it: a crashing handler, a half-started daemon) keeps the back-off climbing to its cap,
 * instead of reconnecting (and logging) ~20 times a second.
 */
export const STABLE_OPEN_MS = 2_000;
/** Upgrade deadline: the daemon answers it in milliseconds; longer means a wedged server. */
export const HANDSHAKE_TIMEOUT_MS = 2_000;
/** Liveness probe period: a silent socket (move updates) is still checked every second. */
export const PING_INTERVAL_MS = 1_000;
/**
 * A pong (or any frame) must arrive within this after a ping, else the link is declared dead and
 * terminated: uvicorn/websockets answer pings at once, so 2 s tolerates a busy daemon and Wi-Fi
 * hiccups while a silently dead link is noticed within ~3 s.
 */
export const PONG_TIMEOUT_MS = 2_000;
/** Largest frame accepted: daemon frames are < 1 KiB (recorded_data: tens of KiB); bounds memory. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;
/**
 * Unsent bytes above which `send` refuses (typed error) rather than queueing: realtime targets
 * (~300 B) at 100 Hz are ~30 KiB/s, so 64 KiB is two seconds of backlog — newer targets matter more.
 */
export const MAX_BUFFERED_BYTES = 64 * 1024;
/** How long `close()` waits for the daemon's close frame before dropping the socket. */
export const CLOSE_GRACE_MS = 500;
/**
 * Node keeps reading a paused socket from the kernel until its stream buffer holds this much. One
 * byte stops it at the first chunk, so a relaxed socket's frames wait in the kernel and cost no
 * wake-up each; a flowing socket never buffers (chunks go straight to ws), so live reading is unchanged.
 * Plain TCP sockets stop at once instead (tcpSocketStoppedWhenPaused); this bounds TLS sockets and
 * an injected transport's.
 */
export const PAUSED_READ_BUFFER_BYTES = 1;
/** The most one read of a plain TCP daemon socket takes from the kernel: Node's own read size. */
export const TCP_READ_CHUNK_BYTES = 64 * 1024;

export type SocketState = 'connecting' | 'open' | 'waiting' | 'closed';

export interface CloseInfo {
  /** WebSocket close code (1006 when the connection dropped without a close frame). */
  readonly code: number;
  /** Why it closed: the peer's reason, `pong timeout`, a socket error, `client closed`. */
  readonly reason: string;
  /** How long the connection had been open (ms). */
  readonly openForMs: number;
}

export interface ReconnectInfo {
  /** Failed attempts since the last open (1 for the first retry). */
  readonly attempt: number;
  readonly delayMs: number;
  /** Why the previous attempt or connection ended. */
  readonly lastError: string;
}

export interface SocketEvents {
  open: () => void;
  close: (info: CloseInfo) => void;
  reconnecting: (info: ReconnectInfo) => void;
  /** `receivedMono`: the earliest `performance.now()` the frame may have arrived (see `relax`). */
  message: (text: string, receivedMono: number) => void;
}

export interface ReconnectingSocketOptions {
  readonly url: string;
  /** Logger namespace suffix, e.g. `sdk`, `move-updates`. */
  readonly name: string;
  readonly handshakeTimeoutMs?: number;
  readonly pingIntervalMs?: number;
  readonly pongTimeoutMs?: number;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** The byte pipe to the daemon (the fault simulation's in-memory one); TCP when absent. */
  readonly transport?: DaemonTransport;
  /** Bearer token on the upgrade and TLS trust for wss (src/adapters/daemon-auth.ts). */
  readonly auth?: DaemonAuth;
}

export type SendResult = { readonly ok: true } | { readonly ok: false; readonly error: DaemonNotConnected | DaemonSocketCongested };

/** A minimal typed listener registry (no EventEmitter: no `error` event that throws when unheard). */
export class Listeners<Events extends { [K in keyof Events]: (...args: never[]) => void }> {
  readonly #byEvent = new Map<keyof Events, Set<(...args: never[]) => void>>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    let set = this.#byEvent.get(event);
    if (!set) this.#byEvent.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** True when `event` has at least one listener. */
  has(event: keyof Events): boolean {
    return (this.#byEvent.get(event)?.size ?? 0) > 0;
  }

  emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    const set = this.#byEvent.get(event);
    if (set === undefined || set.size === 0) return;
    // Listeners are called from a snapshot (one may unsubscribe or subscribe another while called);
    // pushes arrive at 50 Hz with a single listener, so that case takes it without copying the set.
    if (set.size === 1) {
      this.#call(event, set.values().next().value as Events[K], args);
      return;
    }
    for (const listener of [...set]) this.#call(event, listener as Events[K], args);
  }

  #call<K extends keyof Events>(event: K, listener: Events[K], args: Parameters<Events[K]>): void {
    try {
      (listener as (...a: Parameters<Events[K]>) => void)(...args);
    } catch (error) {
      // A faulty listener must not kill the socket's event loop or the other listeners.
      this.#log.error('listener threw', { event: String(event), error });
    }
  }

  clear(): void {
    this.#byEvent.clear();
  }
}

/** Delay before reconnect attempt `attempt` (1-based): full jitter under 100, 200, 400, 800, 1000 … ms (src/backoff.ts). */
export function reconnectDelayMs(attempt: number, initialMs = RECONNECT_INITIAL_DELAY_MS, maxMs = RECONNECT_MAX_DELAY_MS, random = Math.random): number {
  return backoffDelayMs({ baseMs: initialMs, maxMs }, attempt, random);
}

/** A `createConnection` for node:http (and so ws) that opens the socket through `transport`. */
function transportConnection(transport: DaemonTransport): NonNullable<WebSocket.ClientOptions['createConnection']> {
  const create = (_options: unknown, oncreate: Parameters<DaemonTransport['connect']>[0]): undefined => {
    transport.connect(oncreate);
    return undefined;
  };
  return create as unknown as NonNullable<WebSocket.ClientOptions['createConnection']>;
}

/**
 * `net.connect` for a ws:// daemon socket whose `pause()` stops reading from the kernel at once.
 * Node does that for a socket made with `onread` (documented: pause and resume keep working); each
 * chunk read into the reused buffer is copied and pushed on to the socket's own stream, so node:http
 * and ws read it as any socket. A plain paused socket instead read the next chunk to arrive before
 * stopping, and libuv stopped watching it only at the chunk after: three wake-ups per relaxed drain
 * instead of two (issue 11, README "Where the time goes: capture and idle").
 */
export function tcpSocketStoppedWhenPaused(options: NetConnectOpts): Socket {
  const buffer = Buffer.allocUnsafe(TCP_READ_CHUNK_BYTES);
  // Returning push's answer keeps the stream's back-pressure: false stops reading until resumed.
  const socket: Socket = tcpConnect({ ...options, onread: { buffer, callback: (bytes: number, chunk: Uint8Array): boolean => socket.push(Buffer.from(chunk.subarray(0, bytes))) } });
  return socket;
}

export class ReconnectingSocket {
  readonly url: string;
  readonly #log: Logger;
  readonly #events: Listeners<SocketEvents>;
  readonly #handshakeTimeoutMs: number;
  readonly #pingIntervalMs: number;
  readonly #pongTimeoutMs: number;
  readonly #initialDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #transport: DaemonTransport | undefined;
  readonly #auth: DaemonAuth | undefined;
  #socket: WebSocket | null = null;
  /** The TCP socket under #socket when this client made it (plain ws:// without a transport). */
  #tcp: Socket | null = null;
  #state: SocketState = 'waiting';
  #attempt = 0;
  #openedAt = 0;
  #reconnectTimer: NodeJS.Timeout | null = null;
  #pingTimer: NodeJS.Timeout | null = null;
  #pongTimer: NodeJS.Timeout | null = null;
  #closeReason: string | null = null;
  #started = false;
  /** `performance.now()` of the last frame received (0: none on this connection). */
  #lastFrameMono = 0;
  /** Relaxed reading: the drain period; null while reading live. */
  #relaxedEveryMs: number | null = null;
  #drainTimer: NodeJS.Timeout | null = null;
  /** `performance.now()` when the last frame was read (whatever it is dated): silence is at least the time since. */
  #lastReadMono = 0;
  /** Frames read now may have waited unread since this time (set while paused or catching up); null when read live. */
  #unreadSinceMono: number | null = null;
  /** `caughtUp()` calls waiting for the catch-up read after `readLive`. */
  #caughtUpWaiters: Array<() => void> = [];

  constructor(options: ReconnectingSocketOptions) {
    this.url = options.url;
    this.#log = createLogger(`daemon-ws:${options.name}`);
    this.#events = new Listeners<SocketEvents>(this.#log);
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    this.#pingIntervalMs = options.pingIntervalMs ?? PING_INTERVAL_MS;
    this.#pongTimeoutMs = options.pongTimeoutMs ?? PONG_TIMEOUT_MS;
    this.#initialDelayMs = options.initialDelayMs ?? RECONNECT_INITIAL_DELAY_MS;
    this.#maxDelayMs = options.maxDelayMs ?? RECONNECT_MAX_DELAY_MS;
    this.#transport = options.transport;
    this.#auth = options.auth;
  }

  get state(): SocketState {
    return this.#state;
  }

  get connected(): boolean {
    return this.#state === 'open';
  }

  on<K extends keyof SocketEvents>(event: K, listener: SocketEvents[K]): () => void {
    return this.#events.on(event, listener);
  }

  /** Starts connecting (idempotent). Listeners added before this see the first `open`. */
  start(): void {
    if (this.#started || this.#state === 'closed') return;
    this.#started = true;
    this.#connect();
  }

  send(text: string): SendResult {
    const socket = this.#socket;
    if (this.#state !== 'open' || !socket || socket.readyState !== WebSocket.OPEN) {
      const state = this.#state === 'closed' ? 'closed' : 'connecting';
      return {
        ok: false,
        error: new DaemonNotConnected({ message: `daemon socket ${this.url} is not connected (${state})`, url: this.url, state }),
      };
    }
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      return {
        ok: false,
        error: new DaemonSocketCongested({
          message: `daemon socket ${this.url} has ${socket.bufferedAmount} unsent bytes; command refused`,
          url: this.url,
          bufferedBytes: socket.bufferedAmount,
        }),
      };
    }
    socket.send(text);
    return { ok: true };
  }

  /**
   * Relaxed reading: the socket is paused and drained every `everyMs` (its frames wait in the
   * kernel meanwhile). Each frame read in a drain is dated at the pause before it — the earliest it
   * may have arrived — so ages and silences are never under-reported. Sending is unaffected.
   */
  relax(everyMs: number): void {
    this.#relaxedEveryMs = everyMs;
    const socket = this.#socket;
    if (this.#state === 'open' && socket && this.#drainTimer === null) this.#startDraining(socket, everyMs);
  }

  /** Live reading: every frame is read as it arrives; what waited in the kernel is read at once (dated as waited). */
  readLive(): void {
    if (this.#relaxedEveryMs === null) return;
    this.#relaxedEveryMs = null;
    this.#stopDraining();
    const socket = this.#socket;
    if (socket && this.#state === 'open') this.#drainOnce(socket);
  }

  /** True while frames are read in batches (relax) rather than as they arrive. */
  get relaxed(): boolean {
    return this.#relaxedEveryMs !== null;
  }

  /** True when reading is live and caught up: the next frame read is dated when it is read. */
  get readsLive(): boolean {
    return this.#relaxedEveryMs === null && this.#unreadSinceMono === null;
  }

  /**
   * Resolves once reading is live and caught up (what waited in the kernel has been read, dated no
   * later than the pause before it), or when that will not happen: relaxed again, or not open.
   */
  caughtUp(): Promise<void> {
    if (this.readsLive || this.#state !== 'open' || this.#relaxedEveryMs !== null) return Promise.resolve();
    return new Promise<void>((resolve) => this.#caughtUpWaiters.push(resolve));
  }

  /** How long no frame has arrived on the open connection (Infinity while not open). */
  silentForMs(): number {
    return this.#state === 'open' ? performance.now() - this.#lastFrameMono : Number.POSITIVE_INFINITY;
  }

  /** `performance.now()` when the current connection opened (Infinity while not open): frames before it came over an earlier one. */
  get openedMono(): number {
    return this.#state === 'open' ? this.#openedAt : Number.POSITIVE_INFINITY;
  }

  /**
   * The least the open connection can have been silent: the time since a frame was last read. Read
   * live it equals silentForMs; relaxed, silentForMs (from the frame's conservative date) is the most.
   */
  silentAtLeastMs(): number {
    return this.#state === 'open' ? performance.now() - this.#lastReadMono : Number.POSITIVE_INFINITY;
  }

  /** Bytes read from the kernel on the current plain-TCP connection (0 over TLS or a transport). */
  get bytesRead(): number {
    return this.#tcp?.bytesRead ?? 0;
  }

  /** Bytes `ws` still holds for the current connection (not yet handed to the kernel). */
  get bufferedAmount(): number {
    return this.#socket?.bufferedAmount ?? 0;
  }

  /** Stops reconnecting, clears every timer, closes the socket; resolves once it is closed. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#clearReconnect();
    this.#clearLiveness();
    this.#stopDraining();
    this.#wakeCaughtUp();
    const socket = this.#socket;
    this.#socket = null;
    if (socket && socket.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        const grace = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
        socket.once('close', () => {
          clearTimeout(grace);
          resolve();
        });
        if (socket.readyState === WebSocket.OPEN) socket.close(1000, 'client closed');
        else socket.terminate();
      });
    }
    this.#events.clear();
  }

  #connect(): void {
    if (this.#state === 'closed') return;
    this.#state = 'connecting';
    this.#closeReason = null;
    const socket = new WebSocket(this.url, {
      perMessageDeflate: false,
      handshakeTimeout: this.#handshakeTimeoutMs,
      maxPayload: MAX_PAYLOAD_BYTES,
      followRedirects: false,
      // Passed by ws and node:http to net.connect (ws's type does not list it).
      ...({ readableHighWaterMark: PAUSED_READ_BUFFER_BYTES } as object),
      headers: authHeaders(this.#auth),
      ...tlsTrust(this.#auth),
      ...this.#connection(),
    });
    this.#socket = socket;
    let opened = false;

    socket.on('open', () => {
      if (this.#socket !== socket) return;
      opened = true;
      this.#state = 'open';
      this.#openedAt = performance.now();
      this.#lastFrameMono = this.#openedAt;
      this.#lastReadMono = this.#openedAt;
      this.#unreadSinceMono = null;
      this.#armLiveness(socket);
      if (this.#relaxedEveryMs !== null) this.#startDraining(socket, this.#relaxedEveryMs);
      this.#log.info('connected', { url: this.url });
      this.#events.emit('open');
    });
    socket.on('message', (data, isBinary) => {
      if (this.#socket !== socket) return;
      this.#lastReadMono = performance.now();
      const receivedMono = this.#unreadSinceMono ?? this.#lastReadMono;
      this.#lastFrameMono = Math.max(this.#lastFrameMono, receivedMono);
      this.#alive();
      if (isBinary) return;
      const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
      this.#events.emit('message', text, receivedMono);
    });
    socket.on('pong', () => {
      if (this.#socket === socket) this.#alive();
    });
    socket.on('error', (error) => {
      // Always followed by `close`; remember why for the close/reconnecting events.
      this.#closeReason ??= error.message;
    });
    socket.on('close', (code, reasonBuffer) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#clearLiveness();
      this.#stopDraining();
      this.#wakeCaughtUp();
      const reason = this.#closeReason ?? (reasonBuffer.length > 0 ? reasonBuffer.toString('utf8') : `closed with code ${code}`);
      if (opened) {
        const info: CloseInfo = { code, reason, openForMs: Math.round(performance.now() - this.#openedAt) };
        if (info.openForMs >= STABLE_OPEN_MS) this.#attempt = 0;
        this.#log.warn('disconnected', { url: this.url, code, reason });
        this.#events.emit('close', info);
      } else {
        this.#log.debug('connect attempt failed', { url: this.url, reason });
      }
      if (this.#state !== 'closed') this.#scheduleReconnect(reason);
    });
  }

  /** How the next socket is opened: through the transport, as a TCP socket that stops when paused (ws://), or ws's own (wss://). */
  #connection(): { createConnection?: NonNullable<WebSocket.ClientOptions['createConnection']> } {
    // node:http calls createConnection(options, oncreate) and takes the socket from oncreate; ws's type only knows net's form.
    if (this.#transport) return { createConnection: transportConnection(this.#transport) };
    if (!this.url.startsWith('ws:')) return {};
    const create = (options: NetConnectOpts): Socket => (this.#tcp = tcpSocketStoppedWhenPaused(options));
    return { createConnection: create as NonNullable<WebSocket.ClientOptions['createConnection']> };
  }

  #scheduleReconnect(lastError: string): void {
    this.#state = 'waiting';
    this.#attempt += 1;
    const delayMs = reconnectDelayMs(this.#attempt, this.#initialDelayMs, this.#maxDelayMs);
    this.#events.emit('reconnecting', { attempt: this.#attempt, delayMs, lastError });
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      this.#connect();
    }, delayMs);
  }

  #armLiveness(socket: WebSocket): void {
    this.#pingTimer = setInterval(() => {
      if (socket.readyState !== WebSocket.OPEN) return;
      socket.ping();
      // One outstanding deadline at a time: it is cleared by the next pong or frame.
      this.#pongTimer ??= setTimeout(() => {
        this.#pongTimer = null;
        this.#closeReason = `no pong within ${this.#pongTimeoutMs} ms`;
        this.#log.warn('liveness lost, terminating', { url: this.url, pongTimeoutMs: this.#pongTimeoutMs });
        socket.terminate();
      }, this.#pongTimeoutMs);
    }, this.#pingIntervalMs);
  }

  #alive(): void {
    if (this.#pongTimer) {
      clearTimeout(this.#pongTimer);
      this.#pongTimer = null;
    }
  }

  #clearLiveness(): void {
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.#pingTimer = null;
    this.#alive();
  }

  #startDraining(socket: WebSocket, everyMs: number): void {
    this.#pause(socket);
    this.#drainTimer = setInterval(() => this.#drainOnce(socket), everyMs);
  }

  #pause(socket: WebSocket): void {
    this.#unreadSinceMono = performance.now();
    socket.pause();
    this.#wakeCaughtUp();
  }

  /**
   * Reads what waited (resume: the waiting bytes are read at the next poll, the in-memory pipe's on
   * the next tick), then either pauses again (relaxed) or reads on live, caught up. Caught up means
   * a loop turn's poll read nothing more, so the first check phase never decides: resumed from a
   * poll-phase callback (a command arriving over NATS), that check comes before any poll, and frames
   * that waited would be read after it and dated as live. A turn that read something reads one more:
   * libuv ends a read pass at a short read, so an end of stream behind the data is only read at the
   * next poll (that turn does not wait: a pending immediate makes its poll non-blocking).
   */
  #drainOnce(socket: WebSocket): void {
    socket.resume();
    const settle = (readBefore: number, polled: boolean): void => {
      setImmediate(() => {
        if (this.#socket !== socket) return;
        if (!polled || this.bytesRead !== readBefore) settle(this.bytesRead, true);
        else if (this.#relaxedEveryMs === null) {
          this.#unreadSinceMono = null;
          this.#wakeCaughtUp();
        } else this.#pause(socket);
      });
    };
    settle(this.bytesRead, false);
  }

  /** Resolves every `caughtUp()` waiting (caught up, paused again, or the connection gone). */
  #wakeCaughtUp(): void {
    const waiting = this.#caughtUpWaiters;
    this.#caughtUpWaiters = [];
    for (const resolve of waiting) resolve();
  }

  #stopDraining(): void {
    if (this.#drainTimer) clearInterval(this.#drainTimer);
    this.#drainTimer = null;
  }

  #clearReconnect(): void {
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
  }
}

/** What every daemon socket client takes besides its own options: liveness overrides (tests shorten them), the pipe, the auth. */
export interface DaemonSocketOverrides {
  readonly pingIntervalMs?: number;
  readonly pongTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  /** The byte pipe to the daemon (the fault simulation's in-memory one); TCP when absent. */
  readonly transport?: DaemonTransport;
  /** Bearer token and TLS trust (src/adapters/daemon-auth.ts). */
  readonly auth?: DaemonAuth;
}

/** Lifecycle events every daemon socket client re-emits to its own listeners. */
export interface LifecycleEvents {
  open: () => void;
  close: (info: CloseInfo) => void;
  reconnecting: (info: ReconnectInfo) => void;
}

/** `ws://host:port/<path>` from an `http(s)://` or `ws(s)://` base URL. */
export function daemonSocketUrl(baseUrl: string, path: string): string {
  const url = new URL(baseUrl);
  url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
  url.pathname = path;
  url.search = '';
  return url.toString();
}

/**
 * What every daemon push client shares: its reconnecting socket (started at construction), its
 * listeners with open/close/reconnecting relayed, the invalid-frame count, and close(). Subclasses
 * decode text frames in `onMessage` and emit their own typed events through `events`.
 */
export abstract class DaemonPushClient<E extends LifecycleEvents & { [K in keyof E]: (...args: never[]) => void }> {
  readonly url: string;
  protected readonly socket: ReconnectingSocket;
  protected readonly events: Listeners<E>;
  #invalidFrames = 0;

  /** Creates the client and starts connecting at once. */
  constructor(name: string, baseUrl: string, path: string, overrides: DaemonSocketOverrides, log: Logger) {
    this.url = daemonSocketUrl(baseUrl, path);
    this.events = new Listeners<E>(log);
    this.socket = new ReconnectingSocket({
      url: this.url,
      name,
      ...(overrides.pingIntervalMs === undefined ? {} : { pingIntervalMs: overrides.pingIntervalMs }),
      ...(overrides.pongTimeoutMs === undefined ? {} : { pongTimeoutMs: overrides.pongTimeoutMs }),
      ...(overrides.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: overrides.handshakeTimeoutMs }),
      ...(overrides.transport === undefined ? {} : { transport: overrides.transport }),
      ...(overrides.auth === undefined ? {} : { auth: overrides.auth }),
    });
    const relay = this.events as unknown as Listeners<LifecycleEvents>;
    this.socket.on('open', () => relay.emit('open'));
    this.socket.on('close', (info) => relay.emit('close', info));
    this.socket.on('reconnecting', (info) => relay.emit('reconnecting', info));
    this.socket.on('message', (text, receivedMono) => this.onMessage(text, receivedMono));
    this.socket.start();
  }

  get state(): SocketState {
    return this.socket.state;
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  /** How long the open connection has received nothing (Infinity while not open). */
  silentForMs(): number {
    return this.socket.silentForMs();
  }

  /** Unsent bytes queued on the current connection. */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  /** Resolves once the socket is open, or false after `timeoutMs` (or when `signal` aborts). */
  async waitOpen(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.socket.connected) return true;
    if (signal?.aborted) return false;
    return await new Promise<boolean>((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        off();
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(this.socket.connected), timeoutMs);
      const off = this.socket.on('open', () => done(true));
      signal?.addEventListener('abort', onAbort);
    });
  }

  /** Frames that were not JSON or were malformed known pushes (dropped, counted). */
  get invalidFrames(): number {
    return this.#invalidFrames;
  }

  on<K extends keyof E>(event: K, listener: E[K]): () => void {
    return this.events.on(event, listener);
  }

  /** Stops reconnecting, closes the socket and drops every listener. */
  async close(): Promise<void> {
    await this.socket.close();
    this.events.clear();
  }

  protected countInvalidFrame(): void {
    this.#invalidFrames += 1;
  }

  /** One text frame from the daemon; `receivedMono` is the earliest it may have arrived (performance.now()). */
  protected abstract onMessage(text: string, receivedMono: number): void;
}

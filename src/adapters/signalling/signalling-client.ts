// The driver's consumer side of the robot's WebRTC signalling (ws://<robot>:8443, gst-webrtc-
// signalling v1, reachy-daemon-api.md §9.2): the SDK's consumer flow — welcome, setPeerStatus
// listener, list, pick the `reachymini` producer (reference-driver.md §5.4), startSession,
// sessionStarted, the robot's offer, the caller's answer, trickle ICE both ways, endSession — and
// `probeSignalling`. Transport-agnostic: the WebRTC stack is the caller's (`answer`,
// `onRemoteCandidate`, `sendCandidate`); this module owns no media, no retry policy and no reconnect
// (a dropped link ends the session; the caller starts a new one).
import { createLogger, type Logger } from '../../logging/logger.ts';
import { NoProducer, SessionEnded, type SessionEndReason, SignallingProtocolError, SignallingTimeout, SignallingUnreachable } from '../../media/signalling/errors.ts';
import { PRODUCER_NAME, SIGNALLING_PORT, type DecodeProblem, type IcePayload, type PeerInfo, type PeerMeta, type ProbeResult, type ServerMessage, peerName } from '../../media/signalling/protocol.ts';
import { type InboxItem, SignallingLink, expectMessage, protocolError } from './signalling-link.ts';

export { PRODUCER_NAME, SIGNALLING_PORT, type ProbeResult };

/** Our own `meta` in `setPeerStatus`: informative only, lets the robot's logs name the viewer. */
export const CONSUMER_META: PeerMeta = { name: 'reachy-mini-driver' };
/**
 * TCP connect + HTTP upgrade deadline. The server answers in milliseconds on a LAN; 2 s (as for the
 * daemon sockets) tolerates Wi-Fi hiccups while an unplugged robot fails fast.
 */
export const HANDSHAKE_TIMEOUT_MS = 2_000;
/** Deadline for a server reply (`welcome`, `list`, `sessionStarted`): answered from memory at once. */
export const REPLY_TIMEOUT_MS = 2_000;
/**
 * Deadline for the producer's offer after `sessionStarted`. webrtcsink offers once the per-consumer
 * pipeline is PAUSED with known caps (h264-webrtc.md §2); camera and encoder start-up on the
 * wireless robot's CM4 take seconds, so 10 s.
 */
export const OFFER_TIMEOUT_MS = 10_000;
/** Deadline for the caller's `answer` callback (setRemoteDescription + createAnswer, maybe gathering). */
export const ANSWER_TIMEOUT_MS = 10_000;
/** Whole-probe budget of `probeSignalling` (handshake + welcome + list): a synchronous RPC waits for it. */
export const PROBE_TIMEOUT_MS = 3_000;
/**
 * Local candidates queued before the answer is sent, and remote ones held while the answer is being
 * made. A peer gathers a few dozen at most (host/srflx/relay per interface and m-line); 256 bounds memory.
 */
export const MAX_PENDING_CANDIDATES = 256;

export interface SignallingTimeouts {
  readonly handshakeMs: number;
  readonly replyMs: number;
  readonly offerMs: number;
  readonly answerMs: number;
}

const DEFAULT_TIMEOUTS: SignallingTimeouts = {
  handshakeMs: HANDSHAKE_TIMEOUT_MS,
  replyMs: REPLY_TIMEOUT_MS,
  offerMs: OFFER_TIMEOUT_MS,
  answerMs: ANSWER_TIMEOUT_MS,
};

export interface AnswerContext {
  readonly sessionId: string;
  readonly producerId: string;
}

export interface SignallingClientOptions {
  /** `ws://<robot>:8443` (see `signallingUrl`). */
  readonly url: string;
  /** Turns the robot's offer SDP into our answer SDP (the caller's WebRTC stack). */
  readonly answer: (offerSdp: string, context: AnswerContext) => Promise<string>;
  /**
   * A remote ICE candidate (empty `candidate` = end of candidates). Never called before `answer`
   * resolved: earlier candidates are held and delivered, in order, right after the answer is sent.
   */
  readonly onRemoteCandidate: (candidate: IcePayload) => void;
  /** Producer `meta.name` to pick; default `reachymini`. */
  readonly producerName?: string;
  /** Overrides of the named deadlines above (tests shorten them). */
  readonly timeouts?: Partial<SignallingTimeouts>;
}

export interface SessionInfo {
  readonly sessionId: string;
  readonly producerId: string;
  readonly producerMeta: PeerMeta;
  /** Our own peer id (from `welcome`). */
  readonly peerId: string;
}

type Phase = 'idle' | 'starting' | 'live' | 'ended';

/** `ws://host:port`, with IPv6 literals bracketed. */
export function signallingUrl(host: string, port: number = SIGNALLING_PORT): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return `ws://${bare.includes(':') ? `[${bare}]` : bare}:${port}`;
}

function producerNamed(producers: readonly PeerInfo[], name: string): PeerInfo | undefined {
  return producers.find((producer) => peerName(producer.meta) === name);
}

/** Producers named in a NoProducer message: the robot has one; a server listing more is quoted in part. */
const PRODUCERS_NAMED = 8;
/** Characters of a producer's name quoted (the robot's is `reachymini`). */
const PRODUCER_NAME_CHARS = 40;

/** A producer's `meta.name` as quoted in a message; never walks into a non-string name (the server's data). */
function quotedName(producer: PeerInfo): string {
  const name = peerName(producer.meta);
  if (typeof name === 'string') return JSON.stringify(name.length > PRODUCER_NAME_CHARS ? `${name.slice(0, PRODUCER_NAME_CHARS)}…` : name);
  return name === undefined || name === null ? 'null' : `(${Array.isArray(name) ? 'an array' : typeof name})`;
}

function describeProducers(producers: readonly PeerInfo[]): string {
  if (producers.length === 0) return 'no producer at all';
  const names = producers.slice(0, PRODUCERS_NAMED).map(quotedName);
  const more = producers.length > PRODUCERS_NAMED ? `, and ${producers.length - PRODUCERS_NAMED} more` : '';
  return `${producers.length} producer(s): ${names.join(', ')}${more}`;
}

/**
 * What a listener legitimately receives at any time about other peers (status broadcasts, list
 * replies): never ends a session, even undecodable (`skippable`).
 */
const BACKGROUND_TYPES: ReadonlySet<string> = new Set(['peerStatusChanged', 'list', 'listConsumers']);

function isBackground(message: ServerMessage): boolean {
  return BACKGROUND_TYPES.has(message.type);
}

/**
 * A background frame that did not decode (a peer's odd status, say): skipped with a debug line, not
 * a session failure, unless it is the reply the stage waits for (`awaited`, e.g. the `list` answer).
 */
function skippable(problem: DecodeProblem, log: Logger, awaited: string | null = null): boolean {
  const skip = problem.messageType !== null && problem.messageType !== awaited && BACKGROUND_TYPES.has(problem.messageType);
  if (skip) log.debug('undecodable background message ignored', { details: problem.details });
  return skip;
}

function unexpected(stage: string, message: ServerMessage): SignallingProtocolError {
  return protocolError(stage, `unexpected "${message.type}"`);
}

/**
 * The start of the consumer flow shared by the session and the probe: welcome, listener status,
 * list. List entries the decoder left out (no usable id) are only logged: the robot may be listed.
 */
async function listProducers(link: SignallingLink, replyMs: number, onClosed: (item: { code: number; reason: string }) => Error, log: Logger): Promise<{ peerId: string; producers: readonly PeerInfo[] }> {
  const welcome = await expectMessage(link, 'welcome', replyMs, (message) => {
    if (message.type !== 'welcome') throw protocolError('welcome', `expected "welcome" first, got "${message.type}"`);
    return message;
  }, onClosed);
  link.send({ type: 'setPeerStatus', roles: ['listener'], meta: CONSUMER_META });
  link.send({ type: 'list' });
  const list = await expectMessage(link, 'list', replyMs, (message) => {
    if (message.type === 'list') return message;
    if (message.type === 'peerStatusChanged' || message.type === 'listConsumers') return undefined;
    throw unexpected('list', message);
  }, onClosed, (problem) => skippable(problem, log, 'list'));
  if (list.skipped !== undefined) log.debug('malformed producer entries left out of the list', { url: link.url, skipped: list.skipped, kept: list.producers.length });
  return { peerId: welcome.peerId, producers: list.producers };
}

/**
 * One consumer session with the robot's producer. Create it, wire your WebRTC stack's local
 * candidates to `sendCandidate` (queued until the answer is sent), `await start()`, watch `ended`,
 * `close()` when done.
 */
export class SignallingClient {
  readonly url: string;
  readonly producerName: string;
  /** Settles once (never rejects) with why the session ended; a failed `start()` settles it too (`setup-failed`, ...). */
  readonly ended: Promise<SessionEnded>;
  readonly #options: SignallingClientOptions;
  readonly #timeouts: SignallingTimeouts;
  readonly #log: Logger;
  readonly #pendingLocal: IcePayload[] = [];
  readonly #pendingRemote: IcePayload[] = [];
  readonly #closeRequested: Promise<void>;
  #resolveEnded!: (ended: SessionEnded) => void;
  #requestClose!: () => void;
  #phase: Phase = 'idle';
  #link: SignallingLink | null = null;
  #sessionId: string | null = null;
  #closing = false;
  #answerSent = false;

  constructor(options: SignallingClientOptions) {
    this.url = options.url;
    this.producerName = options.producerName ?? PRODUCER_NAME;
    this.#options = options;
    this.#timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.#log = createLogger('media:signalling');
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
    this.#closeRequested = new Promise((resolve) => {
      this.#requestClose = resolve;
    });
  }

  get sessionId(): string | null {
    return this.#sessionId;
  }

  /** True between a successful `start()` and the end of the session. */
  get live(): boolean {
    return this.#phase === 'live';
  }

  /**
   * Runs the consumer flow up to a sent answer. Rejects with `SignallingUnreachable`, `NoProducer`,
   * `SignallingProtocolError`, `SignallingTimeout` or `SessionEnded` (closed or ended by the
   * producer before the answer), or with the `answer` callback's own rejection. On any failure the
   * session is ended (`endSession` sent when it had an id) and the socket closed.
   */
  async start(options: { readonly signal?: AbortSignal } = {}): Promise<SessionInfo> {
    if (this.#phase !== 'idle') throw new Error('SignallingClient.start() may be called once');
    this.#phase = 'starting';
    const onAbort = (): void => void this.close();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (options.signal?.aborted) throw this.#endedError('local-closed', 'aborted before start');
      const info = await this.#run();
      if (this.#closing) throw this.#endedError('local-closed', 'closed during start');
      this.#phase = 'live';
      this.#link?.goLive((item) => this.#onLive(item));
      return info;
    } catch (error) {
      const failure = this.#closing ? this.#endedError('local-closed', 'closed during start') : error;
      const ended = failure instanceof SessionEnded ? failure : this.#endedError('setup-failed', failure instanceof Error ? failure.message : String(failure));
      // The producer already knows when it ended the session; otherwise tell it (if it had an id).
      await this.#finish(ended, ended.reason !== 'remote-ended');
      throw failure;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Sends a local ICE candidate (empty `candidate` = end of candidates); queued until the answer is sent, ignored after the end. */
  sendCandidate(candidate: string, sdpMLineIndex: number): void {
    if (!Number.isSafeInteger(sdpMLineIndex) || sdpMLineIndex < 0) throw new RangeError(`sdpMLineIndex must be a non-negative integer, got ${sdpMLineIndex}`);
    if (this.#phase === 'ended' || this.#closing) {
      this.#log.debug('candidate after the session ended, dropped', { sessionId: this.#sessionId });
      return;
    }
    const ice = { candidate, sdpMLineIndex };
    if (!this.#answerSent || this.#sessionId === null) {
      if (this.#pendingLocal.length >= MAX_PENDING_CANDIDATES) {
        this.#log.warn('too many local candidates before the answer, dropped', { limit: MAX_PENDING_CANDIDATES });
        return;
      }
      this.#pendingLocal.push(ice);
      return;
    }
    this.#link?.send({ type: 'peer', sessionId: this.#sessionId, ice });
  }

  /**
   * Ends the session (`endSession` to the producer) and closes the socket; idempotent. During
   * `start()` it cuts the step in flight short (a pending handshake runs to its deadline at most).
   */
  async close(): Promise<void> {
    if (this.#phase === 'ended') {
      await this.ended;
      return;
    }
    this.#closing = true;
    this.#requestClose();
    if (this.#phase === 'live' || this.#phase === 'idle') {
      await this.#finish(this.#endedError('local-closed', 'closed by the driver'), true);
      return;
    }
    // Starting: the pending step sees the close and `start()` finishes the session.
    const link = this.#link;
    if (link) {
      if (this.#sessionId !== null) link.send({ type: 'endSession', sessionId: this.#sessionId });
      await link.close('consumer closed');
    }
    await this.ended;
  }

  async #run(): Promise<SessionInfo> {
    const { replyMs, offerMs, answerMs, handshakeMs } = this.#timeouts;
    const link = await SignallingLink.open(this.url, handshakeMs, this.#log);
    this.#link = link;
    if (this.#closing) throw this.#endedError('local-closed', 'closed during start');
    const onClosed = (item: { code: number; reason: string }): Error =>
      this.#closing ? this.#endedError('local-closed', 'closed during start') : this.#endedError('connection-lost', `signalling socket closed (${item.code}: ${item.reason})`);

    const { peerId, producers } = await listProducers(link, replyMs, onClosed, this.#log);
    const producer = producerNamed(producers, this.producerName);
    if (!producer) {
      throw new NoProducer({
        message: `no WebRTC producer named "${this.producerName}" on ${this.url} (${describeProducers(producers)})`,
        producerName: this.producerName,
        producers: producers.slice(0, PRODUCERS_NAMED),
        producerCount: producers.length,
      });
    }

    link.send({ type: 'startSession', peerId: producer.id });
    const sessionId = await expectMessage(link, 'sessionStarted', replyMs, (message) => {
      if (message.type === 'sessionStarted') {
        if (message.peerId !== producer.id) throw protocolError('sessionStarted', `session started with "${message.peerId}", asked for "${producer.id}"`);
        return message.sessionId;
      }
      if (isBackground(message)) return undefined;
      throw unexpected('sessionStarted', message);
    }, onClosed, (problem) => skippable(problem, this.#log));
    this.#sessionId = sessionId;
    this.#log.debug('signalling session started', { sessionId, producerId: producer.id });

    const offer = await expectMessage(link, 'offer', offerMs, (message) => {
      if (message.type === 'endSession' && message.sessionId === sessionId) throw this.#endedError('remote-ended', 'the producer ended the session before its offer');
      if (message.type === 'peer' && message.sessionId === sessionId) {
        if ('ice' in message) {
          this.#holdRemote(message.ice);
          return undefined;
        }
        if (message.sdp.type === 'offer') return message.sdp.sdp;
        throw protocolError('offer', 'the producer sent an answer; it must offer (the robot offers, §9.2)');
      }
      if (isBackground(message) || message.type === 'peer' || message.type === 'endSession') return undefined;
      throw unexpected('offer', message);
    }, onClosed, (problem) => skippable(problem, this.#log));

    const answerSdp = await this.#callAnswer(offer, { sessionId, producerId: producer.id }, answerMs);
    if (this.#closing) throw this.#endedError('local-closed', 'closed during start');
    if (!link.send({ type: 'peer', sessionId, sdp: { type: 'answer', sdp: answerSdp } })) {
      throw this.#endedError('connection-lost', 'signalling socket closed before the answer was sent');
    }
    this.#answerSent = true;
    for (const ice of this.#pendingLocal.splice(0)) link.send({ type: 'peer', sessionId, ice });
    for (const ice of this.#pendingRemote.splice(0)) this.#deliverRemote(ice);
    return { sessionId, producerId: producer.id, producerMeta: producer.meta, peerId };
  }

  async #callAnswer(offer: string, context: AnswerContext, answerMs: number): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SignallingTimeout({ message: `answer callback did not resolve within ${answerMs} ms`, stage: 'answer', timeoutMs: answerMs })), answerMs);
    });
    try {
      const closed = this.#closeRequested.then((): never => {
        throw this.#endedError('local-closed', 'closed while the answer was being made');
      });
      const answer = await Promise.race([Promise.resolve().then(() => this.#options.answer(offer, context)), deadline, closed]);
      if (typeof answer !== 'string' || answer.length === 0) throw new TypeError('the answer callback must resolve with a non-empty SDP string');
      return answer;
    } finally {
      clearTimeout(timer);
    }
  }

  #holdRemote(ice: IcePayload): void {
    if (this.#pendingRemote.length >= MAX_PENDING_CANDIDATES) {
      this.#log.warn('too many remote candidates before the answer, dropped', { limit: MAX_PENDING_CANDIDATES });
      return;
    }
    this.#pendingRemote.push(ice);
  }

  #deliverRemote(ice: IcePayload): void {
    try {
      this.#options.onRemoteCandidate(ice);
    } catch (error) {
      this.#log.warn('onRemoteCandidate threw', { sessionId: this.#sessionId, error });
    }
  }

  #onLive(item: InboxItem): void {
    if (this.#phase !== 'live') return;
    const sessionId = this.#sessionId;
    if (item.kind === 'closed') {
      void this.#finish(this.#endedError('connection-lost', `signalling socket closed (${item.code}: ${item.reason})`), false);
      return;
    }
    if (item.kind === 'problem') {
      if (!skippable(item.problem, this.#log)) void this.#finish(this.#endedError('protocol-error', item.problem.details), true);
      return;
    }
    const message = item.message;
    switch (message.type) {
      case 'peer':
        if (message.sessionId !== sessionId) return;
        if ('ice' in message) this.#deliverRemote(message.ice);
        else void this.#finish(this.#endedError('protocol-error', `unexpected SDP ${message.sdp.type} during the session (webrtcsink offers once, h264-webrtc.md §2)`), true);
        return;
      case 'endSession':
        if (message.sessionId === sessionId) void this.#finish(this.#endedError('remote-ended', 'the producer ended the session'), false);
        return;
      case 'error':
        void this.#finish(this.#endedError('server-error', message.details), true);
        return;
      case 'peerStatusChanged':
      case 'list':
      case 'listConsumers':
        return;
      default:
        void this.#finish(this.#endedError('protocol-error', `unexpected "${message.type}" during the session`), true);
    }
  }

  #endedError(reason: SessionEndReason, details: string): SessionEnded {
    return new SessionEnded({ message: `signalling session ${this.#sessionId ?? '(not started)'} ended: ${details}`, sessionId: this.#sessionId, reason, details });
  }

  /**
   * Ends once: optional `endSession`, socket closed, `ended` settled. Only the end of a live session
   * is news at info: a failed `start()` is its caller's to report (the media link notice rate-limits
   * it; a robot that is away would otherwise log one line per retry).
   */
  async #finish(ended: SessionEnded, sendEndSession: boolean): Promise<void> {
    if (this.#phase === 'ended') return;
    const wasLive = this.#phase === 'live';
    this.#phase = 'ended';
    this.#pendingLocal.length = 0;
    this.#pendingRemote.length = 0;
    const link = this.#link;
    if (link) {
      if (sendEndSession && this.#sessionId !== null) link.send({ type: 'endSession', sessionId: this.#sessionId });
      await link.close(ended.reason === 'local-closed' ? 'consumer closed' : ended.reason);
    }
    if (ended.reason === 'local-closed') this.#log.debug('signalling session closed', { sessionId: this.#sessionId });
    else if (!wasLive) this.#log.debug('signalling session set-up failed', { sessionId: this.#sessionId, reason: ended.reason, details: ended.details });
    else this.#log.info('signalling session ended', { sessionId: this.#sessionId, reason: ended.reason, details: ended.details });
    this.#resolveEnded(ended);
  }
}

/** `new SignallingClient(options).start()`, returning the client once the answer went out. */
export async function openSignallingSession(options: SignallingClientOptions, startOptions: { readonly signal?: AbortSignal } = {}): Promise<{ readonly client: SignallingClient; readonly info: SessionInfo }> {
  const client = new SignallingClient(options);
  const info = await client.start(startOptions);
  return { client, info };
}

export interface ProbeOptions {
  /** Whole-probe budget; default `PROBE_TIMEOUT_MS`. */
  readonly timeoutMs?: number;
  readonly producerName?: string;
}

/**
 * The real handshake behind `get_media_stream_access(probe_signaling=true)` (reference-driver.md
 * §5.4 `probe`): connect, welcome, setPeerStatus listener, list, look for the producer, close
 * without starting a session. Never rejects; snake_case keys as in the reference payload.
 */
export async function probeSignalling(url: string, options: ProbeOptions = {}): Promise<ProbeResult> {
  const timeoutMs = options.timeoutMs ?? PROBE_TIMEOUT_MS;
  const producerName = options.producerName ?? PRODUCER_NAME;
  const log = createLogger('media:signalling');
  const deadline = performance.now() + timeoutMs;
  const remaining = (): number => Math.max(1, deadline - performance.now());
  let link: SignallingLink | null = null;
  try {
    link = await SignallingLink.open(url, Math.min(HANDSHAKE_TIMEOUT_MS, timeoutMs), log);
    const onClosed = (item: { code: number; reason: string }): Error =>
      new SignallingUnreachable({ message: `signalling server ${url} closed the connection (${item.code}: ${item.reason})`, url, code: 'ECONNRESET' });
    const { producers } = await listProducers(link, remaining(), onClosed, log);
    const producer = producerNamed(producers, producerName);
    if (!producer) return { reachable: false, reason: `no WebRTC producer named "${producerName}" on ${url} (${describeProducers(producers)})` };
    return { reachable: true, producer_name: producerName, peer_id: producer.id, producer_count: producers.length };
  } catch (error) {
    return { reachable: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    await link?.close('probe done');
  }
}

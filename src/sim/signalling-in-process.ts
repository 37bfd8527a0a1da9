// In-process producers of the emulator's signalling server: lets the emulator's WebRTC producer
// (src/sim/media/) take part without a socket, with the same messages and the same routing as a
// webrtcsink that connects over ws (reachy-daemon-api.md §9.2). Owns the adaptation of routed
// `ServerMessage`s to producer callbacks (one `ProducerSession` per consumer) and back; does not
// own routing (signalling-router.ts) nor any WebRTC. Deliveries are asynchronous (microtasks), so a
// callback that answers at once never re-enters the router mid-request.
import type { Logger } from '../logging/logger.ts';
import type { ClientMessage, EndSessionMessage, IcePayload, PeerMessage, PeerMeta, ServerMessage } from '../media/signalling/protocol.ts';
import type { PeerTransport, SignallingRouter } from './signalling-router.ts';

/** One consumer's session, from the producer's side. */
export interface ProducerSession {
  readonly sessionId: string;
  readonly consumerId: string;
  /** The consumer's offer when it sent one in `startSession`; null in the robot's flow (the robot offers). */
  readonly consumerOffer: string | null;
  /** True once either side ended the session; later sends are dropped. */
  readonly ended: boolean;
  sendOffer(sdp: string): void;
  sendAnswer(sdp: string): void;
  /** Empty `candidate` = end of candidates. */
  sendCandidate(candidate: string, sdpMLineIndex: number): void;
  /** `endSession` to the consumer. */
  end(): void;
}

/** What the producer wants to hear about one session (all optional). */
export interface ProducerSessionHandlers {
  onAnswer?(sdp: string): void;
  /** Only when the consumer offered first (`startSession.offer`); the router refuses `peer` offers from consumers. */
  onOffer?(sdp: string): void;
  onRemoteCandidate?(candidate: IcePayload): void;
  /** The consumer ended the session or left. Not called for `end()`. */
  onEnded?(): void;
}

export interface InProcessProducer {
  /** The producer's `meta`; the robot's is `{ name: "reachymini" }`. */
  readonly meta: PeerMeta;
  /** A consumer asked for a session: make the offer through `session`. A throw ends the session. */
  onStartSession(session: ProducerSession): ProducerSessionHandlers | void;
}

export interface ProducerRegistration {
  readonly peerId: string;
  /** Leaves the server: every session ends (consumers get `endSession`), listeners see it go. */
  unregister(): void;
}

interface OpenSession {
  readonly session: ProducerSession;
  handlers: ProducerSessionHandlers;
  ended: boolean;
}

function callSafely(log: Logger, what: string, fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch (error) {
    log.warn('in-process producer callback threw', { callback: what, error });
    return false;
  }
}

/** One session's state; its `session` sends through `send` until either side ended it. */
function openSessionState(sessionId: string, consumerId: string, offer: string | undefined, send: (message: ClientMessage) => void, forget: () => void): OpenSession {
  const state: OpenSession = {
    handlers: {},
    ended: false,
    session: {
      sessionId,
      consumerId,
      consumerOffer: offer ?? null,
      get ended() {
        return state.ended;
      },
      sendOffer: (sdp) => {
        if (!state.ended) send({ type: 'peer', sessionId, sdp: { type: 'offer', sdp } });
      },
      sendAnswer: (sdp) => {
        if (!state.ended) send({ type: 'peer', sessionId, sdp: { type: 'answer', sdp } });
      },
      sendCandidate: (candidate, sdpMLineIndex) => {
        if (!state.ended) send({ type: 'peer', sessionId, ice: { candidate, sdpMLineIndex } });
      },
      end: () => {
        if (state.ended) return;
        state.ended = true;
        forget();
        send({ type: 'endSession', sessionId });
      },
    },
  };
  return state;
}

/** Hands a consumer's `peer` message to its session's handlers (dropped once the session ended). */
function relayPeer(sessions: ReadonlyMap<string, OpenSession>, message: PeerMessage, log: Logger): void {
  const state = sessions.get(message.sessionId);
  if (!state || state.ended) return;
  const { handlers } = state;
  if ('ice' in message) callSafely(log, 'onRemoteCandidate', () => handlers.onRemoteCandidate?.(message.ice));
  else if (message.sdp.type === 'answer') callSafely(log, 'onAnswer', () => handlers.onAnswer?.(message.sdp.sdp));
  else callSafely(log, 'onOffer', () => handlers.onOffer?.(message.sdp.sdp));
}

/** The consumer ended the session or left: forget it and tell the producer. */
function endedByConsumer(sessions: Map<string, OpenSession>, message: EndSessionMessage, log: Logger): void {
  const state = sessions.get(message.sessionId);
  if (!state) return;
  state.ended = true;
  sessions.delete(message.sessionId);
  callSafely(log, 'onEnded', () => state.handlers.onEnded?.());
}

/** Registers `producer` with `router` as a peer with roles ["producer"]. */
export function registerInProcessProducer(router: SignallingRouter, producer: InProcessProducer, log: Logger): ProducerRegistration {
  const sessions = new Map<string, OpenSession>();
  let peerId = '';
  let registered = true;
  const send = (message: ClientMessage): void => {
    if (registered) router.handle(peerId, message);
  };

  const openSession = (sessionId: string, consumerId: string, offer: string | undefined): void => {
    const state = openSessionState(sessionId, consumerId, offer, send, () => sessions.delete(sessionId));
    sessions.set(sessionId, state);
    const ok = callSafely(log, 'onStartSession', () => {
      state.handlers = producer.onStartSession(state.session) ?? {};
    });
    if (!ok) state.session.end();
  };

  const receive = (message: ServerMessage): void => {
    if (!registered) return;
    switch (message.type) {
      case 'startSession':
        return openSession(message.sessionId, message.peerId, message.offer);
      case 'peer':
        return relayPeer(sessions, message, log);
      case 'endSession':
        return endedByConsumer(sessions, message, log);
      case 'error':
        return log.debug('in-process producer request refused', { peerId, details: message.details });
      default:
        return; // welcome, status broadcasts, lists: nothing to do for a producer
    }
  };

  const transport: PeerTransport = {
    kind: 'in-process',
    deliver: (message) => queueMicrotask(() => receive(message)),
  };
  peerId = router.addPeer(transport);
  router.handle(peerId, { type: 'setPeerStatus', roles: ['producer'], meta: producer.meta });

  return {
    peerId,
    unregister: () => {
      if (!registered) return;
      registered = false;
      for (const state of sessions.values()) state.ended = true;
      sessions.clear();
      router.removePeer(peerId);
    },
  };
}

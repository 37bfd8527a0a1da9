// The routing core of the emulator's gst-webrtc-signalling v1 server (reachy-daemon-api.md §9.2),
// modelled on gst-plugins-rs' signalling handler: peer ids and `welcome`, peer status (roles, meta)
// with `peerStatusChanged` to listeners, `list`/`listConsumers`, sessions (`startSession` →
// `sessionStarted` to the consumer + `startSession` to the producer), `peer` relay within a
// session, `endSession` from either side, clean-up when a peer leaves, `error` for bad requests.
// Transport-agnostic: a peer is anything with `deliver(message)` (a ws socket or an in-process
// producer). Does not own sockets, decoding of frames nor the server lifecycle (signalling-server.ts).
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logging/logger.ts';
import type { ClientMessage, PeerInfo, PeerMeta, PeerRole, ServerMessage } from '../media/signalling/protocol.ts';

/**
 * Sessions one peer may take part in at once. The robot serves a handful of viewers; 16 keeps a
 * buggy or hostile client from filling the emulator's tables.
 */
export const MAX_SESSIONS_PER_PEER = 16;

export type PeerTransportKind = 'ws' | 'in-process';

export interface PeerTransport {
  readonly kind: PeerTransportKind;
  /** Hands one message to the peer (in order); must not throw. */
  deliver(message: ServerMessage): void;
}

export interface PeerSnapshot {
  readonly id: string;
  readonly roles: readonly PeerRole[];
  readonly meta: PeerMeta;
  readonly transport: PeerTransportKind;
}

export interface SessionSnapshot {
  readonly id: string;
  readonly producerId: string;
  readonly consumerId: string;
}

interface PeerEntry {
  readonly id: string;
  roles: readonly PeerRole[];
  meta: PeerMeta;
  readonly transport: PeerTransport;
}

function sameStatus(peer: PeerEntry, roles: readonly PeerRole[], meta: PeerMeta): boolean {
  return JSON.stringify([...peer.roles].sort()) === JSON.stringify([...roles].sort()) && JSON.stringify(peer.meta) === JSON.stringify(meta);
}

export class SignallingRouter {
  readonly #peers = new Map<string, PeerEntry>();
  readonly #sessions = new Map<string, SessionSnapshot>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  get peerCount(): number {
    return this.#peers.size;
  }

  peers(): PeerSnapshot[] {
    return [...this.#peers.values()].map((peer) => ({ id: peer.id, roles: [...peer.roles], meta: peer.meta, transport: peer.transport.kind }));
  }

  sessions(): SessionSnapshot[] {
    return [...this.#sessions.values()].map((session) => ({ ...session }));
  }

  /** Registers a connected peer (no roles yet) and welcomes it; returns its id. */
  addPeer(transport: PeerTransport): string {
    const id = randomUUID();
    this.#peers.set(id, { id, roles: [], meta: null, transport });
    this.#log.debug('peer connected', { peerId: id, transport: transport.kind });
    transport.deliver({ type: 'welcome', peerId: id });
    return id;
  }

  /** The peer left: its sessions end (the other side gets `endSession`), listeners see a producer go. */
  removePeer(peerId: string): void {
    const peer = this.#peers.get(peerId);
    if (!peer) return;
    this.#endSessionsOf(peerId);
    this.#peers.delete(peerId);
    if (peer.roles.includes('producer')) this.#broadcastStatus({ ...peer, roles: [] });
    this.#log.debug('peer left', { peerId });
  }

  /** Tells a peer its frame was refused (`{"type":"error","details"}`). */
  reject(peerId: string, details: string): void {
    const peer = this.#peers.get(peerId);
    if (!peer) return;
    this.#log.debug('request refused', { peerId, details });
    peer.transport.deliver({ type: 'error', details });
  }

  handle(peerId: string, message: ClientMessage): void {
    const peer = this.#peers.get(peerId);
    if (!peer) return;
    switch (message.type) {
      case 'setPeerStatus':
        this.#setStatus(peer, message.roles, message.meta);
        return;
      case 'list':
        peer.transport.deliver({ type: 'list', producers: this.#withRole('producer') });
        return;
      case 'listConsumers':
        peer.transport.deliver({ type: 'listConsumers', consumers: this.#withRole('consumer') });
        return;
      case 'startSession':
        this.#startSession(peer, message.peerId, message.offer);
        return;
      case 'peer': {
        const session = this.#sessionOf(peer, message.sessionId);
        if (!session) return;
        if ('sdp' in message && message.sdp.type === 'offer' && session.consumerId === peer.id) {
          this.reject(peer.id, `cannot forward offer from "${peer.id}" to "${session.producerId}" as "${peer.id}" is not the producer (a consumer offers in startSession.offer)`);
          return;
        }
        this.#other(session, peer.id)?.transport.deliver(message);
        return;
      }
      case 'endSession': {
        const session = this.#sessionOf(peer, message.sessionId);
        if (!session) return;
        this.#sessions.delete(session.id);
        this.#log.debug('session ended', { sessionId: session.id, by: peer.id });
        this.#other(session, peer.id)?.transport.deliver({ type: 'endSession', sessionId: session.id });
        return;
      }
      case 'setProtocolVersion':
        this.#log.debug('protocol version announced', { peerId, version: message.version });
        return;
    }
  }

  #setStatus(peer: PeerEntry, roles: readonly PeerRole[], meta: PeerMeta): void {
    const unique = [...new Set(roles)];
    if (sameStatus(peer, unique, meta)) return;
    if (peer.roles.includes('producer') && !unique.includes('producer')) this.#endSessionsOf(peer.id, 'producer');
    peer.roles = unique;
    peer.meta = meta;
    this.#log.debug('peer status', { peerId: peer.id, roles: unique.join(','), meta });
    this.#broadcastStatus(peer);
  }

  #broadcastStatus(peer: Pick<PeerEntry, 'id' | 'roles' | 'meta'>): void {
    for (const listener of this.#peers.values()) {
      if (listener.roles.includes('listener')) listener.transport.deliver({ type: 'peerStatusChanged', roles: peer.roles, meta: peer.meta, peerId: peer.id });
    }
  }

  #withRole(role: PeerRole): PeerInfo[] {
    return [...this.#peers.values()].filter((peer) => peer.roles.includes(role)).map((peer) => ({ id: peer.id, meta: peer.meta }));
  }

  #startSession(consumer: PeerEntry, producerId: string, offer: string | undefined): void {
    const producer = this.#peers.get(producerId);
    if (!producer) return this.reject(consumer.id, `No producer with ID: '${producerId}'`);
    if (!producer.roles.includes('producer')) return this.reject(consumer.id, `Peer with id ${producerId} is not registered as a producer`);
    if (producer.id === consumer.id) return this.reject(consumer.id, 'a peer cannot start a session with itself');
    for (const peer of [consumer, producer]) {
      if (this.#countSessions(peer.id) >= MAX_SESSIONS_PER_PEER) return this.reject(consumer.id, `peer ${peer.id} already has ${MAX_SESSIONS_PER_PEER} sessions`);
    }
    const session: SessionSnapshot = { id: randomUUID(), producerId: producer.id, consumerId: consumer.id };
    this.#sessions.set(session.id, session);
    this.#log.debug('session started', { sessionId: session.id, producerId: producer.id, consumerId: consumer.id });
    consumer.transport.deliver({ type: 'sessionStarted', peerId: producer.id, sessionId: session.id });
    producer.transport.deliver({ type: 'startSession', peerId: consumer.id, sessionId: session.id, ...(offer === undefined ? {} : { offer }) });
  }

  #sessionOf(peer: PeerEntry, sessionId: string): SessionSnapshot | undefined {
    const session = this.#sessions.get(sessionId);
    if (!session) {
      this.reject(peer.id, `Session ${sessionId} doesn't exist`);
      return undefined;
    }
    if (session.producerId !== peer.id && session.consumerId !== peer.id) {
      this.reject(peer.id, `Peer ${peer.id} is not part of session ${sessionId}`);
      return undefined;
    }
    return session;
  }

  #other(session: SessionSnapshot, peerId: string): PeerEntry | undefined {
    return this.#peers.get(session.producerId === peerId ? session.consumerId : session.producerId);
  }

  #countSessions(peerId: string): number {
    let count = 0;
    for (const session of this.#sessions.values()) if (session.producerId === peerId || session.consumerId === peerId) count += 1;
    return count;
  }

  /** Ends every session of `peerId` (only those where it is the producer, with `side`), notifying the other side. */
  #endSessionsOf(peerId: string, side?: 'producer'): void {
    for (const session of [...this.#sessions.values()]) {
      const involved = side === 'producer' ? session.producerId === peerId : session.producerId === peerId || session.consumerId === peerId;
      if (!involved) continue;
      this.#sessions.delete(session.id);
      this.#log.debug('session ended with its peer', { sessionId: session.id, peerId });
      this.#other(session, peerId)?.transport.deliver({ type: 'endSession', sessionId: session.id });
    }
  }
}

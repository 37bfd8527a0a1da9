// The node-datachannel side of one media session (h264-webrtc.md §1, §3.3, §5.4): ONE
// PeerConnection answering the robot's offer (max-bundle; libdatachannel handles `a=bundle-only`),
// candidates trickled both ways (sdpMLineIndex ↔ mid from the offer), the raw RTP and RTCP of the
// video and audio tracks handed to the caller, the caller's video RTCP (video-receive-feedback.ts)
// and our Opus RTP written, the offered `data` DataChannel kept. The video track has no media
// handler: libdatachannel's RtcpReceivingSession follows whatever SSRC came last (RTX included) and
// refuses RTCP from JS on a recvonly m-line. Owns the PeerConnection and its callbacks; after
// close() no callback reaches the caller.
import ndc, { type DataChannel, type PeerConnection, type Track } from 'node-datachannel';
import { MediaTransportFailed } from '../../media/media-link.ts';
import type { IcePayload } from '../../media/signalling/protocol.ts';
import { createLogger } from '../../logging/logger.ts';
import { type AnswerShape, shapeAnswer } from './sdp-answer.ts';
import { indexOfMid, midAt, type OfferMedia } from './sdp-offer.ts';

/**
 * ICE servers: none. The robot and the driver share a LAN, where host candidates connect (and
 * loopback in tests); the HF relay path, which needs TURN, is not handled by this adapter.
 */
export const ICE_SERVERS: readonly string[] = [];

export type PeerState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

export interface PeerSessionHandlers {
  /** A local candidate for the robot (`candidate:...` form), with its m-line index in the offer. */
  readonly onLocalCandidate: (candidate: string, sdpMLineIndex: number) => void;
  readonly onVideoPacket: (packet: Buffer) => void;
  readonly onAudioPacket: (packet: Buffer) => void;
  readonly onStateChange: (state: PeerState) => void;
}

export interface PeerSessionOptions {
  readonly offer: OfferMedia;
  readonly offerSdp: string;
  readonly answerShape: AnswerShape;
  readonly handlers: PeerSessionHandlers;
}

const PEER_STATES: readonly PeerState[] = ['new', 'connecting', 'connected', 'disconnected', 'failed', 'closed'];

function asPeerState(state: string): PeerState | null {
  return PEER_STATES.find((s) => s === state) ?? null;
}

export class PeerSession {
  readonly #options: PeerSessionOptions;
  readonly #log = createLogger('media:peer');
  readonly #pc: PeerConnection;
  #videoTrack: Track | null = null;
  #audioTrack: Track | null = null;
  #dataChannel: DataChannel | null = null;
  #state: PeerState = 'new';
  #accepting = true;
  #closed = false;

  constructor(options: PeerSessionOptions) {
    this.#options = options;
    this.#pc = new ndc.PeerConnection('reachy-mini-driver', { iceServers: [...ICE_SERVERS] });
    const { offer, handlers } = options;
    this.#pc.onStateChange((state) => {
      const known = asPeerState(state);
      if (!this.#accepting || known === null) return;
      this.#log.debug('peer connection state', { state: known });
      this.#state = known;
      handlers.onStateChange(known);
    });
    this.#pc.onLocalCandidate((candidate, mid) => {
      if (!this.#accepting) return;
      const index = indexOfMid(offer, mid) ?? 0;
      handlers.onLocalCandidate(candidate.startsWith('a=') ? candidate.slice(2) : candidate, index);
    });
    this.#pc.onTrack((track) => this.#onTrack(track));
    this.#pc.onDataChannel((channel) => {
      if (!this.#accepting) return;
      // Kept for the session's lifetime; the robot's `data` channel carries nothing we use yet.
      this.#dataChannel = channel;
      this.#log.debug('data channel open', { label: channel.getLabel() });
    });
  }

  get state(): PeerState {
    return this.#state;
  }

  /** The offered `data` DataChannel once the robot opened it. */
  get dataChannel(): DataChannel | null {
    return this.#dataChannel;
  }

  /** Applies the offer and resolves with our (shaped) answer SDP. */
  answer(): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.#pc.onLocalDescription((sdp, type) => {
        if (type === 'answer') resolve(shapeAnswer(sdp, this.#options.answerShape));
      });
      try {
        this.#pc.setRemoteDescription(this.#options.offerSdp, 'offer');
      } catch (error) {
        reject(new MediaTransportFailed({ stage: 'negotiate', message: `the offer was refused: ${error instanceof Error ? error.message : String(error)}` }));
      }
    });
  }

  /** A remote candidate from the robot (an empty one marks the end of candidates). */
  addRemoteCandidate(ice: IcePayload): void {
    if (this.#closed || ice.candidate.trim().length === 0) return;
    const mid = midAt(this.#options.offer, ice.sdpMLineIndex) ?? this.#options.offer.sections[0]?.mid ?? '0';
    try {
      this.#pc.addRemoteCandidate(ice.candidate, mid);
    } catch (error) {
      this.#log.debug('remote candidate refused', { candidate: ice.candidate, error });
    }
  }

  /**
   * Writes one RTCP packet on the video track (no media handler there, so libdatachannel sends it
   * whatever the m-line's direction); false when it could not go out.
   */
  sendVideoRtcp(packet: Buffer): boolean {
    const track = this.#videoTrack;
    if (this.#closed || track === null || !track.isOpen()) return false;
    try {
      return track.sendMessageBinary(packet);
    } catch {
      return false;
    }
  }

  /** Writes one RTP packet on the audio track; false when the track is not open (yet). */
  sendAudio(packet: Buffer): boolean {
    const track = this.#audioTrack;
    if (this.#closed || track === null || !track.isOpen()) return false;
    try {
      return track.sendMessageBinary(packet);
    } catch {
      return false;
    }
  }

  /** No callback reaches the handlers from now on (first step of the teardown, §5.4). */
  stopCallbacks(): void {
    this.#accepting = false;
  }

  /** Closes the PeerConnection (its tracks and channel with it); idempotent. */
  close(): void {
    this.#accepting = false;
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#pc.close();
    } catch (error) {
      this.#log.debug('closing the peer connection threw', { error });
    }
  }

  #onTrack(track: Track): void {
    if (!this.#accepting) return;
    const mid = track.mid();
    const { offer, handlers } = this.#options;
    if (offer.video !== null && mid === offer.video.mid) {
      this.#videoTrack = track;
      track.onMessage((message) => {
        if (this.#accepting) handlers.onVideoPacket(message);
      });
    } else if (offer.audio !== null && mid === offer.audio.mid) {
      this.#audioTrack = track;
      track.onMessage((message) => {
        if (this.#accepting) handlers.onAudioPacket(message);
      });
    } else {
      this.#log.debug('track not used', { mid, type: track.type() });
    }
  }
}

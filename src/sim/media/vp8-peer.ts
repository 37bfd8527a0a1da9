// One consumer session of the lite-mode producer: a @roamhq/wrtc RTCPeerConnection (max-bundle)
// that OFFERS once with a VP8 video transceiver and an Opus audio transceiver, both sendrecv, and
// the `data` DataChannel created before the offer (reachy-daemon-api.md §9.1–9.2; a Lite's
// webrtcsink encodes whatever codec is negotiated, here VP8 only). Its tracks come from the
// engine's shared sources, so frames are made once for every session; libwebrtc encodes per
// connection and answers PLIs itself (counted from `getStats`). The consumer's audio is decoded by
// libwebrtc and handed to the engine through an RTCAudioSink. Owns no timers and no sources.
import type { Logger } from '../../logging/logger.ts';
import type { IcePayload } from '../../media/signalling/protocol.ts';
import type { ProducerSession, ProducerSessionHandlers } from '../signalling-in-process.ts';
import { HeldCandidates } from './held-candidates.ts';
import type { PeerLifecycleEvents } from './peer-engine.ts';
import { wrtc, type WrtcAudioData, type WrtcAudioSink, type WrtcAudioSource, type WrtcCodecCapability, type WrtcDataChannel, type WrtcMediaStreamTrack, type WrtcPeerConnection, type WrtcVideoSource } from './wrtc-api.ts';

export const DATA_CHANNEL_LABEL = 'data';
/** The one video codec offered, plus its retransmission stream (webrtcsink enables NACK/RTX, §9.1). */
export const OFFERED_VIDEO_MIME_TYPES: ReadonlySet<string> = new Set(['video/VP8', 'video/rtx']);

export interface Vp8PeerSources {
  readonly video: WrtcVideoSource;
  readonly audio: WrtcAudioSource;
}

/** `onLive` fires when ICE + DTLS connected: media flows. */
export interface Vp8PeerEvents extends PeerLifecycleEvents<Vp8Peer> {
  onAudio(peer: Vp8Peer, audio: WrtcAudioData): void;
}

function vp8Only(): WrtcCodecCapability[] | null {
  const capabilities = wrtc.RTCRtpSender.getCapabilities('video');
  if (!capabilities) return null;
  const codecs = capabilities.codecs.filter((codec) => OFFERED_VIDEO_MIME_TYPES.has(codec.mimeType));
  return codecs.some((codec) => codec.mimeType === 'video/VP8') ? codecs : null;
}

export class Vp8Peer {
  readonly session: ProducerSession;
  readonly handlers: ProducerSessionHandlers;
  readonly #events: Vp8PeerEvents;
  readonly #log: Logger;
  readonly #pc: WrtcPeerConnection;
  readonly #tracks: WrtcMediaStreamTrack[];
  readonly #sink: WrtcAudioSink;
  readonly #channel: WrtcDataChannel;
  readonly #candidates = new HeldCandidates((ice) => this.#addRemoteCandidate(ice));
  #closed = false;
  #live = false;
  /** PLI + FIR counts the last time stats were read. */
  #keyframeRequests = 0;

  constructor(session: ProducerSession, sources: Vp8PeerSources, events: Vp8PeerEvents, log: Logger) {
    this.session = session;
    this.#events = events;
    this.#log = log;
    this.#pc = new wrtc.RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
    const videoTrack = sources.video.createTrack();
    const audioTrack = sources.audio.createTrack();
    this.#tracks = [videoTrack, audioTrack];
    const video = this.#pc.addTransceiver(videoTrack, { direction: 'sendrecv' });
    const codecs = vp8Only();
    if (codecs) video.setCodecPreferences(codecs);
    else log.warn('wrtc reports no VP8 capability; offering its default video codecs');
    const audio = this.#pc.addTransceiver(audioTrack, { direction: 'sendrecv' });
    this.#sink = new wrtc.nonstandard.RTCAudioSink(audio.receiver.track);
    this.#sink.ondata = (data) => {
      if (!this.#closed) this.#events.onAudio(this, data);
    };
    this.#channel = this.#pc.createDataChannel(DATA_CHANNEL_LABEL);
    this.#channel.onopen = () => log.debug('data channel open', { sessionId: session.sessionId });

    this.#pc.onicecandidate = (event) => {
      if (this.#closed || !event.candidate || event.candidate.candidate.length === 0) return;
      session.sendCandidate(event.candidate.candidate, event.candidate.sdpMLineIndex ?? 0);
    };
    this.#pc.onconnectionstatechange = () => {
      if (this.#closed) return;
      const state = this.#pc.connectionState;
      if (state === 'connected' && !this.#live) {
        this.#live = true;
        this.#events.onLive(this);
      } else if (state === 'failed' || state === 'closed') this.#events.onBroken(this, state);
    };

    this.handlers = {
      onAnswer: (sdp) => void this.#applyAnswer(sdp),
      onRemoteCandidate: (ice) => {
        if (!this.#closed) this.#candidates.offer(ice);
      },
      onEnded: () => this.#events.onEnded(this),
    };
    void this.#offer();
  }

  get live(): boolean {
    return this.#live && !this.#closed;
  }

  get keyframeRequests(): number {
    return this.#keyframeRequests;
  }

  /** Reads the video sender's PLI/FIR counters (libwebrtc honours them by itself). */
  async refreshKeyframeRequests(): Promise<number> {
    if (this.#closed) return this.#keyframeRequests;
    try {
      const stats = await this.#pc.getStats();
      let total = 0;
      stats.forEach((entry) => {
        if (entry.type === 'outbound-rtp' && entry.kind === 'video') total += (entry.pliCount ?? 0) + (entry.firCount ?? 0);
      });
      this.#keyframeRequests = Math.max(this.#keyframeRequests, total);
    } catch (error) {
      this.#log.debug('getStats failed', { sessionId: this.session.sessionId, error });
    }
    return this.#keyframeRequests;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#candidates.clear();
    this.#pc.onicecandidate = null;
    this.#pc.onconnectionstatechange = null;
    this.#sink.ondata = null;
    this.#sink.stop();
    for (const track of this.#tracks) track.stop();
    this.#pc.close();
  }

  async #offer(): Promise<void> {
    try {
      const offer = await this.#pc.createOffer();
      if (this.#closed) return;
      await this.#pc.setLocalDescription(offer);
      if (this.#closed) return;
      this.session.sendOffer(offer.sdp);
    } catch (error) {
      if (this.#closed) return;
      this.#log.warn('offer failed', { sessionId: this.session.sessionId, error });
      this.#events.onBroken(this, 'offer-failed');
    }
  }

  async #applyAnswer(sdp: string): Promise<void> {
    if (this.#closed || this.#candidates.released) return;
    try {
      await this.#pc.setRemoteDescription({ type: 'answer', sdp });
    } catch (error) {
      if (this.#closed) return;
      this.#log.warn('consumer answer refused', { sessionId: this.session.sessionId, error });
      this.#events.onBroken(this, 'answer-refused');
      return;
    }
    this.#candidates.release();
  }

  /** One candidate of the consumer's, once the answer is applied (HeldCandidates holds earlier ones). */
  #addRemoteCandidate(ice: IcePayload): void {
    if (this.#closed) return;
    this.#pc.addIceCandidate({ candidate: ice.candidate, sdpMLineIndex: ice.sdpMLineIndex }).catch((error: unknown) => {
      this.#log.debug('remote candidate refused', { sessionId: this.session.sessionId, error });
    });
  }
}

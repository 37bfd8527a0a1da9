// One consumer session of the wireless-mode producer: a node-datachannel PeerConnection that OFFERS
// once (no renegotiation) an H.264 m-line (constrained baseline 42e01f, packetization-mode 1, NACK,
// RTX), an Opus m-line, both sendrecv, and the `data` DataChannel, max-bundle (reachy-daemon-api.md
// §9.1–9.2, h264-webrtc.md §2). Sends the RTP the engine hands it, reports keyframe and
// retransmission requests and the consumer's decoded audio; its ICE candidates go out once the answer
// is applied (`#localCandidates`). Teardown (§5.4): the engine stops feeding it, then `pc.close()`,
// never the global `cleanup()`. Owns no encoding and no timers.
import nodeDataChannel, { type DataChannel, type PeerConnection, type Track } from 'node-datachannel';
import type { Logger } from '../../logging/logger.ts';
import { parseRtpPacket } from '../../media/rtp/rtp-packet.ts';
import type { IcePayload } from '../../media/signalling/protocol.ts';
import type { ProducerSession, ProducerSessionHandlers } from '../signalling-in-process.ts';
import { HeldCandidates } from './held-candidates.ts';
import { type DecodedPcm, OpusPcmDecoder } from './opus-audio.ts';
import type { PeerLifecycleEvents } from './peer-engine.ts';
import { type KeyframeRequest, keyframeRequests, type NackRequest, nackRequests } from './rtcp-feedback.ts';
import { bareCandidate, midAt, mLineIndexOf } from './sdp-mids.ts';
import { isRtcp } from './rtp-writer.ts';

/** Mids of the offer's media sections (webrtcbin names them by kind and index the same way). */
export const VIDEO_MID = 'video0';
export const AUDIO_MID = 'audio1';
/** The robot's DataChannel label (§9.2: "the robot opens the `data` DataChannel in the offer"). */
export const DATA_CHANNEL_LABEL = 'data';
/** H.264 constrained baseline level 3.1 in packetization mode 1 (FU-A), what the robot's offer carries. */
export const H264_FMTP = 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f';
/** RTX's clock is its original format's (RFC 4588 §8.1): H.264's 90 kHz. */
const VIDEO_RTP_CLOCK_RATE = 90_000;
/** Opus as webrtcsink offers it: 10 ms minimum packet time, in-band FEC (§9.1). */
export const OPUS_FMTP = 'minptime=10;useinbandfec=1';

export interface H264StreamIds {
  readonly videoPayloadType: number;
  readonly audioPayloadType: number;
  readonly videoSsrc: number;
  /** Retransmissions (RFC 4588 RTX, `apt` = videoPayloadType) go out with this payload type and SSRC. */
  readonly rtxPayloadType: number;
  readonly rtxSsrc: number;
  readonly audioSsrc: number;
  /** RTCP CNAME of the robot's streams (one per producer, as one sender). */
  readonly cname: string;
}

/** `onLive` fires when the video track opened: RTP may flow. */
export interface H264PeerEvents extends PeerLifecycleEvents<H264Peer> {
  onKeyframeRequest(peer: H264Peer, request: KeyframeRequest): void;
  onNack(peer: H264Peer, request: NackRequest): void;
  onAudio(peer: H264Peer, audio: DecodedPcm): void;
}

export class H264Peer {
  readonly session: ProducerSession;
  readonly handlers: ProducerSessionHandlers;
  readonly #ids: H264StreamIds;
  readonly #events: H264PeerEvents;
  readonly #log: Logger;
  // Every node-datachannel wrapper stays referenced for the connection's life: the library closes a
  // track or channel when a JS wrapper of it is garbage-collected (measured: media stopped after
  // ~0.5 s). No onTrack/onDataChannel handler is set, so no stray wrappers are ever created.
  readonly #pc: PeerConnection;
  readonly #video: Track;
  readonly #audio: Track;
  readonly #channel: DataChannel;
  readonly #decoder = new OpusPcmDecoder();
  readonly #candidates = new HeldCandidates((ice) => this.#addRemoteCandidate(ice));
  /**
   * Our own candidates, sent only once the consumer's answer is applied. libdatachannel's
   * `setRemoteDescription` gives ICE the consumer's credentials before it records the description
   * whose fingerprint the DTLS handshake is checked against; a consumer that could already reach us
   * (its checks answered before our answer arrived) got through ICE and DTLS inside that gap when
   * this thread was preempted, and the check found no fingerprint: the connection failed at once
   * (under CPU load, 2 of ~40 first sessions; libdatachannel logged "certificate verify failed" on
   * our side). Without our candidates the consumer cannot reach us before the answer is applied.
   * (The robot's webrtcsink trickles at once; the driver's consumer takes either order.)
   */
  readonly #localCandidates = new HeldCandidates((ice) => this.session.sendCandidate(ice.candidate, ice.sdpMLineIndex));
  #localSdp: string | null = null;
  #remoteSdp: string | null = null;
  #closed = false;
  #live = false;

  constructor(session: ProducerSession, ids: H264StreamIds, events: H264PeerEvents, log: Logger) {
    this.session = session;
    this.#ids = ids;
    this.#events = events;
    this.#log = log;
    this.#pc = new nodeDataChannel.PeerConnection(`reachymini-${session.sessionId}`, { iceServers: [], disableAutoNegotiation: true });

    const video = new nodeDataChannel.Video(VIDEO_MID, 'SendRecv');
    // libdatachannel adds `nack` and `nack pli` feedback to the codec; RTX as webrtcsink's do-nack does.
    video.addH264Codec(ids.videoPayloadType, H264_FMTP);
    video.addRTXCodec(ids.rtxPayloadType, ids.videoPayloadType, VIDEO_RTP_CLOCK_RATE);
    video.addSSRC(ids.videoSsrc, ids.cname, 'reachymini', 'reachymini-video');
    video.addSSRC(ids.rtxSsrc, ids.cname, 'reachymini', 'reachymini-video');
    this.#video = this.#pc.addTrack(video);
    const audio = new nodeDataChannel.Audio(AUDIO_MID, 'SendRecv');
    audio.addOpusCodec(ids.audioPayloadType, OPUS_FMTP);
    audio.addSSRC(ids.audioSsrc, ids.cname, 'reachymini', 'reachymini-audio');
    this.#audio = this.#pc.addTrack(audio);
    this.#channel = this.#pc.createDataChannel(DATA_CHANNEL_LABEL);

    this.#video.onOpen(() => {
      if (this.#closed || this.#live) return;
      this.#live = true;
      this.#events.onLive(this);
    });
    this.#video.onMessage((message) => {
      if (this.#closed || !isRtcp(message)) return;
      for (const request of keyframeRequests(message)) this.#events.onKeyframeRequest(this, request);
      for (const request of nackRequests(message)) this.#events.onNack(this, request);
    });
    this.#audio.onMessage((message) => this.#onAudioMessage(message));
    this.#channel.onOpen(() => this.#log.debug('data channel open', { sessionId: session.sessionId }));
    this.#pc.onStateChange((state) => {
      if (this.#closed) return;
      if (state === 'failed' || state === 'closed') this.#events.onBroken(this, state);
    });
    this.#pc.onLocalDescription((sdp, type) => {
      if (this.#closed || type !== 'offer' || this.#localSdp !== null) return;
      this.#localSdp = sdp;
      session.sendOffer(sdp);
    });
    this.#pc.onLocalCandidate((candidate, mid) => {
      if (this.#closed) return;
      this.#localCandidates.offer({ candidate: bareCandidate(candidate), sdpMLineIndex: this.#localSdp === null ? 0 : mLineIndexOf(this.#localSdp, mid) });
    });

    this.handlers = {
      onAnswer: (sdp) => this.#applyAnswer(sdp),
      onRemoteCandidate: (ice) => {
        if (!this.#closed) this.#candidates.offer(ice);
      },
      onEnded: () => this.#events.onEnded(this),
    };
    // The single offer (webrtcsink offers once the pipeline is ready, never on negotiationneeded).
    this.#pc.setLocalDescription('offer');
  }

  get live(): boolean {
    return this.#live && !this.#closed;
  }

  /** One access unit's packets; dropped unless the video track is open. */
  sendVideo(packets: readonly Buffer[]): void {
    if (this.#closed || !this.#video.isOpen()) return;
    for (const packet of packets) this.#video.sendMessageBinary(packet);
  }

  sendAudio(packet: Buffer): void {
    if (this.#closed || !this.#audio.isOpen()) return;
    this.#audio.sendMessageBinary(packet);
  }

  /** Closes the PeerConnection (tracks and channel with it). The caller stopped feeding it first. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#candidates.clear();
    this.#localCandidates.clear();
    try {
      this.#pc.close();
    } catch (error) {
      this.#log.debug('peer connection close failed', { sessionId: this.session.sessionId, error });
    }
  }

  #applyAnswer(sdp: string): void {
    if (this.#closed || this.#remoteSdp !== null) return;
    try {
      this.#pc.setRemoteDescription(sdp, 'answer');
    } catch (error) {
      this.#log.warn('consumer answer refused', { sessionId: this.session.sessionId, error });
      this.#events.onBroken(this, 'answer-refused');
      return;
    }
    this.#remoteSdp = sdp;
    this.#candidates.release();
    this.#localCandidates.release();
  }

  /** One candidate of the consumer's, once the answer is applied (HeldCandidates holds earlier ones). */
  #addRemoteCandidate(ice: IcePayload): void {
    const remoteSdp = this.#remoteSdp;
    if (this.#closed || remoteSdp === null) return;
    const mid = midAt(remoteSdp, ice.sdpMLineIndex) ?? VIDEO_MID;
    try {
      this.#pc.addRemoteCandidate(ice.candidate, mid);
    } catch (error) {
      this.#log.debug('remote candidate refused', { sessionId: this.session.sessionId, error });
    }
  }

  #onAudioMessage(message: Buffer): void {
    if (this.#closed || isRtcp(message)) return;
    const parsed = parseRtpPacket(message);
    if (!parsed.ok || parsed.packet.payloadType !== this.#ids.audioPayloadType) return;
    const audio = this.#decoder.decode(parsed.packet.payload);
    if (audio) this.#events.onAudio(this, audio);
  }
}

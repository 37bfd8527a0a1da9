// One live media session with the robot's webrtcsink producer (the MediaLink contract,
// src/media/media-link.ts): composes the PeerConnection (peer-session.ts), video RTCP and loss
// repair (video-receive-feedback.ts), the lazily decoded video (lazy-video.ts), the microphone ring
// (opus-receiver.ts) and the paced speaker (opus-sender.ts). Owns the session's lifecycle: the
// connect wait, why it ended (close, producer, signalling, transport) and the crash-safe teardown
// of h264-webrtc.md §5.4 (send timer, callbacks, endSession before the transport closes — issue 12
// §6 — pc.close(), a short wait, then the decoders). Setting it up is open-media-link.ts's job.
import { randomInt } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import * as Result from 'effect/Result';
import { createLogger } from '../../logging/logger.ts';
import { PcmRingBuffer } from '../../media/detectors/pcm-ring-buffer.ts';
import {
  type DecodedVideoFrame,
  type MediaLink,
  MediaLinkClosed,
  type MediaLinkEndReason,
  type MediaLinkStats,
  MediaTransportFailed,
  type NoFrameYet,
  type OpenMediaLinkFailure,
} from '../../media/media-link.ts';
import type { SessionEnded } from '../../media/signalling/errors.ts';
import type { IcePayload } from '../../media/signalling/protocol.ts';
import type { AnswerContext, SignallingClient } from '../signalling/signalling-client.ts';
import type { VideoCodec } from '../../media/rtp/video-frame.ts';
import { LazyVideo } from './lazy-video.ts';
import { OpusReceiver } from './opus-receiver.ts';
import { OpusSender } from './opus-sender.ts';
import { PeerSession, type PeerState } from './peer-session.ts';
import type { OfferMedia } from './sdp-offer.ts';
import { VideoReceiveFeedback } from './video-receive-feedback.ts';

/**
 * ICE + DTLS deadline after the answer. On a LAN this takes ~0.1 s (h264-webrtc.md §3.4); 10 s
 * leaves room for a slow Wi-Fi robot and stays under the daemon's 12 s ICE watchdog (§9.1), so
 * we report the failure before the robot tears the session down.
 */
export const CONNECT_TIMEOUT_MS = 10_000;
/**
 * How long ICE may stay `disconnected` before the link counts as failed. Consent checks flag a
 * few lost seconds on Wi-Fi that recover by themselves; 5 s rides those out and still ends a dead
 * link well before the robot's own 12 s watchdog.
 */
export const ICE_DISCONNECT_GRACE_MS = 5_000;
/**
 * Pause between pc.close() and freeing decoders: lets libdatachannel's threads deliver their last
 * callbacks (h264-webrtc.md §5.4: closing with work in flight crashed; a short wait did not).
 */
export const CLOSE_SETTLE_MS = 100;
/**
 * How long a failed or closed PeerConnection waits for a signalling verdict before the end counts
 * as a transport failure. When the producer ends a session (or its signalling server goes away)
 * its DTLS close over UDP and its `endSession` over the WebSocket race (on loopback the close
 * won); 250 ms lets the more precise signalling reason win without delaying the end much.
 */
export const END_REASON_SETTLE_MS = 250;
/**
 * No RTP at all (video 30 fps and Opus every 20 ms both stop) for this long means the path is dead.
 * libdatachannel only reports `failed` 30 s after a network blackout and never `disconnected`
 * (measured on loopback with a dropping proxy), far too late for a robot; the producer's longest
 * legitimate gap is well under a second.
 */
export const MEDIA_STALL_MS = 5_000;
/** How often the stall watchdog looks. */
export const MEDIA_STALL_CHECK_MS = 500;

/** RTCP shares the track (rtcp-mux): packet types 192–223 in the second byte (RFC 5761 §4). */
function isRtcp(packet: Uint8Array): boolean {
  const second = packet[1] ?? 0;
  return second >= 192 && second <= 223;
}
/** CNAME in our audio SSRC line (RFC 3550 §6.5.1): any stable per-session text. */
const SEND_CNAME = 'reachy-mini-driver';

export interface LiveMediaLinkOptions {
  readonly client: SignallingClient;
  readonly context: AnswerContext;
  readonly offer: OfferMedia;
  readonly offerSdp: string;
  /** The stall watchdog's silence limit (default MEDIA_STALL_MS); tests shorten it. */
  readonly stallMs?: number;
}

function endReasonOf(ended: SessionEnded): MediaLinkEndReason {
  switch (ended.reason) {
    case 'local-closed':
      return { kind: 'closed' };
    case 'remote-ended':
      return { kind: 'producer-ended', message: ended.details };
    default:
      return { kind: 'signalling-lost', message: `${ended.reason}: ${ended.details}` };
  }
}

export class LiveMediaLink implements MediaLink {
  readonly sessionId: string;
  readonly producerId: string;
  readonly videoCodec: VideoCodec | null;
  readonly audioIn = new PcmRingBuffer();
  readonly ended: Promise<MediaLinkEndReason>;
  readonly #client: SignallingClient;
  readonly #log = createLogger('media:link');
  readonly #peer: PeerSession;
  readonly #video: LazyVideo | null;
  readonly #feedback: VideoReceiveFeedback | null;
  readonly #receiver: OpusReceiver | null;
  readonly #sender: OpusSender | null;
  readonly #connected: Promise<Result.Result<void, OpenMediaLinkFailure>>;
  #settleConnected!: (outcome: Result.Result<void, OpenMediaLinkFailure>) => void;
  #resolveEnded!: (reason: MediaLinkEndReason) => void;
  #startedAt = Date.now();
  #isConnected = false;
  #signallingEnd: SessionEnded | null = null;
  #endReason: MediaLinkEndReason | null = null;
  #teardown: Promise<void> | null = null;
  #graceTimer: NodeJS.Timeout | null = null;
  #transportEndTimer: NodeJS.Timeout | null = null;
  #pliSent = 0;
  #lastRtpAt = 0;
  #stallTimer: NodeJS.Timeout | null = null;
  readonly #stallMs: number;

  constructor(options: LiveMediaLinkOptions) {
    const { client, context, offer } = options;
    this.#client = client;
    this.#stallMs = options.stallMs ?? MEDIA_STALL_MS;
    this.sessionId = context.sessionId;
    this.producerId = context.producerId;
    this.videoCodec = offer.video?.codec ?? null;
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
    this.#connected = new Promise((resolve) => {
      this.#settleConnected = resolve;
    });
    const video = offer.video;
    this.#video = video === null ? null : new LazyVideo({ codec: video.codec, payloadType: video.payloadType, nack: video.nack, sessionStartedAt: () => this.#startedAt });
    this.#receiver = offer.audio === null ? null : new OpusReceiver({ payloadType: offer.audio.payloadType, ring: this.audioIn });
    const sendSsrc = offer.audio?.canSend ? randomInt(1, 0xffff_ffff) : null;
    this.#feedback =
      video === null
        ? null
        : new VideoReceiveFeedback({
            mediaPayloadType: video.payloadType,
            rtxPayloadType: video.nack ? video.rtxPayloadType : null,
            nack: video.nack,
            senderSsrc: sendSsrc ?? randomInt(1, 0xffff_ffff),
            send: (packet) => this.#peer.sendVideoRtcp(packet),
          });
    const keep = new Map<string, number>();
    const rtx = new Map<string, number>();
    if (video) keep.set(video.mid, video.payloadType);
    // RTX only makes sense where we ask for retransmissions (RFC 4588 §8.6 pairs it with NACK).
    if (video?.nack && video.rtxPayloadType !== null) rtx.set(video.mid, video.rtxPayloadType);
    if (offer.audio) keep.set(offer.audio.mid, offer.audio.payloadType);
    this.#peer = new PeerSession({
      offer,
      offerSdp: options.offerSdp,
      answerShape: { keep, rtx, sendSsrc: offer.audio && sendSsrc !== null ? { mid: offer.audio.mid, ssrc: sendSsrc, cname: SEND_CNAME } : null },
      handlers: {
        onLocalCandidate: (candidate, index) => client.sendCandidate(candidate, index),
        onVideoPacket: (packet) => this.#onVideoPacket(packet),
        onAudioPacket: (packet) => {
          if (!isRtcp(packet)) this.#lastRtpAt = Date.now();
          this.#receiver?.push(packet);
        },
        onStateChange: (state) => this.#onPeerState(state),
      },
    });
    this.#sender =
      offer.audio && sendSsrc !== null
        ? new OpusSender({ payloadType: offer.audio.payloadType, ssrc: sendSsrc, channels: offer.audio.stereo ? 2 : 1, send: (packet) => this.#peer.sendAudio(packet) })
        : null;
    void client.ended.then((ended) => {
      this.#signallingEnd = ended;
      void this.#terminate(endReasonOf(ended));
    });
  }

  get startedAt(): number {
    return this.#startedAt;
  }

  /** Applies the robot's offer; resolves with the answer SDP for the signalling client. */
  answer(): Promise<string> {
    return this.#peer.answer();
  }

  addRemoteCandidate(ice: IcePayload): void {
    this.#peer.addRemoteCandidate(ice);
  }

  /** Resolves once ICE+DTLS are up, or with why not (deadline, transport failure, session end, abort). */
  async waitConnected(options: { readonly signal?: AbortSignal; readonly timeoutMs?: number } = {}): Promise<Result.Result<void, OpenMediaLinkFailure>> {
    const timeoutMs = options.timeoutMs ?? CONNECT_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const deadline = new Promise<Result.Result<void, OpenMediaLinkFailure>>((resolve) => {
      timer = setTimeout(() => resolve(Result.fail(new MediaTransportFailed({ stage: 'connect', message: `ICE/DTLS did not connect within ${timeoutMs} ms` }))), timeoutMs);
      onAbort = () => resolve(Result.fail(new MediaLinkClosed({ message: 'media link set-up aborted' })));
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([this.#connected, deadline]);
    } finally {
      clearTimeout(timer);
      if (onAbort) options.signal?.removeEventListener('abort', onAbort);
    }
  }

  latestFrame(options: { readonly waitMs?: number } = {}): Promise<Result.Result<DecodedVideoFrame, NoFrameYet | MediaLinkClosed | MediaTransportFailed>> {
    if (this.#endReason !== null) return Promise.resolve(Result.fail(new MediaLinkClosed({ message: 'the media link is closed' })));
    if (this.#video === null) return Promise.resolve(Result.fail(new MediaTransportFailed({ stage: 'negotiate', message: 'the robot offered no H.264 or VP8 video' })));
    return this.#video.latestFrame(options.waitMs ?? 0);
  }

  sendAudio(pcm: Float32Array, sampleRateHz: number): Result.Result<{ readonly queuedMs: number }, MediaTransportFailed | MediaLinkClosed> {
    if (this.#endReason !== null) return Result.fail(new MediaLinkClosed({ message: 'the media link is closed' }));
    if (this.#sender === null) return Result.fail(new MediaTransportFailed({ stage: 'send', message: 'the robot offered no Opus audio it can receive' }));
    return this.#sender.enqueue(pcm, sampleRateHz);
  }

  clearAudioOut(): void {
    this.#sender?.clear();
  }

  stats(): MediaLinkStats {
    const video = this.#video?.counters();
    const loss = this.#feedback?.counters();
    return {
      videoPackets: video?.packets ?? 0,
      videoFrames: video?.frames ?? 0,
      keyframes: video?.keyframes ?? 0,
      decodedFrames: video?.decodedFrames ?? 0,
      pliSent: this.#pliSent,
      nackSent: loss?.nackSent ?? 0,
      nackedPackets: loss?.nackedPackets ?? 0,
      rtxReceived: loss?.rtxReceived ?? 0,
      recoveredPackets: loss?.recoveredPackets ?? 0,
      unrecoveredPackets: loss?.unrecoveredPackets ?? 0,
      audioPacketsIn: this.#receiver?.packets ?? 0,
      audioPacketsOut: this.#sender?.packetsSent ?? 0,
      audioOutQueuedSamples: this.#sender?.queuedSamples ?? 0,
    };
  }

  close(): Promise<void> {
    return this.#terminate({ kind: 'closed' });
  }

  #onVideoPacket(message: Buffer): void {
    const video = this.#video;
    const feedback = this.#feedback;
    const nowMs = Date.now();
    if (!isRtcp(message)) this.#lastRtpAt = nowMs;
    if (video === null || feedback === null) return;
    const packet = feedback.onMessage(message, nowMs);
    if (packet === null) return;
    if (video.push(packet, nowMs).pli && feedback.requestKeyframe()) this.#pliSent++;
  }

  #onPeerState(state: PeerState): void {
    if (this.#endReason !== null) return;
    switch (state) {
      case 'connected':
        if (this.#graceTimer !== null) clearTimeout(this.#graceTimer);
        this.#graceTimer = null;
        if (!this.#isConnected) {
          this.#isConnected = true;
          this.#startedAt = Date.now();
          this.#lastRtpAt = this.#startedAt;
          this.#stallTimer = setInterval(() => {
            const silentMs = Date.now() - this.#lastRtpAt;
            if (silentMs > this.#stallMs) void this.#terminate({ kind: 'transport-failed', message: `no RTP from the robot for ${silentMs} ms` });
          }, MEDIA_STALL_CHECK_MS);
          this.#settleConnected(Result.succeed(undefined));
        }
        return;
      case 'disconnected':
        if (!this.#isConnected || this.#graceTimer !== null) return;
        this.#graceTimer = setTimeout(() => {
          this.#graceTimer = null;
          void this.#terminate({ kind: 'transport-failed', message: `ICE disconnected for more than ${ICE_DISCONNECT_GRACE_MS} ms` });
        }, ICE_DISCONNECT_GRACE_MS);
        return;
      case 'failed':
      case 'closed':
        if (this.#transportEndTimer !== null) return;
        this.#transportEndTimer = setTimeout(() => {
          this.#transportEndTimer = null;
          void this.#terminate({ kind: 'transport-failed', message: `peer connection ${state}` });
        }, END_REASON_SETTLE_MS);
        return;
      default:
        return;
    }
  }

  #connectFailure(reason: MediaLinkEndReason): OpenMediaLinkFailure {
    if (this.#signallingEnd !== null && reason.kind !== 'closed') return this.#signallingEnd;
    if (reason.kind === 'transport-failed') return new MediaTransportFailed({ stage: 'connect', message: reason.message });
    return new MediaLinkClosed({ message: reason.kind === 'closed' ? 'media link closed during set-up' : reason.message });
  }

  /** Ends the session once, whatever asked first, in the crash-safe order (§5.4). */
  #terminate(reason: MediaLinkEndReason): Promise<void> {
    if (this.#teardown !== null) return this.#teardown;
    this.#endReason = reason;
    if (!this.#isConnected) this.#settleConnected(Result.fail(this.#connectFailure(reason)));
    this.#teardown = (async () => {
      if (this.#graceTimer !== null) clearTimeout(this.#graceTimer);
      if (this.#transportEndTimer !== null) clearTimeout(this.#transportEndTimer);
      if (this.#stallTimer !== null) clearInterval(this.#stallTimer);
      this.#stallTimer = null;
      this.#graceTimer = null;
      this.#transportEndTimer = null;
      this.#sender?.stop();
      this.#feedback?.close();
      this.#video?.close();
      this.#receiver?.close();
      this.#peer.stopCallbacks();
      // endSession first (issue 12 §6): the producer then ends the session itself instead of
      // seeing the SCTP association die first; the socket close is bounded by the link's grace.
      try {
        await this.#client.close();
      } catch (error) {
        this.#log.debug('closing the signalling session threw', { error });
      }
      this.#peer.close();
      await delay(CLOSE_SETTLE_MS);
      await this.#video?.release();
      if (reason.kind === 'closed') this.#log.debug('media link closed', { sessionId: this.sessionId });
      else this.#log.info('media link ended', { sessionId: this.sessionId, reason: reason.kind, message: reason.message });
      this.#resolveEnded(reason);
    })();
    return this.#teardown;
  }
}

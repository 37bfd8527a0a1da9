// The contract between the driver's media runtime (src/actors/media-runtime.ts) and the consumer
// WebRTC adapter (src/adapters/media-link/): one live session with the robot's `webrtcsink`
// producer, with lazily decoded video, a 16 kHz mono microphone ring buffer and a paced Opus send
// path (reachy-daemon-api.md §9, h264-webrtc.md §1, §5). Owns only types and the typed failures;
// no WebRTC, no decoding. Binary data stays behind this interface and never enters machine context.
import * as Data from 'effect/Data';
import type * as Result from 'effect/Result';
import { NoFrameYet } from '../errors.ts';
import type { PcmRingBuffer } from './detectors/pcm-ring-buffer.ts';
import type { I420Frame } from './encoding/frame-encoding.ts';
import type { SignallingFailure } from './signalling/errors.ts';
import type { VideoCodec } from './rtp/video-frame.ts';

/** The link could not be set up, or broke: WebRTC negotiation, ICE/DTLS, or the decoder. */
export class MediaTransportFailed extends Data.TaggedError('MediaTransportFailed')<{
  readonly stage: 'negotiate' | 'connect' | 'decode' | 'send';
  readonly message: string;
}> {}

export { NoFrameYet };

/** The link was closed (by us, the producer or a transport failure) before or during the call. */
export class MediaLinkClosed extends Data.TaggedError('MediaLinkClosed')<{
  readonly message: string;
}> {}

/** A decoded picture, planar I420 (what both the H.264 and VP8 decoders give). */
export interface DecodedVideoFrame extends I420Frame {
  readonly codec: VideoCodec;
  /** `Date.now()` when the frame's last RTP packet arrived. */
  readonly receivedAt: number;
  /**
   * Hands `data` back to the decoder once the holder is done with it (a capture, after encoding):
   * a later picture may then be copied into it. Optional to call; never call it while still
   * reading `data`.
   */
  readonly release?: () => void;
}

export type MediaLinkEndReason =
  /** close() was called. */
  | { readonly kind: 'closed' }
  /** The producer ended the session or left the signalling server. */
  | { readonly kind: 'producer-ended'; readonly message: string }
  /** The signalling socket dropped. */
  | { readonly kind: 'signalling-lost'; readonly message: string }
  /** ICE/DTLS failed or disconnected past its grace period. */
  | { readonly kind: 'transport-failed'; readonly message: string };

export interface MediaLinkStats {
  readonly videoPackets: number;
  readonly videoFrames: number;
  readonly keyframes: number;
  readonly decodedFrames: number;
  readonly pliSent: number;
  /** Generic NACK packets sent (RFC 4585), and the video packets they asked for, retries included. */
  readonly nackSent: number;
  readonly nackedPackets: number;
  /** Retransmissions (RFC 4588 RTX) received that carried a video packet. */
  readonly rtxReceived: number;
  /** Missing video packets that arrived in time after all (retransmitted or late). */
  readonly recoveredPackets: number;
  /** Missing video packets given up after the NACK tries (each loss then costs a keyframe request). */
  readonly unrecoveredPackets: number;
  readonly audioPacketsIn: number;
  readonly audioPacketsOut: number;
  /** Samples queued for sending (at 48 kHz) and not yet paced out. */
  readonly audioOutQueuedSamples: number;
}

export interface MediaLink {
  readonly sessionId: string;
  readonly producerId: string;
  /** The negotiated video codec (H.264 on the Wireless robot; VP8 from the Lite emulator). */
  readonly videoCodec: VideoCodec | null;
  /** `Date.now()` when the link came up. */
  readonly startedAt: number;
  /**
   * The newest complete picture: decodes lazily from the last keyframe (only the frames not yet
   * decoded). Waits up to `waitMs` (default 0) for a first keyframe before answering NoFrameYet.
   */
  latestFrame(options?: { readonly waitMs?: number }): Promise<Result.Result<DecodedVideoFrame, NoFrameYet | MediaLinkClosed | MediaTransportFailed>>;
  /** The microphone, decoded from Opus, down-mixed to mono and resampled to 16 kHz. */
  readonly audioIn: PcmRingBuffer;
  /**
   * Queues mono float32 PCM (any rate 8–48 kHz; resampled to 48 kHz) for the robot's speaker,
   * Opus-encoded in 20 ms frames and paced in real time. Answers the frames queued.
   * Fails with MediaTransportFailed(stage 'send') if the queue would exceed its bound.
   */
  sendAudio(pcm: Float32Array, sampleRateHz: number): Result.Result<{ readonly queuedMs: number }, MediaTransportFailed | MediaLinkClosed>;
  /** Drops audio queued for sending and not yet sent. */
  clearAudioOut(): void;
  stats(): MediaLinkStats;
  /** Resolves once, when the link ends, whatever the cause. */
  readonly ended: Promise<MediaLinkEndReason>;
  /** Tears down in the crash-safe order (h264-webrtc.md §5.4); idempotent. */
  close(): Promise<void>;
}

export interface OpenMediaLinkOptions {
  /** `ws://<robot>:8443`. */
  readonly signallingUrl: string;
  /** Producer meta name; default `reachymini`. */
  readonly producerName?: string;
  /** Progress while setting up: signalling done and SDP being negotiated. */
  readonly onNegotiating?: () => void;
  /** Aborts the set-up (the link is torn down and the promise answers MediaLinkClosed). */
  readonly signal?: AbortSignal;
  /** No RTP this long ends the link as transport-failed (default MEDIA_STALL_MS of the session); tests shorten it. */
  readonly stallMs?: number;
}

export type OpenMediaLinkFailure = SignallingFailure | MediaTransportFailed | MediaLinkClosed;

export type OpenMediaLink = (options: OpenMediaLinkOptions) => Promise<Result.Result<MediaLink, OpenMediaLinkFailure>>;

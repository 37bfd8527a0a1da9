// The receive-side contract shared by the H.264 (RFC 6184) and VP8 (RFC 7741) depacketizers:
// `push(packet, arrivalMs)` returns what happened (frames, drops, gaps, PLI requests, rejected
// packets) and `gop()` the frames a decoder needs since the last keyframe (h264-webrtc.md §1,
// §5.1 item 3). Owns only the types; rtp-video-receiver.ts implements them. No sockets, no RTCP
// sending and no decoding: the caller sends the PLI and feeds `gop()` to a decoder.

import type { H264FrameDropReason, H264RejectReason } from './h264-access-unit.ts';
import type { RtpRejectReason } from './rtp-packet.ts';
import type { VideoCodec, VideoFrame } from './video-frame.ts';
import type { Vp8FrameDropReason, Vp8RejectReason } from './vp8-frame.ts';

export type PacketRejectReason =
  | RtpRejectReason
  | 'unexpected-ssrc'
  | 'unexpected-payload-type'
  | H264RejectReason
  | Vp8RejectReason;

export type FrameDropReason =
  /** Decoding cannot start or continue before a keyframe (start-up, or after a loss). */
  | 'awaiting-keyframe'
  /** A packet of the frame was lost or malformed. */
  | 'corrupt'
  /** Larger than the receiver's frame bound. */
  | 'too-large'
  | H264FrameDropReason
  | Vp8FrameDropReason;

export type PliReason =
  /** Frames are being skipped until a keyframe (joined mid-GOP, or after a loss). */
  | 'awaiting-keyframe'
  /** Packets were lost or a frame was broken. */
  | 'loss'
  /** The GOP outgrew the buffer, so it no longer starts with a keyframe. */
  | 'gop-overflow';

export type DepacketizerEvent =
  | { readonly type: 'frame'; readonly frame: VideoFrame }
  | {
      readonly type: 'frame-dropped';
      readonly reason: FrameDropReason;
      readonly timestamp: number;
      readonly firstSequence: number;
      readonly lastSequence: number;
    }
  | { readonly type: 'gap'; readonly firstMissing: number; readonly lastMissing: number; readonly lost: number }
  | { readonly type: 'resync'; readonly sequence: number }
  | { readonly type: 'late'; readonly sequence: number }
  | { readonly type: 'rejected'; readonly reason: PacketRejectReason; readonly sequence: number | undefined }
  /** Send an RTCP PLI now (already rate-limited). */
  | { readonly type: 'pli'; readonly reason: PliReason }
  | { readonly type: 'gop-evicted'; readonly frames: number };

export interface DepacketizerStats {
  readonly packets: number;
  readonly rejected: number;
  readonly late: number;
  readonly lost: number;
  readonly framesEmitted: number;
  readonly keyframes: number;
  readonly framesDropped: number;
  readonly pliRequests: number;
  readonly gopEvicted: number;
}

export interface DepacketizerOptions {
  /** Accept only this RTP payload type (the one negotiated for the codec); others are rejected. */
  readonly payloadType?: number;
  /** Accept only this SSRC; by default the first SSRC seen is locked until `reset()`. */
  readonly ssrc?: number;
  readonly reorderWindowPackets?: number;
  readonly reorderMaxWaitMs?: number;
  readonly pliMinIntervalMs?: number;
  readonly gopMaxFrames?: number;
  readonly gopMaxBytes?: number;
  readonly maxFrameBytes?: number;
}

export interface VideoDepacketizer {
  readonly codec: VideoCodec;
  /**
   * One RTP packet as received (already SRTP-decrypted). The bytes are kept by reference until
   * the frame they belong to is emitted: do not reuse the buffer. Never throws.
   */
  push(packet: Uint8Array, arrivalMs: number): readonly DepacketizerEvent[];
  /** Frames since the last keyframe, oldest first; after a loss it stops growing until the next keyframe. */
  gop(): readonly VideoFrame[];
  /** True until a keyframe arrives, and again after every loss. */
  readonly awaitingKeyframe: boolean;
  stats(): DepacketizerStats;
  /** Forgets everything (stream, SSRC lock, GOP); the next frame must be a keyframe. */
  reset(): void;
}

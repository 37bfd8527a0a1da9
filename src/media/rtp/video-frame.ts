// The unit the receive side hands on: one complete, decodable-in-order video frame (an H.264
// access unit in Annex-B form, or one VP8 frame), with where it came from in the RTP stream.
// Owns only the shape; producing frames is the depacketizers' job, decoding is not done here.
// RFC 3550 §5.1 (timestamp, SSRC, sequence numbers), RFC 6184 §5.1, RFC 7741 §4.

export type VideoCodec = 'h264' | 'vp8';

export interface VideoFrame {
  readonly codec: VideoCodec;
  /** H.264: Annex-B access unit (4-byte start codes); VP8: the frame as a decoder takes it. */
  readonly data: Uint8Array;
  /** H.264: contains an IDR slice with first_mb_in_slice 0; VP8: key frame (P bit 0). */
  readonly keyframe: boolean;
  /** RTP timestamp, 90 kHz for video (unsigned 32-bit, wraps). */
  readonly timestamp: number;
  readonly ssrc: number;
  /** Sequence number of the frame's first and last packet (16-bit, may wrap between them). */
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly packets: number;
  /** Caller's arrival time of the frame's last packet. */
  readonly receivedMs: number;
}

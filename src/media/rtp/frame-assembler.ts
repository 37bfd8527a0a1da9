// The codec plug-in contract of the RTP video receiver: turns the in-order payloads of one RTP
// timestamp into one frame. Owns only the interface; implementations are per codec
// (h264-access-unit.ts for RFC 6184, vp8-frame.ts for RFC 7741). Ordering, loss, keyframe gating,
// PLI and the GOP are the receiver's job (rtp-video-receiver.ts), not the assembler's.

export interface AssembledFrame {
  readonly ok: true;
  readonly data: Uint8Array;
  readonly keyframe: boolean;
}

export interface FrameNotAssembled<D extends string> {
  readonly ok: false;
  readonly reason: D;
  /** True when the stream lost something (decoding must restart at a keyframe). */
  readonly broken: boolean;
}

export interface FrameAssembler<R extends string, D extends string> {
  /** Starts a new frame, forgetting anything left from the previous one. */
  begin(): void;
  /** One payload of the current frame, in sequence order. Returns why it is malformed, if it is. */
  add(payload: Uint8Array): R | undefined;
  /** The frame's last payload was added (marker bit, or the next timestamp began). */
  finish(): AssembledFrame | FrameNotAssembled<D>;
}

// The names of the `capture_video_frame` encodings and the two typed failures of encoding a
// frame: `PayloadTooLarge` (the reply would exceed the RPC budget) and `InvalidFrame` (bytes do not
// match the declared geometry). Split from frame-encoding.ts so errors.ts can list them in
// RpcFailure without importing sharp or the encoder (which imports errors.ts). Pure; no I/O.
// Spec: reference-driver.md §5.1 with §12 item 5 fixed.
import * as Data from 'effect/Data';

export const FRAME_ENCODINGS = ['jpeg', 'thumbnail', 'raw'] as const;
export type FrameEncoding = (typeof FRAME_ENCODINGS)[number];

/** What a caller can ask for instead when a reply is too large. */
export const TOO_LARGE_ALTERNATIVES = ['jpeg', 'thumbnail'] as const;

/** A reply over a size budget: a frame over the RPC budget, or any reply over the broker's max_payload. */
export class PayloadTooLarge extends Data.TaggedError('PayloadTooLarge')<{
  readonly message: string;
  /** Frame replies only: the encoding that was too large. */
  readonly encoding?: FrameEncoding;
  /** UTF-8 bytes of the compact JSON the reply would have had. */
  readonly rpcJsonBytes: number;
  readonly maxPayloadBytes: number;
  /** Frame replies only: encodings that fit. */
  readonly alternatives?: ReadonlyArray<(typeof TOO_LARGE_ALTERNATIVES)[number]>;
}> {}

/** The frame's bytes do not match its declared geometry (checked before any pixel work). */
export class InvalidFrame extends Data.TaggedError('InvalidFrame')<{
  readonly message: string;
  readonly pixelFormat: 'interleaved' | 'i420';
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  /** Bytes the geometry implies, null when the geometry itself is invalid. */
  readonly expectedBytes: number | null;
  readonly actualBytes: number;
}> {}

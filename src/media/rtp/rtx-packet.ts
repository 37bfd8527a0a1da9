// Turns an RTP retransmission packet (RFC 4588 §4, the `rtx` payload format with `apt=<media PT>`,
// sent in session-multiplexing mode on its own SSRC) back into the original media packet: the
// first two payload bytes are the original sequence number (OSN), the rest is the original
// payload; the header is kept (extensions, CSRCs, marker, timestamp) with the payload type, SSRC
// and sequence number of the media stream restored and the padding removed. Owns that byte
// rewrite only: which payload types and SSRCs pair up comes from the SDP, and what to do with
// the packet (the reorder buffer) is the caller's. Never throws.
import { parseRtpPacket, RTP_FIXED_HEADER_BYTES } from './rtp-packet.ts';

/** The original sequence number in front of the payload (RFC 4588 §4). */
const OSN_BYTES = 2;
/** P bit of the first header byte (RFC 3550 §5.1). */
const PADDING_BIT = 0x20;

export interface RtxPairing {
  /** The media stream's payload type (`apt`). */
  readonly mediaPayloadType: number;
  /** The media stream's SSRC, restored into the packet. */
  readonly mediaSsrc: number;
}

export type RtxUnwrapResult =
  | { readonly ok: true; readonly packet: Uint8Array; readonly originalSequence: number }
  /**
   * `padding`: no OSN, only padding — a bandwidth probe, which senders put on the RTX stream
   * (libwebrtc does); `malformed`: not an RTP packet.
   */
  | { readonly ok: false; readonly reason: 'padding' | 'malformed' };

/** Unwraps one RTX packet into a new buffer holding the original media packet. */
export function unwrapRtx(bytes: Uint8Array, pairing: RtxPairing): RtxUnwrapResult {
  const parsed = parseRtpPacket(bytes);
  if (!parsed.ok) return { ok: false, reason: 'malformed' };
  const { payload } = parsed.packet;
  if (payload.length < OSN_BYTES) return { ok: false, reason: 'padding' };
  const headerBytes = payload.byteOffset - bytes.byteOffset;
  const originalSequence = ((payload[0] as number) << 8) | (payload[1] as number);
  const out = new Uint8Array(headerBytes + payload.length - OSN_BYTES);
  out.set(bytes.subarray(0, headerBytes), 0);
  out.set(payload.subarray(OSN_BYTES), headerBytes);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[0] = (out[0] as number) & ~PADDING_BIT;
  out[1] = ((out[1] as number) & 0x80) | (pairing.mediaPayloadType & 0x7f);
  view.setUint16(2, originalSequence);
  view.setUint32(8, pairing.mediaSsrc >>> 0);
  return { ok: true, packet: out, originalSequence };
}

/** The SSRC of an RTP packet (bytes 8..11), or null when too short to have one. */
export function rtpSsrc(bytes: Uint8Array): number | null {
  if (bytes.length < RTP_FIXED_HEADER_BYTES) return null;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8);
}

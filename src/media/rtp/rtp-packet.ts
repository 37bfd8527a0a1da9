// RTP fixed header parsing (RFC 3550 §5.1, §5.3.1; RFC 5761 §4 for RTCP sharing the port).
// Owns the bytes → RtpPacket step: version, padding, extension, CSRC list, marker, payload type,
// sequence number, timestamp, SSRC and the payload view. Malformed or truncated input yields a
// typed rejection, never an exception. It does not order packets, detect loss or look inside the
// payload (codec depacketizers do that).

export const RTP_VERSION = 2;
/** V/P/X/CC, M/PT, sequence number, timestamp, SSRC (RFC 3550 §5.1). */
export const RTP_FIXED_HEADER_BYTES = 12;
/** Profile-defined id + length in 32-bit words (RFC 3550 §5.3.1). */
const EXTENSION_HEADER_BYTES = 4;
/**
 * With rtcp-mux an RTCP packet's second byte (packet type 192–223) reads as marker + payload type
 * 64–95, which RFC 5761 §4 forbids for RTP; such packets were misrouted RTCP, not video.
 */
const RTCP_SECOND_BYTE_MIN = 192;
const RTCP_SECOND_BYTE_MAX = 223;

export interface RtpHeaderExtension {
  /** The 16-bit "defined by profile" field (0xBEDE for RFC 8285 one-byte headers). */
  readonly profile: number;
  readonly data: Uint8Array;
}

export interface RtpPacket {
  readonly padding: boolean;
  readonly extension: RtpHeaderExtension | undefined;
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  /** Unsigned 32-bit media timestamp (90 kHz clock for video). */
  readonly timestamp: number;
  readonly ssrc: number;
  readonly csrcs: readonly number[];
  /** View into the input bytes (no copy), padding removed. May be empty (padding-only packets). */
  readonly payload: Uint8Array;
}

export type RtpRejectReason =
  | 'too-short'
  | 'bad-version'
  | 'csrc-truncated'
  | 'extension-truncated'
  | 'bad-padding'
  | 'padding-too-long'
  | 'rtcp-packet';

export type RtpParseResult =
  | { readonly ok: true; readonly packet: RtpPacket }
  | { readonly ok: false; readonly reason: RtpRejectReason };

function reject(reason: RtpRejectReason): RtpParseResult {
  return { ok: false, reason };
}

/** Parses one RTP packet. Never throws; the payload is a view into `bytes`. */
export function parseRtpPacket(bytes: Uint8Array): RtpParseResult {
  if (bytes.length < RTP_FIXED_HEADER_BYTES) return reject('too-short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const b0 = view.getUint8(0);
  const b1 = view.getUint8(1);
  if (b0 >> 6 !== RTP_VERSION) return reject('bad-version');
  if (b1 >= RTCP_SECOND_BYTE_MIN && b1 <= RTCP_SECOND_BYTE_MAX) return reject('rtcp-packet');
  const padding = (b0 & 0x20) !== 0;
  const hasExtension = (b0 & 0x10) !== 0;
  const csrcCount = b0 & 0x0f;

  let offset = RTP_FIXED_HEADER_BYTES + 4 * csrcCount;
  if (offset > bytes.length) return reject('csrc-truncated');
  const csrcs: number[] = [];
  for (let i = 0; i < csrcCount; i++) csrcs.push(view.getUint32(RTP_FIXED_HEADER_BYTES + 4 * i));

  let extension: RtpHeaderExtension | undefined;
  if (hasExtension) {
    if (offset + EXTENSION_HEADER_BYTES > bytes.length) return reject('extension-truncated');
    const profile = view.getUint16(offset);
    const words = view.getUint16(offset + 2);
    const start = offset + EXTENSION_HEADER_BYTES;
    const end = start + 4 * words;
    if (end > bytes.length) return reject('extension-truncated');
    extension = { profile, data: bytes.subarray(start, end) };
    offset = end;
  }

  let end = bytes.length;
  if (padding) {
    // The last octet counts the padding, itself included, so 0 is impossible (RFC 3550 §5.1).
    const count = view.getUint8(bytes.length - 1);
    if (count === 0) return reject('bad-padding');
    if (count > bytes.length - offset) return reject('padding-too-long');
    end -= count;
  }

  return {
    ok: true,
    packet: {
      padding,
      extension,
      marker: (b1 & 0x80) !== 0,
      payloadType: b1 & 0x7f,
      sequenceNumber: view.getUint16(2),
      timestamp: view.getUint32(4),
      ssrc: view.getUint32(8),
      csrcs,
      payload: bytes.subarray(offset, end),
    },
  };
}

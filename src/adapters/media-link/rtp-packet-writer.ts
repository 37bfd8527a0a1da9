// Writes RTP packets for what this driver sends (RFC 3550 §5.1): the 12-byte fixed header — no
// padding, extension or CSRCs — followed by the payload. Owns the byte layout only; the send
// state (sequence number, timestamp, SSRC, marker policy) belongs to the sender (opus-sender.ts).
import { RTP_FIXED_HEADER_BYTES, RTP_VERSION } from '../../media/rtp/rtp-packet.ts';

export interface RtpHeaderFields {
  readonly payloadType: number;
  readonly marker: boolean;
  /** 16-bit, wrapped by the caller. */
  readonly sequenceNumber: number;
  /** 32-bit media clock, wrapped here. */
  readonly timestamp: number;
  readonly ssrc: number;
}

export function writeRtpPacket(fields: RtpHeaderFields, payload: Uint8Array): Buffer {
  const packet = Buffer.allocUnsafe(RTP_FIXED_HEADER_BYTES + payload.length);
  packet[0] = RTP_VERSION << 6;
  packet[1] = (fields.marker ? 0x80 : 0) | (fields.payloadType & 0x7f);
  packet.writeUInt16BE(fields.sequenceNumber & 0xffff, 2);
  packet.writeUInt32BE(fields.timestamp >>> 0, 4);
  packet.writeUInt32BE(fields.ssrc >>> 0, 8);
  packet.set(payload, RTP_FIXED_HEADER_BYTES);
  return packet;
}

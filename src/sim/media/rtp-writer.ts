// Outgoing RTP for the wireless-mode producer (node-datachannel sends raw packets): the 12-byte
// fixed header of RFC 3550 §5.1 (no CSRCs, no extensions), one writer per stream holding the SSRC,
// payload type, sequence counter and the random timestamp base, plus the RFC 5761 §4 test that
// tells RTCP from RTP on a muxed port. Owns serialisation only; packetizing payloads (H.264 FU-A,
// Opus) is done by the callers, and parsing received RTP reuses src/media/rtp/rtp-packet.ts.
import { randomInt } from 'node:crypto';
import { RTP_FIXED_HEADER_BYTES, RTP_VERSION } from '../../media/rtp/rtp-packet.ts';

/** RTCP packet types 192–223 land in an RTP header's marker+payload-type byte (RFC 5761 §4). */
const RTCP_TYPE_MIN = 192;
const RTCP_TYPE_MAX = 223;

export function isRtcp(packet: Uint8Array): boolean {
  const type = packet[1];
  return packet.length >= 8 && type !== undefined && type >= RTCP_TYPE_MIN && type <= RTCP_TYPE_MAX;
}

/** A random non-zero SSRC (RFC 3550 §8: chosen randomly so streams do not collide). */
export function randomSsrc(): number {
  return randomInt(1, 0xffff_ffff);
}

export interface RtpStreamConfig {
  readonly payloadType: number;
  readonly ssrc: number;
  /** RTP clock: 90 000 for video, 48 000 for Opus. */
  readonly clockRate: number;
}

export class RtpWriter {
  readonly config: RtpStreamConfig;
  #sequence: number;
  readonly #timestampBase: number;

  constructor(config: RtpStreamConfig) {
    if (!Number.isInteger(config.payloadType) || config.payloadType < 0 || config.payloadType > 127) throw new RangeError(`payload type must be 0..127, got ${config.payloadType}`);
    this.config = config;
    // Random initial sequence number and timestamp (RFC 3550 §5.1).
    this.#sequence = randomInt(0, 0x1_0000);
    this.#timestampBase = randomInt(0, 0xffff_ffff);
  }

  /** RTP timestamp of a media time (ms since the stream started), wrapped to 32 bits. */
  timestampAt(mediaTimeMs: number): number {
    return (this.#timestampBase + Math.round((mediaTimeMs * this.config.clockRate) / 1000)) >>> 0;
  }

  /** One packet with the next sequence number. */
  packet(payload: Uint8Array, timestamp: number, marker: boolean): Buffer {
    const packet = Buffer.allocUnsafe(RTP_FIXED_HEADER_BYTES + payload.length);
    packet[0] = RTP_VERSION << 6;
    packet[1] = (marker ? 0x80 : 0) | this.config.payloadType;
    packet.writeUInt16BE(this.#sequence, 2);
    packet.writeUInt32BE(timestamp >>> 0, 4);
    packet.writeUInt32BE(this.config.ssrc >>> 0, 8);
    packet.set(payload, RTP_FIXED_HEADER_BYTES);
    this.#sequence = (this.#sequence + 1) & 0xffff;
    return packet;
  }
}

// The robot's microphone as it arrives over WebRTC: Opus RTP payloads (RFC 7587) decoded with
// @evan/opus to 48 kHz stereo, down-mixed to mono, resampled to the 16 kHz ring the detectors
// read (reachy-daemon-api.md §9.3, h264-webrtc.md §3.5). Owns the decoder, the stream's SSRC and
// sequence check, and the resampler state; it does not own the ring (the link does) nor RTCP.
// Lost packets are not concealed (@evan/opus has no PLC entry point): the ring simply misses them.
import { Decoder } from '@evan/opus';
import type { PcmRingBuffer } from '../../media/detectors/pcm-ring-buffer.ts';
import { parseRtpPacket } from '../../media/rtp/rtp-packet.ts';
import { sequenceDiff } from '../../media/rtp/sequence-number.ts';
import { createLogger } from '../../logging/logger.ts';
import { createPcmResampler, type PcmResampler } from './pcm-resampler.ts';
import { OPUS_CLOCK_RATE_HZ } from './sdp-offer.ts';

/** Channels decoded: Opus over RTP is always signalled stereo (RFC 7587 §7); mono streams decode to two equal channels. */
export const OPUS_DECODE_CHANNELS = 2;
/** Full scale of the 16-bit PCM @evan/opus decodes to. */
const INT16_FULL_SCALE = 32_768;

export interface OpusReceiverOptions {
  readonly payloadType: number;
  readonly ring: PcmRingBuffer;
}

export class OpusReceiver {
  readonly #payloadType: number;
  readonly #ring: PcmRingBuffer;
  readonly #log = createLogger('media:audio-in');
  #decoder: Decoder | null = new Decoder({ channels: OPUS_DECODE_CHANNELS, sample_rate: OPUS_CLOCK_RATE_HZ });
  readonly #resampler: PcmResampler;
  #ssrc: number | undefined;
  #lastSequence: number | undefined;
  #packets = 0;
  #decodeErrors = 0;

  constructor(options: OpusReceiverOptions) {
    this.#payloadType = options.payloadType;
    this.#ring = options.ring;
    this.#resampler = createPcmResampler(OPUS_CLOCK_RATE_HZ, options.ring.sampleRateHz);
  }

  /** Opus packets decoded into the ring. */
  get packets(): number {
    return this.#packets;
  }

  get decodeErrors(): number {
    return this.#decodeErrors;
  }

  /** One RTP packet off the audio track (RTCP and other payload types are ignored). */
  push(bytes: Uint8Array): void {
    const decoder = this.#decoder;
    if (decoder === null) return;
    const parsed = parseRtpPacket(bytes);
    if (!parsed.ok || parsed.packet.payloadType !== this.#payloadType || parsed.packet.payload.length === 0) return;
    const rtp = parsed.packet;
    if (rtp.ssrc !== this.#ssrc) {
      // A new stream (first packet, or the producer restarted its encoder): start clean.
      if (this.#ssrc !== undefined) {
        decoder.reset();
        this.#resampler.reset();
      }
      this.#ssrc = rtp.ssrc;
      this.#lastSequence = undefined;
    } else if (this.#lastSequence !== undefined && sequenceDiff(rtp.sequenceNumber, this.#lastSequence) <= 0) {
      return; // duplicate or late: its time has passed
    }
    this.#lastSequence = rtp.sequenceNumber;
    let pcm: Uint8Array;
    try {
      pcm = decoder.decode(rtp.payload);
    } catch (error) {
      this.#decodeErrors++;
      this.#log.debug('opus packet not decodable', { sequence: rtp.sequenceNumber, error });
      return;
    }
    this.#packets++;
    this.#ring.push(this.#resampler.process(downmix(pcm)));
  }

  /** Stops decoding; later packets are ignored. */
  close(): void {
    this.#decoder = null;
  }
}

/** Interleaved stereo s16le bytes → mono float32 (mean of the channels). */
function downmix(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames = Math.floor(bytes.byteLength / (2 * OPUS_DECODE_CHANNELS));
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    const left = view.getInt16(4 * i, true);
    const right = view.getInt16(4 * i + 2, true);
    out[i] = (left + right) / (2 * INT16_FULL_SCALE);
  }
  return out;
}

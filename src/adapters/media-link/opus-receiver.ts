// The robot's microphone as it arrives over WebRTC: Opus RTP payloads (RFC 7587) decoded with
// @evan/opus to 48 kHz stereo, down-mixed to mono, resampled to the 16 kHz ring the detectors
// read (reachy-daemon-api.md §9.3, h264-webrtc.md §3.5). Owns the decoder, the stream's SSRC and
// sequence check, the packets not decoded yet and the resampler state; it does not own the ring
// (the link does) nor RTCP. Decoding is lazy: packets wait (at most the ring's span of them) until
// the ring is read — a stream nobody listens to costs no decoding (it was over half the driver's
// streaming CPU; issue 11). Lost packets are not concealed (@evan/opus has no PLC entry point).
import { Decoder } from '@evan/opus';
import type { PcmRingBuffer, PcmSource } from '../../media/detectors/pcm-ring-buffer.ts';
import { parseRtpPacket } from '../../media/rtp/rtp-packet.ts';
import { sequenceDiff } from '../../media/rtp/sequence-number.ts';
import { createLogger } from '../../logging/logger.ts';
import { createPcmResampler, type PcmResampler } from './pcm-resampler.ts';
import { OPUS_CLOCK_RATE_HZ } from './sdp-offer.ts';

/** Channels decoded: Opus over RTP is always signalled stereo (RFC 7587 §7); mono streams decode to two equal channels. */
export const OPUS_DECODE_CHANNELS = 2;
/** Full scale of the 16-bit PCM @evan/opus decodes to. */
const INT16_FULL_SCALE = 32_768;
/**
 * Opus frames last 2.5–60 ms; WebRTC producers send 20 ms (the daemon's webrtcsink, the emulator).
 * Packets kept undecoded: the ring's span at 10 ms per packet, so a first read after a long quiet
 * still finds the ring's worth of audio; older packets would be overwritten in the ring anyway.
 */
const MIN_PACKET_MS = 10;

interface PendingPacket {
  readonly ssrc: number;
  readonly sequence: number;
  readonly payload: Uint8Array;
}

export interface OpusReceiverOptions {
  readonly payloadType: number;
  readonly ring: PcmRingBuffer;
}

export class OpusReceiver implements PcmSource {
  readonly #payloadType: number;
  readonly #ring: PcmRingBuffer;
  readonly #log = createLogger('media:audio-in');
  #decoder: Decoder | null = new Decoder({ channels: OPUS_DECODE_CHANNELS, sample_rate: OPUS_CLOCK_RATE_HZ });
  readonly #resampler: PcmResampler;
  #ssrc: number | undefined;
  #lastSequence: number | undefined;
  /** The stream the decoder's state belongs to (undefined: fresh, or reset after dropped packets). */
  #decodingSsrc: number | undefined;
  #pending: PendingPacket[] = [];
  readonly #maxPending: number;
  #packets = 0;
  #decodeErrors = 0;

  /** Attaches itself as the ring's source: the ring's readers catch the decoding up. */
  constructor(options: OpusReceiverOptions) {
    this.#payloadType = options.payloadType;
    this.#ring = options.ring;
    this.#resampler = createPcmResampler(OPUS_CLOCK_RATE_HZ, options.ring.sampleRateHz);
    this.#maxPending = Math.ceil((options.ring.capacity * 1000) / options.ring.sampleRateHz / MIN_PACKET_MS);
    options.ring.attachSource(this);
  }

  /** Opus packets accepted (in order, of the audio payload type), decoded or waiting to be. */
  get packets(): number {
    return this.#packets;
  }

  /** Packets accepted and not decoded yet. */
  get pendingPackets(): number {
    return this.#pending.length;
  }

  get decodeErrors(): number {
    return this.#decodeErrors;
  }

  /** One RTP packet off the audio track (RTCP and other payload types are ignored); decoded when the ring is read. */
  push(bytes: Uint8Array): void {
    if (this.#decoder === null) return;
    const parsed = parseRtpPacket(bytes);
    if (!parsed.ok || parsed.packet.payloadType !== this.#payloadType || parsed.packet.payload.length === 0) return;
    const rtp = parsed.packet;
    if (rtp.ssrc !== this.#ssrc) {
      // A new stream (first packet, or the producer restarted its encoder): decoded from a clean state.
      this.#ssrc = rtp.ssrc;
      this.#lastSequence = undefined;
    } else if (this.#lastSequence !== undefined && sequenceDiff(rtp.sequenceNumber, this.#lastSequence) <= 0) {
      return; // duplicate or late: its time has passed
    }
    this.#lastSequence = rtp.sequenceNumber;
    this.#packets++;
    // A copy: the payload is a view into a buffer the transport may reuse.
    this.#pending.push({ ssrc: rtp.ssrc, sequence: rtp.sequenceNumber, payload: new Uint8Array(rtp.payload) });
    if (this.#pending.length > this.#maxPending) {
      // Older than the ring's span: dropped undecoded, the next one decoded from a clean state.
      this.#pending.splice(0, this.#pending.length - this.#maxPending);
      this.#decodingSsrc = undefined;
    }
  }

  /** Decodes every waiting packet into the ring, in arrival order (the ring calls this before a read). */
  catchUp(): void {
    const decoder = this.#decoder;
    if (decoder === null || this.#pending.length === 0) return;
    const pending = this.#pending;
    this.#pending = [];
    for (const packet of pending) {
      if (packet.ssrc !== this.#decodingSsrc) {
        decoder.reset();
        this.#resampler.reset();
        this.#decodingSsrc = packet.ssrc;
      }
      let pcm: Uint8Array;
      try {
        pcm = decoder.decode(packet.payload);
      } catch (error) {
        this.#decodeErrors++;
        this.#log.debug('opus packet not decodable', { sequence: packet.sequence, error });
        continue;
      }
      this.#ring.push(this.#resampler.process(downmix(pcm)));
    }
  }

  /** Forgets the waiting packets (the ring is cleared); the next one is decoded from a clean state. */
  discard(): void {
    this.#pending = [];
    this.#decodingSsrc = undefined;
  }

  /** Stops decoding; later packets are ignored, waiting ones dropped. */
  close(): void {
    this.#decoder = null;
    this.#pending = [];
    this.#ring.attachSource(null);
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

// Opus for the wireless-mode producer, with @evan/opus (h264-webrtc.md §3.5): the microphone side
// encodes the tone source into 20 ms 48 kHz stereo packets (in-band FEC on, a 20 % loss budget, as
// the daemon configures webrtcsink, reachy-daemon-api.md §9.1), and the speaker side decodes one
// consumer's packets to PCM for the meter. One decoder per consumer stream (Opus decoders are
// stateful). Owns codec state only: RTP framing and timing belong to the engine.
import { Decoder, Encoder } from '@evan/opus';
import type { ToneSource } from './tone-source.ts';

export const OPUS_SAMPLE_RATE = 48_000;
export const OPUS_CHANNELS = 2;
/** 20 ms packets: webrtcsink's and browsers' default Opus frame (50 packets/s). */
export const OPUS_FRAME_MS = 20;
export const OPUS_FRAME_SAMPLES = (OPUS_SAMPLE_RATE * OPUS_FRAME_MS) / 1000;
/** Loss the FEC is tuned for, in percent (the daemon's "Opus in-band FEC with 20 % loss budget"). */
export const OPUS_EXPECTED_LOSS_PERCENT = 20;

/** The microphone: reads 20 ms of the tone and returns one Opus packet. */
export class OpusToneEncoder {
  readonly #encoder: Encoder;
  readonly #source: ToneSource;

  constructor(source: ToneSource) {
    if (source.sampleRate !== OPUS_SAMPLE_RATE) throw new RangeError(`the Opus tone source must run at ${OPUS_SAMPLE_RATE} Hz, got ${source.sampleRate}`);
    this.#source = source;
    this.#encoder = new Encoder({ channels: OPUS_CHANNELS, sample_rate: OPUS_SAMPLE_RATE, application: 'audio' });
    this.#encoder.inband_fec = true;
    this.#encoder.packet_loss = OPUS_EXPECTED_LOSS_PERCENT;
  }

  next(): Uint8Array {
    return this.#encoder.encode(this.#source.read(OPUS_FRAME_SAMPLES, OPUS_CHANNELS));
  }
}

export interface DecodedPcm {
  readonly pcm: Int16Array;
  readonly channels: number;
  readonly sampleRate: number;
}

/** The speaker: one consumer's Opus packets → interleaved 48 kHz stereo PCM. */
export class OpusPcmDecoder {
  readonly #decoder = new Decoder({ channels: OPUS_CHANNELS, sample_rate: OPUS_SAMPLE_RATE });

  /** Null when the payload is not decodable Opus (the packet is dropped, as a receiver would). */
  decode(payload: Uint8Array): DecodedPcm | null {
    if (payload.length === 0) return null;
    try {
      const bytes = this.#decoder.decode(payload);
      const samples = Math.floor(bytes.byteLength / 2);
      // A view needs 2-byte alignment; copy in the (unusual) unaligned case.
      const pcm = bytes.byteOffset % 2 === 0 ? new Int16Array(bytes.buffer, bytes.byteOffset, samples) : new Int16Array(bytes.slice(0, samples * 2).buffer);
      return { pcm, channels: OPUS_CHANNELS, sampleRate: OPUS_SAMPLE_RATE };
    } catch {
      return null;
    }
  }
}

// The robot's speaker over WebRTC: mono PCM at 8–48 kHz, resampled to 48 kHz, queued (bounded),
// paced out in real time as 20 ms Opus frames (@evan/opus) in RTP packets written here
// (RFC 7587, RFC 3550; reachy-daemon-api.md §9.3 "stream Opus over the WebRTC audio track",
// h264-webrtc.md §3.5). Owns the queue, the pacing timer, the encoder and the RTP send state
// (SSRC, sequence, timestamp, marker after silence). Nothing is sent while the queue is empty.
// It does not own the track: `send` is the transport's, and stop() must run before pc.close()
// (h264-webrtc.md §5.4: a send timer racing a closing PeerConnection crashed node-datachannel).
import { randomInt } from 'node:crypto';
import { Encoder } from '@evan/opus';
import * as Result from 'effect/Result';
import { createLogger } from '../../logging/logger.ts';
import { MediaLinkClosed, MediaTransportFailed } from '../../media/media-link.ts';
import { createPcmResampler, isSupportedSampleRate, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ, type PcmResampler } from './pcm-resampler.ts';
import { writeRtpPacket } from './rtp-packet-writer.ts';
import { OPUS_CLOCK_RATE_HZ } from './sdp-offer.ts';

/**
 * Most audio waiting to be sent. 30 s holds any sentence or sound effect an agent pushes ahead of
 * playback while bounding memory (5.8 MB of float32 at 48 kHz); more means the caller is not pacing.
 */
export const AUDIO_OUT_MAX_QUEUE_MS = 30_000;
/** Opus frame length: 20 ms is WebRTC's default ptime (RFC 7587 §4.2) and what webrtcsink expects. */
export const OPUS_FRAME_MS = 20;
export const OPUS_FRAME_SAMPLES = (OPUS_CLOCK_RATE_HZ * OPUS_FRAME_MS) / 1000;
/** Pacer wake-up period: half a frame, so a frame leaves at most ~10 ms late despite timer jitter. */
export const AUDIO_PACER_TICK_MS = 10;
/**
 * Frames sent back to back when the pacer fell behind (a blocked event loop). Five (100 ms) fits
 * the robot's 300 ms jitter buffer (§9.1); a longer stall drops the lag instead of bursting.
 */
export const AUDIO_PACER_MAX_BURST = 5;
/** Opus bitrate: 64 kbit/s is transparent for speech and sound effects in one channel. */
export const OPUS_SEND_BITRATE_BPS = 64_000;
/** 'audio' (not 'voip'): the speaker plays sounds and music too, so no speech-only processing. */
export const OPUS_SEND_APPLICATION = 'audio';

const INT16_MAX = 32_767;

export interface OpusSenderOptions {
  readonly payloadType: number;
  readonly ssrc: number;
  /** 2 when the robot asked for stereo (`stereo=1`); mono input is then duplicated. */
  readonly channels: 1 | 2;
  /** Writes one RTP packet on the audio track; false when it could not be sent. */
  readonly send: (packet: Buffer) => boolean;
}

export class OpusSender {
  readonly #options: OpusSenderOptions;
  readonly #log = createLogger('media:audio-out');
  readonly #encoder: Encoder;
  readonly #pcm: Int16Array;
  /** 48 kHz chunks waiting, oldest first; `#headOffset` samples of the first are already sent. */
  #chunks: Float32Array[] = [];
  #headOffset = 0;
  #queued = 0;
  #resampler: PcmResampler | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** When the next frame is due (performance.now() ms); null between talk spurts. */
  #nextAt: number | null = null;
  /** When the last talk spurt's audio ended, to advance the RTP clock over the silence. */
  #spurtEndedAt: number | null = null;
  #sequence = randomInt(0, 0x1_0000);
  #timestamp = randomInt(0, 0x1_0000_0000);
  #packetsSent = 0;
  #stopped = false;

  constructor(options: OpusSenderOptions) {
    this.#options = options;
    this.#encoder = new Encoder({ channels: options.channels, sample_rate: OPUS_CLOCK_RATE_HZ, application: OPUS_SEND_APPLICATION });
    this.#encoder.bitrate = OPUS_SEND_BITRATE_BPS;
    this.#pcm = new Int16Array(OPUS_FRAME_SAMPLES * options.channels);
  }

  /** Samples (48 kHz) queued and not yet sent. */
  get queuedSamples(): number {
    return this.#queued;
  }

  get packetsSent(): number {
    return this.#packetsSent;
  }

  /** Queues mono PCM at `sampleRateHz`; all or nothing against AUDIO_OUT_MAX_QUEUE_MS. */
  enqueue(pcm: Float32Array, sampleRateHz: number): Result.Result<{ readonly queuedMs: number }, MediaTransportFailed | MediaLinkClosed> {
    if (this.#stopped) return Result.fail(new MediaLinkClosed({ message: 'the media link is closed' }));
    if (!isSupportedSampleRate(sampleRateHz)) {
      return Result.fail(new MediaTransportFailed({ stage: 'send', message: `sample rate must be an integer from ${MIN_SAMPLE_RATE_HZ} to ${MAX_SAMPLE_RATE_HZ} Hz, got ${sampleRateHz}` }));
    }
    const incoming = Math.ceil((pcm.length * OPUS_CLOCK_RATE_HZ) / sampleRateHz);
    const limit = (AUDIO_OUT_MAX_QUEUE_MS * OPUS_CLOCK_RATE_HZ) / 1000;
    if (this.#queued + incoming > limit) {
      return Result.fail(
        new MediaTransportFailed({
          stage: 'send',
          message: `the speaker queue would hold ${Math.round(((this.#queued + incoming) * 1000) / OPUS_CLOCK_RATE_HZ)} ms, more than ${AUDIO_OUT_MAX_QUEUE_MS} ms: wait for it to drain or clear it`,
        }),
      );
    }
    if (pcm.length === 0) return Result.succeed({ queuedMs: this.#queuedMs() });
    if (this.#resampler === null || this.#resampler.fromHz !== sampleRateHz) {
      if (this.#resampler !== null) this.#append(this.#resampler.flush());
      this.#resampler = createPcmResampler(sampleRateHz, OPUS_CLOCK_RATE_HZ);
    }
    // The resampler holds back its filter delay (none at 48 kHz input, ~3 ms at 8 kHz) until
    // more input arrives or the queue runs dry (then it is flushed), so queuedMs omits that much.
    this.#append(this.#resampler.process(pcm));
    // Measured before pacing starts, which may send the first frame at once.
    const queuedMs = this.#queuedMs();
    this.#startPacing();
    return Result.succeed({ queuedMs });
  }

  /** Drops queued audio (what is already sent plays out). */
  clear(): void {
    this.#chunks = [];
    this.#headOffset = 0;
    this.#queued = 0;
    this.#resampler?.reset();
  }

  /** Stops the pacer and drops the queue; later enqueues fail. Idempotent; call before pc.close(). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.clear();
  }

  #queuedMs(): number {
    return Math.round((this.#queued * 1000) / OPUS_CLOCK_RATE_HZ);
  }

  #append(samples: Float32Array): void {
    if (samples.length === 0) return;
    this.#chunks.push(samples);
    this.#queued += samples.length;
  }

  #startPacing(): void {
    if (this.#timer !== null || this.#stopped) return;
    this.#timer = setInterval(() => this.#tick(), AUDIO_PACER_TICK_MS);
    this.#tick();
  }

  #stopPacing(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #tick(): void {
    if (this.#stopped) return;
    const now = performance.now();
    if (this.#nextAt === null) {
      this.#nextAt = now;
      if (this.#spurtEndedAt !== null) {
        // RTP time runs on through the silence (RFC 3550 §5.1), in whole frames.
        const silentFrames = Math.max(0, Math.round((now - this.#spurtEndedAt) / OPUS_FRAME_MS));
        this.#timestamp = (this.#timestamp + silentFrames * OPUS_FRAME_SAMPLES) >>> 0;
      }
      if (!this.#sendFrame(true)) return;
      this.#nextAt += OPUS_FRAME_MS;
    }
    let burst = 0;
    while (this.#nextAt !== null && this.#nextAt <= now && burst < AUDIO_PACER_MAX_BURST) {
      if (!this.#sendFrame(false)) return;
      this.#nextAt += OPUS_FRAME_MS;
      burst++;
    }
    if (this.#nextAt !== null && now - this.#nextAt > AUDIO_PACER_MAX_BURST * OPUS_FRAME_MS) this.#nextAt = now;
  }

  /** Sends the next frame; at the end of the queue ends the talk spurt and answers false. */
  #sendFrame(first: boolean): boolean {
    if (this.#queued < OPUS_FRAME_SAMPLES && this.#resampler !== null) this.#append(this.#resampler.flush());
    if (this.#queued === 0) {
      this.#spurtEndedAt = this.#nextAt;
      this.#nextAt = null;
      this.#stopPacing();
      return false;
    }
    const frame = this.#take(OPUS_FRAME_SAMPLES);
    const channels = this.#options.channels;
    for (let i = 0; i < OPUS_FRAME_SAMPLES; i++) {
      const s = frame[i] as number;
      const clamped = s > 1 ? 1 : s < -1 ? -1 : Number.isFinite(s) ? s : 0;
      const value = Math.round(clamped * INT16_MAX);
      for (let c = 0; c < channels; c++) this.#pcm[i * channels + c] = value;
    }
    let payload: Uint8Array;
    try {
      payload = this.#encoder.encode(this.#pcm);
    } catch (error) {
      this.#log.warn('opus encode failed, frame dropped', { error });
      this.#advance();
      return true;
    }
    const packet = writeRtpPacket(
      { payloadType: this.#options.payloadType, marker: first, sequenceNumber: this.#sequence, timestamp: this.#timestamp, ssrc: this.#options.ssrc },
      payload,
    );
    if (this.#options.send(packet)) this.#packetsSent++;
    this.#advance();
    return true;
  }

  #advance(): void {
    this.#sequence = (this.#sequence + 1) & 0xffff;
    this.#timestamp = (this.#timestamp + OPUS_FRAME_SAMPLES) >>> 0;
  }

  /** The next `count` queued samples, zero-padded at the end of the queue. */
  #take(count: number): Float32Array {
    const out = new Float32Array(count);
    let filled = 0;
    while (filled < count && this.#chunks.length > 0) {
      const head = this.#chunks[0] as Float32Array;
      const n = Math.min(count - filled, head.length - this.#headOffset);
      out.set(head.subarray(this.#headOffset, this.#headOffset + n), filled);
      filled += n;
      this.#headOffset += n;
      if (this.#headOffset >= head.length) {
        this.#chunks.shift();
        this.#headOffset = 0;
      }
    }
    this.#queued = Math.max(0, this.#queued - filled);
    return out;
  }
}

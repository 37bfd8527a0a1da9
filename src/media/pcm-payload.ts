// PCM over RPC: decoding `push_audio_sample` data (base64 float32 or int16, interleaved channels)
// into mono float32, and encoding `capture_audio_sample` replies (float32 or s16le). Fixes the
// reference's bug of casting int16 to float32 without scaling (reference-driver.md §2.4, §12).
// Owns byte layout, scaling and down-mixing; not resampling (the media link does) nor transport.
import * as Result from 'effect/Result';
import { InvalidParams } from '../errors.ts';

/** int16 full scale: −32768…32767 maps to −1…≈1 (the convention of every PCM toolchain). */
export const INT16_FULL_SCALE = 32_768;

export type PushDtype = 'float32' | 'int16';
export type CaptureEncoding = 'float32' | 's16le';

const BYTES: Record<PushDtype, number> = { float32: 4, int16: 2 };
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function invalid(problem: string): InvalidParams {
  return new InvalidParams({ message: `Invalid params: data_b64 ${problem}`, issues: [{ parameter: 'data_b64', problem }] });
}

/**
 * Decodes interleaved little-endian samples to mono float32 (channels averaged). Refuses bad
 * base64, a length that is not whole frames, an empty buffer and non-finite float samples.
 */
export function decodePcm(dataB64: string, dtype: PushDtype, channels: number): Result.Result<Float32Array, InvalidParams> {
  if (!BASE64.test(dataB64) || dataB64.length % 4 !== 0) return Result.fail(invalid('must be standard base64 (A–Z, a–z, 0–9, +, /, padded with =)'));
  const bytes = Buffer.from(dataB64, 'base64');
  const frameBytes = BYTES[dtype] * channels;
  if (bytes.length === 0) return Result.fail(invalid('holds no samples'));
  if (bytes.length % frameBytes !== 0) return Result.fail(invalid(`is ${bytes.length} bytes, not a whole number of ${channels}-channel ${dtype} frames (${frameBytes} bytes each)`));
  const frames = bytes.length / frameBytes;
  const mono = new Float32Array(frames);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) {
      const offset = (f * channels + c) * BYTES[dtype];
      const sample = dtype === 'float32' ? view.getFloat32(offset, true) : view.getInt16(offset, true) / INT16_FULL_SCALE;
      if (!Number.isFinite(sample)) return Result.fail(invalid(`sample ${f * channels + c} is not a finite number`));
      sum += sample;
    }
    mono[f] = sum / channels;
  }
  return Result.succeed(mono);
}

/** Little-endian bytes of `samples` as float32, or s16le (clipped to full scale, rounded). */
export function encodePcm(samples: Float32Array, encoding: CaptureEncoding): Buffer {
  if (encoding === 'float32') {
    const out = Buffer.alloc(samples.length * 4);
    for (let i = 0; i < samples.length; i++) out.writeFloatLE(samples[i] ?? 0, i * 4);
    return out;
  }
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    const scaled = Math.round((samples[i] ?? 0) * INT16_FULL_SCALE);
    out.writeInt16LE(Math.max(-INT16_FULL_SCALE, Math.min(INT16_FULL_SCALE - 1, scaled)), i * 2);
  }
  return out;
}

/** Root mean square (0 for no samples). */
export function rms(samples: Float32Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += (samples[i] ?? 0) ** 2;
  return Math.sqrt(sum / samples.length);
}

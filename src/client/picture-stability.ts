// Whether the camera's picture has stopped changing: a tiny grey thumbnail of each capture
// (32×24, sharp) and the mean absolute difference between two of them. A move's reply says the
// head stopped; the picture the driver holds may still be one the camera took during the move
// (capture, encode, transport and decode take time, more on a loaded machine), so the panorama
// takes a frame only once two successive pictures agree. Owns only this image comparison.
import sharp from 'sharp';

/** Thumbnail size: small enough to cost ~1 ms and to average sensor noise away, large enough to see a 1° pan. */
const SIGNATURE_WIDTH = 32;
const SIGNATURE_HEIGHT = 24;
/**
 * Mean absolute grey-level difference (0–255) under which two pictures are the same view: codec
 * and sensor noise stay well below 1 on the averaged thumbnail; a 1° pan of an edge-rich view is
 * several levels.
 */
export const STABLE_PICTURE_DIFF = 2;

export async function pictureSignature(jpeg: Buffer): Promise<Uint8Array> {
  const data = await sharp(jpeg).resize(SIGNATURE_WIDTH, SIGNATURE_HEIGHT, { fit: 'fill' }).greyscale().raw().toBuffer();
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

export function signatureDistance(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length || a.length === 0) return Number.POSITIVE_INFINITY;
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

// A moving I420 test picture with regions of known value, shared by the media tests (the wrtc
// test producer, the offline H.264 decode test, the benchmark's reference): the top-left quadrant
// is bright and reddish, the bottom-right dark grey, and a bright bar sweeps the two other
// quadrants so every frame differs. `regionMean` reads a region back from a decoded picture.
// Test code only.

export const PATTERN = {
  /** Top-left quadrant. */
  brightY: 210,
  brightU: 80,
  brightV: 180,
  /** Bottom-right quadrant. */
  darkY: 40,
  /** Elsewhere, with the moving bar. */
  backgroundY: 110,
  barY: 235,
  neutralChroma: 128,
} as const;

export interface I420Picture {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** Frame `k` of the pattern (even or odd sizes; chroma planes ⌈w/2⌉×⌈h/2⌉). */
export function patternI420(width: number, height: number, k: number): Uint8Array {
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const out = new Uint8Array(width * height + 2 * cw * ch);
  const halfW = width >> 1;
  const halfH = height >> 1;
  const barWidth = Math.max(2, width >> 4);
  const barX = (k * Math.max(1, width >> 6)) % width;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let value: number;
      if (x < halfW && y < halfH) value = PATTERN.brightY;
      else if (x >= halfW && y >= halfH) value = PATTERN.darkY;
      else value = x >= barX && x < barX + barWidth ? PATTERN.barY : PATTERN.backgroundY;
      out[y * width + x] = value;
    }
  }
  const u = width * height;
  const v = u + cw * ch;
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      const inBright = x * 2 < halfW && y * 2 < halfH;
      out[u + y * cw + x] = inBright ? PATTERN.brightU : PATTERN.neutralChroma;
      out[v + y * cw + x] = inBright ? PATTERN.brightV : PATTERN.neutralChroma;
    }
  }
  return out;
}

export type Plane = 'y' | 'u' | 'v';

/**
 * Mean of a plane over the central half of a quadrant (`tl`, `br`), away from edges where
 * codecs smear: x and y from 1/8 to 3/8 of the picture (tl) or 5/8 to 7/8 (br).
 */
export function regionMean(picture: I420Picture, plane: Plane, quadrant: 'tl' | 'br'): number {
  const { width, height, data } = picture;
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const [pw, ph, offset] = plane === 'y' ? [width, height, 0] : plane === 'u' ? [cw, ch, width * height] : [cw, ch, width * height + cw * ch];
  const x0 = Math.floor((pw * (quadrant === 'tl' ? 1 : 5)) / 8);
  const y0 = Math.floor((ph * (quadrant === 'tl' ? 1 : 5)) / 8);
  const x1 = Math.floor((pw * (quadrant === 'tl' ? 3 : 7)) / 8);
  const y1 = Math.floor((ph * (quadrant === 'tl' ? 3 : 7)) / 8);
  let sum = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      sum += data[offset + y * pw + x] as number;
      n++;
    }
  }
  return sum / Math.max(1, n);
}

// Finds the emulator world scene's coloured yaw markers (src/sim/media/world-scene.ts) in RGB
// pictures — a decoded panorama or a rendered camera frame — and converts the scene's I420 frames
// to RGB, for the panorama tests. Owns only this test-side image reading.
import { MARKER_COLOURS, type MarkerColour } from '../../src/sim/media/world-scene.ts';

/** Squared RGB distance under which a pixel counts as the marker's colour (JPEG and blending shift hues a little). */
const COLOUR_MATCH_SQ = 70 * 70;

export interface RgbImage {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** How many pixels of each column match `colour` (over every row). */
export function columnMatches(image: RgbImage, colour: MarkerColour): number[] {
  const counts = new Array<number>(image.width).fill(0);
  const [r, g, b] = colour.rgb;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const i = (y * image.width + x) * 3;
      const dr = image.rgb[i]! - r;
      const dg = image.rgb[i + 1]! - g;
      const db = image.rgb[i + 2]! - b;
      if (dr * dr + dg * dg + db * db < COLOUR_MATCH_SQ) counts[x]! += 1;
    }
  }
  return counts;
}

/** Centre column (pixel centre coordinates) of the marker of `colour` between columns [from, to), or null when absent. */
export function markerColumn(image: RgbImage, colour: MarkerColour, from = 0, to = image.width): number | null {
  const counts = columnMatches(image, colour);
  let peak = 0;
  for (let x = Math.max(0, from); x < Math.min(image.width, to); x++) peak = Math.max(peak, counts[x]!);
  if (peak < 3) return null;
  let sum = 0;
  let n = 0;
  for (let x = Math.max(0, from); x < Math.min(image.width, to); x++) {
    if (counts[x]! >= peak / 2) {
      sum += x;
      n += 1;
    }
  }
  return sum / n;
}

export function colourNamed(name: string): MarkerColour {
  const colour = MARKER_COLOURS.find((c) => c.name === name);
  if (!colour) throw new Error(`no marker colour ${name}`);
  return colour;
}

/** BT.601 limited-range I420 → packed RGB. */
export function i420ToRgb(frame: Uint8Array, width: number, height: number): RgbImage {
  const rgb = new Uint8Array(width * height * 3);
  const cw = width / 2;
  const uOffset = width * height;
  const vOffset = uOffset + cw * (height / 2);
  const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = 1.164 * (frame[y * width + x]! - 16);
      const ci = (y >> 1) * cw + (x >> 1);
      const u = frame[uOffset + ci]! - 128;
      const v = frame[vOffset + ci]! - 128;
      const i = (y * width + x) * 3;
      rgb[i] = clamp(c + 1.596 * v);
      rgb[i + 1] = clamp(c - 0.392 * u - 0.813 * v);
      rgb[i + 2] = clamp(c + 2.017 * u);
    }
  }
  return { rgb, width, height };
}

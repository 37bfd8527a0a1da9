// Runs the WebAssembly SIMD conversions (i420-simd.wat) on a picture: which sides each loop takes,
// compiling the module once on first use, growing its memory to the largest picture seen (up to a
// cap), copying the planes in and the pixels out. Owns that instance and its memory; not the colour
// arithmetic's constants (i420.ts passes them) nor the JavaScript loops pictures fall back to.
// Spec: h264-webrtc.md §3.1. Why: the JavaScript half-size conversion of a 720p picture took
// 1.1–1.9 ms, this 0.33–0.38 ms with both copies (README "Where the time goes: capture and idle").
import { I420_SIMD_WASM_BASE64 } from './i420-simd-binary.ts';

/** The integer constants of the conversion (k of (k · (x − offset) + 2048) >> 12, per table). */
export interface FixedCoefficients {
  readonly y: number;
  readonly rv: number;
  readonly gu: number;
  readonly gv: number;
  readonly bu: number;
}

/** What of the WebAssembly global is used (TypeScript's Node types do not declare it; an embedder may lack it). */
interface WasmGlobal {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object) => { readonly exports: unknown };
}

/** One exported loop: sides, where the planes and the pixels are in memory, the five coefficients. */
type Loop = (w: number, h: number, input: number, output: number, ky: number, krv: number, kgu: number, kgv: number, kbu: number) => void;

interface Exports {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  readonly half: Loop;
  readonly quarter: Loop;
  readonly full: Loop;
}

/** WebAssembly pages are 64 KiB. */
const PAGE_BYTES = 65_536;
/** Output starts at the next multiple of this after the planes (16-byte SIMD stores, aligned). */
const OUTPUT_ALIGN = 16;

/**
 * Most memory the module may hold. WebAssembly memory never shrinks, so whatever the largest
 * conversion needed stays with the process: this holds a 4K camera picture (3840×2592) with its
 * half-size output (22.4 MB) and a 1080p one at full size (9.3 MB); a larger conversion (that 4K
 * picture at full size: 45 MB) goes through the JavaScript loops, whose buffers are collected.
 */
export const SIMD_MEMORY_LIMIT_BYTES = 24 * 1024 * 1024;

/** The instance, null until first use, `false` when this runtime cannot compile it (the JavaScript stays). */
let instance: Exports | null | false = null;

function exportsOf(): Exports | false {
  if (instance !== null) return instance;
  const wasm = (globalThis as { WebAssembly?: WasmGlobal }).WebAssembly;
  try {
    if (wasm === undefined) throw new Error('no WebAssembly');
    instance = new wasm.Instance(new wasm.Module(Buffer.from(I420_SIMD_WASM_BASE64, 'base64'))).exports as Exports;
  } catch {
    // No WebAssembly SIMD here (Node 24 has it; an embedder may not): the JavaScript loops convert.
    instance = false;
  }
  return instance;
}

/** The three loops: full size, half size (2×2 boxes), quarter size (4×4 boxes). */
export type SimdLoop = 'full' | 'half' | 'quarter';

/** Luma columns each loop step reads: 16 bytes, one SIMD vector per row. */
const STEP_COLUMNS = 16;
/** Rows a loop's output row is made of: the height must hold whole boxes of them. */
const BOX_ROWS: Readonly<Record<SimdLoop, number>> = { full: 1, half: 2, quarter: 4 };

/** Whether the loop `kind` takes a picture of these sides (whole steps across, whole boxes down). */
export function fitsSimd(kind: SimdLoop, width: number, height: number): boolean {
  return width > 0 && height > 0 && width % STEP_COLUMNS === 0 && height % BOX_ROWS[kind] === 0;
}

/**
 * Converts with the SIMD loop `kind` into `target` (exactly the output size); false when the loop
 * does not take these sides (fitsSimd), the module is unavailable here or the picture would take
 * more than SIMD_MEMORY_LIMIT_BYTES, so the caller converts in JavaScript. The caller checked that
 * `data` and `target` have the sizes the sides give.
 */
export function convertSimd(kind: SimdLoop, data: Uint8Array, width: number, height: number, k: FixedCoefficients, target: Buffer): boolean {
  if (!fitsSimd(kind, width, height)) return false;
  const outputAt = Math.ceil(data.length / OUTPUT_ALIGN) * OUTPUT_ALIGN;
  // Each step stores exactly its pixels (48, 24 or 12 bytes), so the output needs no margin.
  const needed = outputAt + target.length;
  if (needed > SIMD_MEMORY_LIMIT_BYTES) return false;
  const wasm = exportsOf();
  if (wasm === false) return false;
  const have = wasm.memory.buffer.byteLength;
  if (have < needed) {
    try {
      wasm.memory.grow(Math.ceil((needed - have) / PAGE_BYTES));
    } catch {
      // The engine refused the memory (RangeError): this picture goes through JavaScript.
      return false;
    }
  }
  new Uint8Array(wasm.memory.buffer, 0, data.length).set(data);
  wasm[kind](width, height, 0, outputAt, k.y, k.rv, k.gu, k.gv, k.bu);
  target.set(new Uint8Array(wasm.memory.buffer, outputAt, target.length));
  return true;
}

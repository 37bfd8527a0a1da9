// Runs the WebAssembly SIMD conversions (i420-simd.wat) on a picture: compiles the module once, on
// first use, grows its memory to the largest picture seen (up to a cap), copies the planes in and the
// pixels out. Owns that instance and its memory; not the colour arithmetic's constants (i420.ts
// passes them) nor which pictures go here (i420.ts asks the `fits…` checks). Spec: h264-webrtc.md
// §3.1. Why: the JavaScript half-size conversion of a 720p picture took 1.1–1.9 ms, this 0.33–0.38
// ms with both copies (README "Where the time goes: capture and idle").
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

/** Whether the SIMD full-size loop takes this picture (16 pixels per step; any height). */
export function fitsFull(width: number, height: number): boolean {
  return width > 0 && height > 0 && width % 16 === 0;
}

/** Whether the SIMD half-size loop takes this picture (16 luma columns per step, whole 2×2 blocks). */
export function fitsHalf(width: number, height: number): boolean {
  return width > 0 && height > 0 && width % 16 === 0 && height % 2 === 0;
}

/** Whether the SIMD quarter-size loop takes this picture (16 luma columns per step, whole 4×4 blocks). */
export function fitsQuarter(width: number, height: number): boolean {
  return width > 0 && height > 0 && width % 16 === 0 && height % 4 === 0;
}

/**
 * Converts with the SIMD loop `kind` into `target` (exactly the output size); false when the module
 * is unavailable here or the picture would take more than SIMD_MEMORY_LIMIT_BYTES, so the caller
 * converts in JavaScript. The caller checked the fit and sizes.
 */
export function convertSimd(kind: 'full' | 'half' | 'quarter', data: Uint8Array, width: number, height: number, k: FixedCoefficients, target: Buffer): boolean {
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

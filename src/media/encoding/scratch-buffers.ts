// Lends the large short-lived pixel buffers of a capture (the RGB picture sharp reads, a raw frame
// before base64) and takes them back for the next capture. Owns only the free list: not what is
// written into a buffer nor when a borrower is done (the frame encoder gives each one back once sharp
// has read it). Why (issue 11, README "Where the memory goes"): a fresh 720p half-size RGB
// buffer (691 kB) is above glibc's mmap threshold, so every capture took 169 first-touch page faults
// — 1.5 ms on the 2-core VM, more than the conversion itself (0.9 ms into memory already touched).

/** Buffers kept per size: a jpeg and a thumbnail capture can be in flight at once. */
export const SCRATCH_KEPT_PER_SIZE = 2;
/** Largest buffer kept: a 4K camera mode's half-size RGB (1920×1296×3 ≈ 7.5 MB) fits; a larger one is left to the collector. */
export const SCRATCH_MAX_KEPT_BYTES = 8 * 1024 * 1024;
/** Sizes remembered at once: a stream has one geometry (two with raw frames); a camera mode change replaces them. */
export const SCRATCH_MAX_SIZES = 4;

export interface ScratchBuffers {
  /** A buffer of exactly `bytes` bytes, contents undefined: a kept one, else a new one. */
  borrow(bytes: number): Buffer;
  /** Hands `buffer` back; the caller must not touch it afterwards. */
  giveBack(buffer: Buffer): void;
  /** Buffers waiting to be lent now (tests). */
  kept(): number;
}

export function createScratchBuffers(): ScratchBuffers {
  const free = new Map<number, Buffer[]>();
  return {
    borrow(bytes) {
      const kept = free.get(bytes)?.pop();
      return kept ?? Buffer.allocUnsafeSlow(bytes);
    },
    giveBack(buffer) {
      const bytes = buffer.length;
      if (bytes > SCRATCH_MAX_KEPT_BYTES || buffer.byteOffset !== 0 || buffer.buffer.byteLength !== bytes) return;
      let list = free.get(bytes);
      if (!list) {
        // A new geometry: forget the oldest size first (Map keeps insertion order).
        if (free.size >= SCRATCH_MAX_SIZES) free.delete(free.keys().next().value as number);
        list = [];
        free.set(bytes, list);
      }
      if (list.length < SCRATCH_KEPT_PER_SIZE && !list.includes(buffer)) list.push(buffer);
    },
    kept: () => [...free.values()].reduce((n, list) => n + list.length, 0),
  };
}

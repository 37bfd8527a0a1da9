// Bit reader over an H.264 NAL unit's payload that removes emulation-prevention bytes on the fly
// (H.264 §7.3.1 / §7.4.1: a 0x03 after two zero bytes is not data) and decodes Exp-Golomb ue(v)
// (§9.1). Owns only bit-level reading; it does not know which syntax element is being read.
// Reads past the end return undefined instead of throwing, for hostile input.

/** ue(v) values fit in 32 bits, so a code with more leading zeros than this is malformed (§9.1). */
const MAX_EXP_GOLOMB_LEADING_ZEROS = 31;

export class RbspBitReader {
  readonly #bytes: Uint8Array;
  #index: number;
  #zeros = 0;
  #current = 0;
  #bitsLeft = 0;

  /** Reads `bytes` from `start` (1 to skip a NAL header byte). */
  constructor(bytes: Uint8Array, start: number) {
    this.#bytes = bytes;
    this.#index = start;
  }

  #loadByte(): boolean {
    for (;;) {
      const byte = this.#bytes[this.#index];
      if (byte === undefined) return false;
      this.#index++;
      if (this.#zeros >= 2 && byte === 0x03) {
        this.#zeros = 0;
        continue;
      }
      this.#zeros = byte === 0 ? this.#zeros + 1 : 0;
      this.#current = byte;
      this.#bitsLeft = 8;
      return true;
    }
  }

  readBit(): number | undefined {
    if (this.#bitsLeft === 0 && !this.#loadByte()) return undefined;
    this.#bitsLeft--;
    return (this.#current >> this.#bitsLeft) & 1;
  }

  /** Unsigned `count`-bit value (count ≤ 32). */
  readBits(count: number): number | undefined {
    let value = 0;
    for (let i = 0; i < count; i++) {
      const bit = this.readBit();
      if (bit === undefined) return undefined;
      value = value * 2 + bit;
    }
    return value;
  }

  /** Exp-Golomb ue(v) (§9.1). */
  readUe(): number | undefined {
    let leadingZeros = 0;
    for (;;) {
      const bit = this.readBit();
      if (bit === undefined) return undefined;
      if (bit === 1) break;
      leadingZeros++;
      if (leadingZeros > MAX_EXP_GOLOMB_LEADING_ZEROS) return undefined;
    }
    const suffix = this.readBits(leadingZeros);
    if (suffix === undefined) return undefined;
    return 2 ** leadingZeros - 1 + suffix;
  }
}

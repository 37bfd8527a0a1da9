// The capture's scratch buffers (src/media/encoding/scratch-buffers.ts): a buffer given back is lent
// again for the same size, at most SCRATCH_KEPT_PER_SIZE per size and SCRATCH_MAX_SIZES sizes are
// kept, nothing larger than SCRATCH_MAX_KEPT_BYTES, and views into someone else's memory never.
import { describe, expect, test } from 'vitest';
import { createScratchBuffers, SCRATCH_KEPT_PER_SIZE, SCRATCH_MAX_KEPT_BYTES, SCRATCH_MAX_SIZES } from '../../../src/media/encoding/scratch-buffers.ts';

describe('scratch buffers', () => {
  test('a buffer given back is the next one lent for its size; another size gets a new one', () => {
    const scratch = createScratchBuffers();
    const first = scratch.borrow(1000);
    expect(first.length).toBe(1000);
    scratch.giveBack(first);
    expect(scratch.borrow(999)).not.toBe(first);
    expect(scratch.borrow(1000)).toBe(first);
    expect(scratch.borrow(1000)).not.toBe(first);
  });

  test('two lent at once are two buffers; at most SCRATCH_KEPT_PER_SIZE are kept, each once', () => {
    const scratch = createScratchBuffers();
    const lent = Array.from({ length: SCRATCH_KEPT_PER_SIZE + 1 }, () => scratch.borrow(64));
    expect(new Set(lent).size).toBe(lent.length);
    scratch.giveBack(lent[0] as Buffer);
    scratch.giveBack(lent[0] as Buffer);
    expect(scratch.kept()).toBe(1);
    for (const buffer of lent.slice(1)) scratch.giveBack(buffer);
    expect(scratch.kept()).toBe(SCRATCH_KEPT_PER_SIZE);
  });

  test('only SCRATCH_MAX_SIZES sizes are remembered, the oldest forgotten first', () => {
    const scratch = createScratchBuffers();
    const oldest = scratch.borrow(100);
    scratch.giveBack(oldest);
    for (let i = 1; i <= SCRATCH_MAX_SIZES; i++) scratch.giveBack(scratch.borrow(100 + i));
    expect(scratch.kept()).toBe(SCRATCH_MAX_SIZES);
    expect(scratch.borrow(100)).not.toBe(oldest);
  });

  test('too large, or a view into a larger allocation, is not kept', () => {
    const scratch = createScratchBuffers();
    scratch.giveBack(Buffer.allocUnsafeSlow(SCRATCH_MAX_KEPT_BYTES + 1));
    scratch.giveBack(Buffer.alloc(64).subarray(0, 32));
    scratch.giveBack(Buffer.from('tiny'));
    expect(scratch.kept()).toBe(0);
  });
});

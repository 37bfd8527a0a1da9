// The V8 heap policy of a process that runs the driver for hours (`run`, `app`; issue 11, README
// "Where the memory goes"): the young generation keeps the size it starts with instead of doubling
// whenever many objects survive a scavenge. On a large machine V8 lets it grow to two 64 MB
// semi-spaces, and a driver answering captures back to back got there (128 MB committed for objects
// that live a few milliseconds: RSS 158 → 327 MB over 2,000 captures); kept small, RSS levels off
// near 200 MB at the same CPU per call (bench: RPC and capture CPU within run-to-run noise). The
// growth factor is a flag V8 reads each time it would grow the space, so setting it at start takes
// effect (flags read once at heap set-up, like the semi-space sizes, do not). Owns only that choice;
// the client commands, the emulator and tests keep V8's defaults.
import { setFlagsFromString } from 'node:v8';

/**
 * V8 flags a long-running driver sets at start. `--optimize-for-size` was measured too: RSS ~165 MB
 * flat, but 13–22 % more CPU per RPC, so it is not used.
 */
export const DRIVER_V8_FLAGS: ReadonlyArray<string> = ['--semi-space-growth-factor=1'];

/** Sets DRIVER_V8_FLAGS through `setFlags` (node:v8's by default; tests pass a recorder). */
export function applyDriverHeapPolicy(setFlags: (flag: string) => void = setFlagsFromString): void {
  for (const flag of DRIVER_V8_FLAGS) setFlags(flag);
}

// The V8 heap policy of a process that runs the driver for hours (`run`, `app`; issue 11, README
// "Where the memory goes"): two flags V8 reads each time it sizes a space, so setting them at start
// takes effect — a young generation kept near its start size, and an old generation that grows by
// half its live size before a full collection (DRIVER_V8_FLAGS says why). Owns only that choice;
// the client commands, the emulator and tests keep V8's defaults.
import { setFlagsFromString } from 'node:v8';

/**
 * V8 flags a long-running driver sets at start. The young generation stays near its start size
 * (2–6 MB measured) instead of doubling whenever many objects survive a scavenge: V8 let a driver
 * answering captures back to back grow it to two 64 MB semi-spaces, 128 MB committed for objects
 * that live a few milliseconds. The old generation may grow by half its live size before a full
 * collection, not by up to 4×: with a small young generation, whatever a capture in flight holds at
 * a scavenge is promoted, and V8 let that garbage pile up to ~100 MB (RSS 217 → 250 MB from 1,000 to
 * 2,000 captures; 188 → 189 MB with the cap). 50 % growth: a full collection per ~15 MB promoted
 * (~300 captures back to back, each ~10 ms of pause and ~20 ms of incremental marking), against
 * ~60 MB of garbage kept without it. `--optimize-for-size` was measured too: RSS ~165 MB flat, but
 * 13–22 % more CPU per RPC (it also changes what V8 compiles), so it is not used.
 */
export const DRIVER_V8_FLAGS: ReadonlyArray<string> = ['--semi-space-growth-factor=1', '--heap-growing-percent=50'];

/** Sets DRIVER_V8_FLAGS through `setFlags` (node:v8's by default; tests pass a recorder). */
export function applyDriverHeapPolicy(setFlags: (flag: string) => void = setFlagsFromString): void {
  for (const flag of DRIVER_V8_FLAGS) setFlags(flag);
}

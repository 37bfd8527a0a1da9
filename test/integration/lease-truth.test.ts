// Issue 9, "Two sources of truth for the lease", pinned to core-contracts.md "Lease": with ~550 ms
// of event-loop lag across the expiry of A's lease, B's acquire_lease is processed after the expiry
// but before the lease timer fires. Whatever B is told must be true: B holds it (a lapsed lease
// counts as expired, so the trail reads lease_expired A → lease_acquired B), C is refused naming B,
// get_status shows one holder throughout, B's motion renews, and release leaves command_owner null
// with last_commander B. Transcript over a real broker, the driver in-process on its --sim emulator.
import { afterEach, expect, test } from 'vitest';
import { startOperatorScene, type OperatorScene, type Reply } from '../harness/operator-scene.ts';

/** A's lease: short, so its expiry comes during the test (the contract's minimum is 0.5 s). */
const TTL_A_S = 1;
/** The lag of the report: ~550 ms of synchronous work in the driver's process. */
const LAG_MS = 550;
/**
 * The lag starts this long before A's expiry. It runs inside a timer callback: Node then defers
 * every timer not yet due when that callback started (the lease timer among them) to the next
 * timers phase, while the poll phase in between reads B's request, queued during the lag. 250 ms
 * is far above timer jitter on a loaded box, so the lease timer cannot already be due.
 */
const LAG_LEAD_MS = 250;
/** The lag ends at least this long after A's expiry, so B's request is read after it. */
const LAG_PAST_EXPIRY_MS = 250;
/** "C's acquire 50 ms later" (the report). */
const C_DELAY_MS = 50;

const scenes: OperatorScene[] = [];
afterEach(async () => {
  while (scenes.length > 0) await scenes.pop()!.stop();
});

function busyWaitUntil(epochMs: number): void {
  while (Date.now() < epochMs) {
    // Synchronous lag: nothing else in this process (the driver included) runs meanwhile.
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits up to `timeoutMs` for `check`; never throws, so the soft assertions after it all report. */
async function settle(check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await sleep(25);
}

interface Lagged {
  readonly reply: Promise<Reply>;
  readonly lagStart: number;
  readonly lagEnd: number;
}

/** Sends B's acquire_lease, then blocks the event loop from before A's expiry to after it. */
function acquireDuringLag(scene: OperatorScene, expiresAtMs: number): Promise<Lagged> {
  return new Promise((resolve) => {
    setTimeout(async () => {
      const lagStart = Date.now();
      const reply = scene.call('acquire_lease', { owner: 'B', ttl_s: 60 });
      // nats.js writes a publish on a microtask: let the request reach the socket before the lag.
      for (let i = 0; i < 5; i++) await Promise.resolve();
      busyWaitUntil(Math.max(lagStart + LAG_MS, expiresAtMs + LAG_PAST_EXPIRY_MS));
      resolve({ reply, lagStart, lagEnd: Date.now() });
    }, expiresAtMs - LAG_LEAD_MS - Date.now());
  });
}

/** Lease records (and refusals) of the audit file after A's grant. */
function trailAfterA(scene: OperatorScene): Array<Record<string, any>> {
  const records = scene.auditFile();
  const start = records.findIndex((r) => r.kind === 'lease_acquired' && r.owner === 'A');
  return records.slice(start + 1).filter((r) => r.kind.startsWith('lease_') || r.kind === 'refused');
}

test('an acquire processed after a lagged expiry gets the truth: B holds, C is refused naming B, one holder at a time', async () => {
  const s = await startOperatorScene({ deviceId: 'lease-truth', argv: ['--sim', '--sim-time-scale', '0.05', '--no-media'] });
  scenes.push(s);

  const a = await s.call('acquire_lease', { owner: 'A', ttl_s: TTL_A_S });
  expect(a.result).toMatchObject({ status: 'held', owner: 'A' });
  const expiresAtMs = (a.result.expires_at as number) * 1000;
  expect(await s.status()).toMatchObject({ command_owner: 'A', lease_active: true });

  const lagged = await acquireDuringLag(s, expiresAtMs);
  // Preconditions of the scenario: the lag spanned A's expiry by the margins above.
  expect(lagged.lagStart, 'the lag began before A expired').toBeLessThan(expiresAtMs - LAG_LEAD_MS / 2);
  expect(lagged.lagEnd, 'the lag ended after A expired').toBeGreaterThanOrEqual(expiresAtMs + LAG_PAST_EXPIRY_MS);
  const b = await lagged.reply;

  // A lease whose expiry passed while the loop lagged counts as expired: B's acquire takes it.
  expect(b.error, 'B is granted the lapsed lease').toBeUndefined();
  expect(b.result).toMatchObject({ status: 'held', owner: 'B' });
  const bExpiresAt = b.result.expires_at as number;
  expect(bExpiresAt * 1000).toBeGreaterThan(Date.now() + 50_000);

  // What B was told is what the driver says: B is the one holder.
  const afterB = await s.status();
  expect.soft(afterB.command_owner, 'get_status right after B was told "held"').toBe('B');
  expect.soft(afterB.lease_active).toBe(true);
  expect.soft(Math.abs((afterB.lease_expires_at as number) - bExpiresAt), 'lease_expires_at is the expiry B was told').toBeLessThan(1);

  await sleep(C_DELAY_MS);
  const c = await s.call('acquire_lease', { owner: 'C', ttl_s: 60 });
  expect.soft(c.result, 'C must not be granted a lease B holds').toBeUndefined();
  expect.soft(c.error).toMatchObject({ code: -32000, data: { _tag: 'LeaseHeld', holder: 'B' } });
  const afterC = await s.status();
  expect.soft(afterC.command_owner, 'get_status after C was refused').toBe('B');

  // The trail: A's lease expired, then B acquired it, then C was refused, each with its after-state.
  await settle(() => trailAfterA(s).length >= 3);
  expect.soft(trailAfterA(s).slice(0, 3)).toMatchObject([
    { kind: 'lease_expired', owner: 'A', state: { lease_owner: null } },
    { kind: 'lease_acquired', owner: 'B', state: { lease_owner: 'B' } },
    { kind: 'refused', function: 'acquire_lease', owner: 'C', error_tag: 'LeaseHeld', state: { lease_owner: 'B' } },
  ]);

  // Motion by the holder renews its lease.
  let moved: Reply = {};
  const deadline = Date.now() + 3_000;
  do {
    moved = await s.call('antenna_pose', { left: 5, owner: 'B' });
    // A link that noticed the lag may refuse for a moment (DaemonUnavailable); that is not the lease.
    if (moved.error?.data?._tag !== 'DaemonUnavailable') break;
    await sleep(50);
  } while (Date.now() < deadline);
  expect.soft(moved.result, 'motion by the holder B').toMatchObject({ status: 'accepted' });
  await settle(() => trailAfterA(s).some((r) => r.kind === 'lease_renewed'));
  expect.soft(trailAfterA(s).find((r) => r.kind === 'lease_renewed')).toMatchObject({ owner: 'B', state: { lease_owner: 'B' } });
  const afterMotion = await s.status();
  expect.soft(afterMotion).toMatchObject({ command_owner: 'B', last_commander: 'B', lease_active: true });

  // Release: nobody holds the lease; B stays the last commander.
  const released = await s.call('release_lease', { owner: 'B' });
  expect.soft(released.result, 'release by the holder B').toMatchObject({ status: 'released' });
  const afterRelease = await s.status();
  expect.soft(afterRelease).toMatchObject({ command_owner: null, last_commander: 'B', lease_active: false });
  await settle(() => trailAfterA(s).at(-1)?.kind === 'lease_released');
  expect.soft(trailAfterA(s).at(-1)).toMatchObject({ kind: 'lease_released', owner: 'B', state: { lease_owner: null } });
  // Every lease record names one owner at most: nobody ever held it next to somebody else.
  const kinds = trailAfterA(s).map((r) => `${r.kind}:${r.owner}`);
  expect.soft(kinds.filter((k) => k === 'lease_acquired:C'), 'C never acquired').toEqual([]);
});

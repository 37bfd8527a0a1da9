// The `get_status` answer kept between calls while nothing it is derived from has changed (issue 11,
// "no per-request work that can be done once"): the same children's snapshots, the same root
// observations and the same lease holder give the same frozen `driver_state` with its JSON encoded
// once; the daemon block is rebuilt only for its age. A status with approvals pending (their time
// left moves) is never kept. Owns only that memo. Not the status's fields: `daemonHead` (aged per
// call by `daemonBlockAged`) and `driverStateBlock` (driver-policy.ts) build them on a miss, from
// the same snapshots. §4 of the reference driver; README "Where the time goes: RPC".
import { presetResultJson } from '../protocol/result-json.ts';
import type { MediaPolicyState } from '../safety/media-policy.ts';
import type { SafetyPolicy } from '../safety/safety-policy.ts';
import { daemonBlockAged, daemonHead, driverStateBlock, noDaemonBlock, type AudioSwitches, type DaemonHead, type DriverChildren, type GateView, type Observations } from './driver-policy.ts';
import { liveHolder } from './lease.machine.ts';

/** What the status is derived from: the root's context (its children and its own observations). */
export interface StatusSources extends Observations {
  readonly children: DriverChildren;
  readonly audio: AudioSwitches;
  readonly policy: SafetyPolicy;
  readonly mediaPolicy: MediaPolicyState;
}

interface StateMemo {
  readonly inputs: ReadonlyArray<unknown>;
  readonly block: Readonly<Record<string, unknown>>;
  readonly json: string;
}

type DaemonMemo =
  /** No status arrived yet: the whole block (it has no age) and its JSON. */
  | { readonly status: null; readonly connection: unknown; readonly block: Readonly<Record<string, unknown>>; readonly json: string }
  /** The block without `age_s`, and its JSON without the closing brace (the age follows). */
  | { readonly status: NonNullable<Observations['daemonStatus']>; readonly connection: unknown; readonly head: DaemonHead; readonly json: string };

interface Memos {
  state?: StateMemo;
  daemon?: DaemonMemo;
}

/** One memo per root (its children object lives as long as the root). */
const memos = new WeakMap<DriverChildren, Memos>();

/** Every child's snapshot read once per call (the daemon block and driver_state share the connection's). */
type SnapshotOf<T> = T extends { getSnapshot(): infer S } ? S : null;
type Snapshots = { readonly [K in keyof DriverChildren]: SnapshotOf<DriverChildren[K]> };

/** Everything `driver_state` is derived from, in a fixed order; the lease holder stands for the time. */
function stateInputs(sources: StatusSources, s: Snapshots, holder: string | null): unknown[] {
  return [s.connection, s.power, s.interlock, s.lease, s.motion, s.mesh, s.media, s.approvals, s.deadman, sources.audio, sources.startedAt, sources.policy, sources.mediaPolicy, sources.pose, sources.detectors, holder];
}

function sameInputs(a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>): boolean {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return a.length === b.length;
}

function stateBlock(memo: Memos, sources: StatusSources, s: Snapshots, view: () => GateView): { block: Record<string, unknown>; json: string } {
  if (s.approvals.context.pending.length > 0) {
    const block = driverStateBlock(view(), sources);
    return { block, json: JSON.stringify(block) };
  }
  const inputs = stateInputs(sources, s, liveHolder(s.lease.context));
  if (memo.state && sameInputs(memo.state.inputs, inputs)) return memo.state;
  const block = Object.freeze(driverStateBlock(view(), sources));
  memo.state = { inputs, block, json: JSON.stringify(block) };
  return memo.state;
}

function daemonPart(memo: Memos, sources: StatusSources, connection: unknown, view: () => GateView, nowMs: number): { block: Record<string, unknown>; json: string } {
  let m = memo.daemon;
  if (!m || m.status !== sources.daemonStatus || m.connection !== connection) {
    const status = sources.daemonStatus;
    if (status === null) {
      const block = Object.freeze(noDaemonBlock(view().connection));
      m = memo.daemon = { status, connection, block, json: JSON.stringify(block) };
    } else {
      const head = Object.freeze(daemonHead(view().connection, status));
      m = memo.daemon = { status, connection, head, json: JSON.stringify(head).slice(0, -1) };
    }
  }
  if (m.status === null) return { block: m.block, json: m.json };
  // `age_s` is the block's last field: its JSON closes the head's.
  const age = (nowMs - m.status.at) / 1000;
  // JSON writes a finite number as String() does (without JSON.stringify's machinery per call).
  return { block: daemonBlockAged(m.head, age), json: `${m.json},"age_s":${Number.isFinite(age) ? String(age) : 'null'}}` };
}

/** Reads every child's snapshot, once. */
function snapshotsOf(c: DriverChildren): Snapshots {
  return {
    connection: c.connection.getSnapshot(),
    power: c.power.getSnapshot(),
    interlock: c.interlock.getSnapshot(),
    lease: c.lease.getSnapshot(),
    motion: c.motion.getSnapshot(),
    approvals: c.approvals.getSnapshot(),
    deadman: c.deadman.getSnapshot(),
    mesh: c.mesh.getSnapshot(),
    media: c.media?.getSnapshot() ?? null,
  };
}

/**
 * The `get_status` result at `nowMs`: the same fields and the same JSON as building it afresh
 * (`statusResult`), with what did not change reused. `view` reads the children (only on a miss).
 */
export function memoisedStatus(sources: StatusSources, view: () => GateView, nowMs: number): Record<string, unknown> {
  let memo = memos.get(sources.children);
  if (!memo) memos.set(sources.children, (memo = {}));
  let seen: GateView | undefined;
  const once = () => (seen ??= view());
  const snapshots = snapshotsOf(sources.children);
  const daemon = daemonPart(memo, sources, snapshots.connection, once, nowMs);
  const state = stateBlock(memo, sources, snapshots, once);
  const result = { daemon: daemon.block, driver_state: state.block };
  presetResultJson(result, `{"daemon":${daemon.json},"driver_state":${state.json}}`);
  return result;
}

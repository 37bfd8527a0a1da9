// The daemon adapters of one target (HTTP client, /ws/sdk, move updates) as one bundle, and what
// their pushes tell the root driver machine: daemon status (→ interlock and power), move updates
// (→ motion and power), the throttled pose mirror. Owns opening, wiring and closing a bundle; it
// decides nothing (the machines do) and keeps no robot state (the adapters' caches are the
// observations). `retarget` swaps a whole bundle. reachy-daemon-api.md §1–§2.
import type { DaemonAuth } from '../adapters/daemon-auth.ts';
import { DaemonHttpClient } from '../adapters/daemon-http.ts';
import type { DaemonTransport } from '../adapters/daemon-transport.ts';
import { DaemonMoveUpdates } from '../adapters/daemon-move-updates.ts';
import { DaemonSdkSocket } from '../adapters/daemon-sdk-socket.ts';
import type { DaemonStatus } from '../adapters/daemon-wire.ts';
import type { ReportEvent } from '../machines/driver.machine.ts';
import type { MotorMode } from '../machines/power.machine.ts';
import { radToDeg } from '../robot/pose-math.ts';

/**
 * `driver_state.current_pose` refresh: 10 Hz is plenty for status readers; 50 Hz would only churn.
 * At idle (no command for 2 s) /ws/sdk is read in batches, so a robot moved by someone else is
 * mirrored once per batch (RELAXED_READ_INTERVAL_MS), with the batch's newest joints.
 */
export const POSE_MIRROR_INTERVAL_MS = 100;
/**
 * While the joints do not move, the mirror is refreshed only this often: each refresh is a root
 * machine event (a snapshot and its listeners), ten a second for a robot standing still. One a
 * second keeps `current_pose.read_at` at most about a second old when nothing changed.
 */
export const POSE_MIRROR_STILL_REFRESH_MS = 1_000;

/** Same joint readings (exact: the daemon re-sends the same floats while the robot stands still). */
function sameReadings(a: readonly number[] | null, b: readonly number[]): boolean {
  if (a === null || a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export type TransportMode = 'auto' | 'websocket' | 'http';

/**
 * Sockets of the stop lane: after a stalled daemon resumes, every queued goto starts at once and
 * each needs its own stop (plus the sweep's listing); with fewer sockets the last stops would queue
 * behind the first ones for a whole round trip each. Stops are tiny; 16 covers any realistic burst.
 */
export const STOP_LANE_CONNECTIONS = 16;
/**
 * Sockets of the media lane: camera release/acquire, media status and sound uploads (up to 25 MiB,
 * 60 s) each hold one while the daemon works; on their own two, a slow media route never makes a
 * goto wait for a connection (it took 4.3 s behind four slow releases) — two let a sound upload and
 * a status read run together.
 */
export const MEDIA_LANE_CONNECTIONS = 2;

export interface DaemonLink {
  readonly baseUrl: string;
  readonly http: DaemonHttpClient;
  /**
   * The stop lane: its own connections, so a stop never waits behind motion requests a stalled
   * daemon is holding (each holds a connection until its deadline).
   */
  readonly stops: DaemonHttpClient;
  /** The media lane: media and sound calls on their own connections (MEDIA_LANE_CONNECTIONS). */
  readonly media: DaemonHttpClient;
  /** Absent in `http` transport mode. */
  readonly sdk: DaemonSdkSocket | undefined;
  readonly moves: DaemonMoveUpdates;
  readonly unsubscribe: Array<() => void>;
}

/**
 * Opens the adapters for `baseUrl`; `daemonTransport` replaces TCP (the fault simulation's in-memory
 * link). `requestTimeoutMs`: the HTTP lanes' default deadline (default daemon-http
 * DEFAULT_REQUEST_TIMEOUT_MS); tests shorten it.
 */
export function openDaemonLink(baseUrl: string, transportMode: TransportMode, daemonTransport?: DaemonTransport, daemonAuth?: DaemonAuth, requestTimeoutMs?: number): DaemonLink {
  const transport = { ...(daemonTransport ? { transport: daemonTransport } : {}), ...(daemonAuth ? { auth: daemonAuth } : {}) };
  const lane = { baseUrl, ...transport, ...(requestTimeoutMs !== undefined ? { requestTimeoutMs } : {}) };
  return {
    baseUrl,
    http: new DaemonHttpClient(lane),
    stops: new DaemonHttpClient({ ...lane, connections: STOP_LANE_CONNECTIONS }),
    media: new DaemonHttpClient({ ...lane, connections: MEDIA_LANE_CONNECTIONS }),
    sdk: transportMode !== 'http' ? new DaemonSdkSocket({ baseUrl, ...transport }) : undefined,
    moves: new DaemonMoveUpdates({ baseUrl, ...transport }),
    unsubscribe: [],
  };
}

export async function closeDaemonLink(link: DaemonLink): Promise<void> {
  for (const u of link.unsubscribe) u();
  await Promise.all([link.sdk?.close(), link.moves.close(), link.http.close(), link.stops.close(), link.media.close()]);
}

function isMotorMode(value: unknown): value is MotorMode {
  return value === 'enabled' || value === 'disabled' || value === 'gravity_compensation';
}

/** A daemon status (HTTP or pushed) as the root's report. */
export function statusReport(status: DaemonStatus): Extract<ReportEvent, { type: 'daemon.status' }> {
  const mode = status.backend_status?.motor_control_mode;
  return { type: 'daemon.status', status, daemonState: status.state, error: status.error ?? null, motorMode: isMotorMode(mode) ? mode : null, at: Date.now() };
}

/** Wires the link's pushes to the root: joint stream → pose mirror, move updates → motion and power. */
export function wireDaemonLink(link: DaemonLink, toRoot: (event: ReportEvent) => void): void {
  let lastPoseAt = 0;
  let lastHead: readonly number[] | null = null;
  let lastAntennas: readonly number[] | null = null;
  if (link.sdk) {
    link.unsubscribe.push(
      link.sdk.on('joint_positions', (push) => {
        const t = Date.now();
        const since = t - lastPoseAt;
        if (since < POSE_MIRROR_INTERVAL_MS) return;
        const still = sameReadings(lastHead, push.head_joint_positions) && sameReadings(lastAntennas, push.antennas_joint_positions);
        if (still && since < POSE_MIRROR_STILL_REFRESH_MS) return;
        lastPoseAt = t;
        lastHead = push.head_joint_positions;
        lastAntennas = push.antennas_joint_positions;
        const [right, left] = push.antennas_joint_positions;
        toRoot({
          type: 'pose.update',
          pose: { head_joints_deg: push.head_joint_positions.map(radToDeg), antennas_deg: [radToDeg(left ?? 0), radToDeg(right ?? 0)], body_yaw_deg: radToDeg(push.head_joint_positions[0] ?? 0), read_at: new Date(t).toISOString() },
        });
      }),
    );
  }
  link.unsubscribe.push(
    link.moves.on('move', (update) => {
      const kind = update.type === 'move_started' ? 'started' : update.type === 'move_completed' ? 'completed' : update.type === 'move_failed' ? 'failed' : 'cancelled';
      toRoot({ type: 'daemon.move_update', uuid: update.uuid, update: kind, details: update.details });
    }),
  );
}

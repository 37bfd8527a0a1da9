// The pose mirror (src/actors/daemon-link.ts wireDaemonLink): the daemon's 50 Hz joint stream
// becomes at most one `pose.update` per POSE_MIRROR_INTERVAL_MS while the joints move, and one per
// POSE_MIRROR_STILL_REFRESH_MS while they repeat the same readings (issue 11, idle CPU).
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { type DaemonLink, POSE_MIRROR_INTERVAL_MS, POSE_MIRROR_STILL_REFRESH_MS, wireDaemonLink } from '../../src/actors/daemon-link.ts';
import { Listeners } from '../../src/adapters/daemon-reconnecting-socket.ts';
import type { SdkSocketEvents } from '../../src/adapters/daemon-sdk-socket.ts';
import { createLogger } from '../../src/logging/logger.ts';
import type { ReportEvent } from '../../src/machines/driver.machine.ts';

const TICK_MS = 20;

function linkWithSdk(): { link: DaemonLink; sdk: Listeners<SdkSocketEvents> } {
  const sdk = new Listeners<SdkSocketEvents>(createLogger('test'));
  const moves = new Listeners<{ move: () => void }>(createLogger('test'));
  return { link: { sdk, moves, unsubscribe: [] } as unknown as DaemonLink, sdk };
}

describe('pose mirror', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  function run(positions: (tick: number) => number[], ms: number): ReportEvent[] {
    const { link, sdk } = linkWithSdk();
    const reports: ReportEvent[] = [];
    wireDaemonLink(link, (event) => reports.push(event));
    for (let tick = 0; tick * TICK_MS < ms; tick++) {
      sdk.emit('joint_positions', { type: 'joint_positions', head_joint_positions: positions(tick), antennas_joint_positions: [0.1, -0.1] });
      vi.advanceTimersByTime(TICK_MS);
    }
    return reports.filter((event) => event.type === 'pose.update');
  }

  test('a moving robot is mirrored every POSE_MIRROR_INTERVAL_MS', () => {
    const updates = run((tick) => [tick * 0.001, 0, 0, 0, 0, 0, 0], 2_000);
    expect(updates.length).toBe(2_000 / POSE_MIRROR_INTERVAL_MS);
  });

  test('a robot standing still is mirrored once per POSE_MIRROR_STILL_REFRESH_MS, with its reading', () => {
    const updates = run(() => [0.5, 0, 0, 0, 0, 0, 0], 3_000);
    expect(updates.length).toBe(3_000 / POSE_MIRROR_STILL_REFRESH_MS);
    const pose = (updates[0] as Extract<ReportEvent, { type: 'pose.update' }>).pose;
    expect((pose['head_joints_deg'] as number[])[0]).toBeCloseTo((0.5 * 180) / Math.PI, 6);
  });

  test('the first change after standing still is mirrored at once', () => {
    // Still for 500 ms (one update at the start), then a change at tick 25.
    const updates = run((tick) => [tick < 25 ? 0 : 0.2, 0, 0, 0, 0, 0, 0], 520);
    expect(updates.length).toBe(2);
  });
});

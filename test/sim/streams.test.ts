// The other WebSockets as transcripts (reachy-daemon-api.md §1.1, §1.2; fixtures/daemon/ws1.txt):
// `/api/state/ws/full` pushes FullState at `frequency` (41 frames in 2 s at 20 Hz on the real
// daemon), `/api/move/ws/set_target` answers only errors, and unknown socket paths are refused.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { GET_SAMPLES } from './daemon-fixtures.ts';
import { shapeOf } from './json-shape.ts';
import { eventually, refusedStatus, sleep, WsProbe } from './protocol-client.ts';
import { EMULATOR_TIME_SCALE } from '../harness/emulator-probes.ts';

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ timeScale: EMULATOR_TIME_SCALE });
});
afterAll(async () => {
  await emulator.close();
});

const fullSample = (path: string): unknown => JSON.parse(GET_SAMPLES.find((s) => s.path === path)?.body ?? 'null');

describe('/api/state/ws/full', () => {
  test('frequency=20 → ~20 FullState frames per second, control_mode always on', async () => {
    const stream = await WsProbe.open(`${emulator.wsUrl}/api/state/ws/full?frequency=20`);
    try {
      await stream.next();
      const start = performance.now();
      await sleep(1000);
      const frames = stream.log.filter((entry) => entry.at >= start);
      expect(frames.length).toBeGreaterThanOrEqual(17);
      expect(frames.length).toBeLessThanOrEqual(21);
      expect(shapeOf(frames[0]?.frame)).toEqual(shapeOf(fullSample('/api/state/full')));
    } finally {
      await stream.close();
    }
  });

  test('flags work as on /full (head joints, pose matrix)', async () => {
    const stream = await WsProbe.open(`${emulator.wsUrl}/api/state/ws/full?with_head_joints=true&use_pose_matrix=true&frequency=50`);
    try {
      const frame = await stream.next();
      expect(shapeOf(frame)).toEqual(shapeOf({ ...(fullSample('/api/state/full?use_pose_matrix=true') as object), head_joints: [0, 0, 0, 0, 0, 0, 0] }));
    } finally {
      await stream.close();
    }
  });

  test('an invalid query parameter refuses the handshake (403)', async () => {
    expect(await refusedStatus(`${emulator.wsUrl}/api/state/ws/full?frequency=fast`)).toBe(403);
    expect(await refusedStatus(`${emulator.wsUrl}/api/state/ws/full?with_head_joints=maybe`)).toBe(403);
  });
});

describe('/api/move/ws/set_target', () => {
  test('not JSON → pydantic json_invalid text; 3 antennas → too_long text; valid → silent and applied', async () => {
    const socket = await WsProbe.open(`${emulator.wsUrl}/api/move/ws/set_target`);
    try {
      socket.send('not json');
      const invalid = await socket.next();
      expect(invalid.status).toBe('error');
      expect(String(invalid.detail)).toMatch(/^1 validation error for FullBodyTarget\n {2}Invalid JSON: .* \[type=json_invalid, input_value='not json', input_type=str\]\n {4}For further information visit https:\/\/errors\.pydantic\.dev\/2\.13\/v\/json_invalid$/);

      socket.send({ target_antennas: [1, 2, 3] });
      expect(await socket.next()).toEqual({
        status: 'error',
        detail: '1 validation error for FullBodyTarget\ntarget_antennas\n  Tuple should have at most 2 items after validation, not 3 [type=too_long, input_value=[1, 2, 3], input_type=list]\n    For further information visit https://errors.pydantic.dev/2.13/v/too_long',
      });

      socket.send({ target_antennas: [0.4, -0.4] });
      await eventually(() => emulator.snapshot().antennas[0] === 0.4);
      await sleep(50);
      expect(socket.log).toHaveLength(2);
    } finally {
      await socket.close();
    }
  });
});

test('an unknown WebSocket path is refused with 403', async () => {
  expect(await refusedStatus(`${emulator.wsUrl}/ws/nope`)).toBe(403);
});

// The emulator's recorded-move and volume routes against the real daemon's captured replies
// (fixtures/daemon/recorded.txt; reachy-daemon-api.md §1.2, §1.6): local datasets listed, a move
// played as a tracked REST move (uuid, /api/move/running, move events, the motion record), the
// daemon's 404 text for an unknown move, a plain 500 for a dataset it cannot fetch (no hub), and
// the volume routes with and without volume control on the host.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { eventually, get, post } from './protocol-client.ts';
import { EMULATOR_TIME_SCALE } from '../harness/emulator-probes.ts';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ timeScale: EMULATOR_TIME_SCALE });
});
afterAll(async () => {
  await emulator.close();
});

describe('recorded moves (recorded.txt)', () => {
  test('GET list of the local dataset: ["wiggle"]', async () => {
    const reply = await get(emulator.url, '/api/move/recorded-move-datasets/list/local-test/moves');
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual(['wiggle']);
  });

  test('POST play: a uuid, listed as running, then completed in the motion record', async () => {
    const reply = await post(emulator.url, '/api/move/play/recorded-move-dataset/local-test/moves/wiggle');
    expect(reply.status).toBe(200);
    const uuid = (reply.json as { uuid: string }).uuid;
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect((await get(emulator.url, '/api/move/running')).json).toEqual([{ uuid }]);
    await eventually(() => emulator.motionRecord.moves.find((m) => m.uuid === uuid)?.outcome === 'completed', 5_000);
    expect(emulator.motionRecord.moves.find((m) => m.uuid === uuid)).toMatchObject({ kind: 'recorded', via: 'rest' });
  });

  test('unknown move: 404 with the daemon\'s words; unknown dataset (no hub): plain 500', async () => {
    const missing = await post(emulator.url, '/api/move/play/recorded-move-dataset/local-test/moves/nope');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ detail: 'Move nope not found in recorded moves library local-test/moves' });
    const offline = await get(emulator.url, '/api/move/recorded-move-datasets/list/someone/elsewhere');
    expect(offline.status).toBe(500);
    expect(offline.text).toBe('Internal Server Error');
    expect((await post(emulator.url, '/api/move/play/recorded-move-dataset/someone/elsewhere/x')).status).toBe(500);
  });
});

describe('volume (§1.6)', () => {
  test('no volume control on the no-media host (as observed): plain 500; with it: {volume, platform, device}, 422 outside 0..100', async () => {
    expect((await get(emulator.url, '/api/volume/current')).status).toBe(500);
    emulator.volume.available = true;
    try {
      expect((await get(emulator.url, '/api/volume/current')).json).toEqual({ volume: 50, platform: 'Linux', device: 'reachymini_audio_sink' });
      expect((await post(emulator.url, '/api/volume/microphone/set', { volume: 20 })).json).toMatchObject({ volume: 20 });
      expect((await get(emulator.url, '/api/volume/microphone/current')).json).toMatchObject({ volume: 20 });
      expect((await post(emulator.url, '/api/volume/set', { volume: 101 })).status).toBe(422);
      expect((await post(emulator.url, '/api/volume/set', { volume: 70 })).json).toMatchObject({ volume: 70 });
      expect(emulator.snapshot().playedSounds).toContain('impatient1.wav');
    } finally {
      emulator.volume.available = false;
    }
  });
});

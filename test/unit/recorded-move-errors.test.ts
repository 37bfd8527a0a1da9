// The daemon's refusals of the recorded-move and volume routes as the caller's typed errors
// (src/actors/recorded-move-errors.ts; reachy-daemon-api.md §1.2: 404 unknown dataset/move, 500 no
// hub; §1.6: 500 no volume control): CommandRejected with the daemon's words, Unsupported naming
// the hub and the alternative, an unreachable daemon still DaemonUnavailable. Only the mapping: no
// HTTP, the daemon errors are built by hand (src/adapters/daemon-errors.ts).
import { describe, expect, test } from 'vitest';
import { DaemonRejected, DaemonServerError, DaemonUnreachable } from '../../src/adapters/daemon-errors.ts';
import { recordedMoveFailure, volumeFailure } from '../../src/actors/recorded-move-errors.ts';

const DATASET = 'pollen-robotics/reachy-mini-emotions-library';
const rejected = new DaemonRejected({ message: '404', status: 404, method: 'POST', route: '/api/move/play/x', detail: 'Move nope not found in recorded moves library x' });
const serverError = new DaemonServerError({ message: '500', status: 500, method: 'GET', route: '/api/move/list', bodyExcerpt: 'Internal Server Error' });

describe('recordedMoveFailure', () => {
  test('404 → CommandRejected with the daemon\'s words', () => {
    const e = recordedMoveFailure(rejected, 'play_move', DATASET, 'connected');
    expect(e._tag).toBe('CommandRejected');
    expect(e.message).toContain('Move nope not found in recorded moves library x');
  });
  test('500 → Unsupported naming the hub and the alternative', () => {
    const e = recordedMoveFailure(serverError, 'list_moves', DATASET, 'connected');
    expect(e).toMatchObject({ _tag: 'Unsupported', function: 'list_moves' });
    expect(e.message).toContain('hub');
    expect(e.message).toContain('play_expression');
  });
  test('a daemon that is not there stays DaemonUnavailable', () => {
    const e = recordedMoveFailure(new DaemonUnreachable({ message: 'refused', url: 'http://x', code: 'ECONNREFUSED' }), 'list_moves', DATASET, 'connecting');
    expect(e._tag).toBe('DaemonUnavailable');
  });
});

describe('volumeFailure', () => {
  test('500 → Unsupported; 404 (an old daemon without the route) → CommandRejected', () => {
    expect(volumeFailure(serverError, 'get_volume', 'connected')).toMatchObject({ _tag: 'Unsupported', function: 'get_volume' });
    expect(volumeFailure(rejected, 'set_volume', 'connected')._tag).toBe('CommandRejected');
  });
});

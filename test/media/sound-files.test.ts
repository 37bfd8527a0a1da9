// The sound file resolver of play_audio_file (src/adapters/sound-files.ts) on a real temporary tree:
// every refusal reason, the accepted spellings (plain name, relative path, absolute path inside,
// absolute path through a symlinked directory), the bounded read and the listing. "Nothing is
// read" is proven with FIFOs: opening one for reading blocks until a writer appears, so a resolver
// that opened a refused FIFO would hang; a guard unblocks it (and fails the test) after 3 s.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Result } from 'effect';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  listSoundFiles, MAX_SOUND_FILE_BYTES, readSoundFile, resolveSoundFile, SOUND_FILE_EXTENSIONS, SoundFileRefused,
  type ResolvedSound, type SoundFileRefusal,
} from '../../src/adapters/sound-files.ts';
import { wavFile } from '../harness/wav-file.ts';

/** A 44-byte WAV header and `samples` bytes of silence. */
const wav = (samples: number): Buffer => wavFile(Buffer.alloc(samples, 0x80));

let root: string;
let sounds: string;
let outside: string;
const BEEP = wav(1000);

beforeAll(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), 'sound-files-')));
  sounds = join(root, 'sounds');
  outside = join(root, 'outside');
  await mkdir(join(sounds, 'set'), { recursive: true });
  await mkdir(join(sounds, '%2e%2e'));
  await mkdir(join(sounds, 'dir.wav'));
  await mkdir(outside);
  await writeFile(join(sounds, 'beep.wav'), BEEP);
  await writeFile(join(sounds, 'loud.WAV'), wav(10));
  await writeFile(join(sounds, 'set', 'chime.ogg'), Buffer.from('OggS....'));
  await writeFile(join(sounds, '%2e%2e', 'x.wav'), wav(4));
  await writeFile(join(sounds, '.hidden.wav'), wav(4));
  await writeFile(join(sounds, '.env'), 'SECRET=1');
  await writeFile(join(sounds, 'notes.txt'), 'text');
  await writeFile(join(sounds, 'noext'), 'text');
  await writeFile(join(outside, 'secret.wav'), wav(4));
  await writeFile(join(root, 'x.wav'), wav(4));
  // Sparse: the size is over the cap without writing 25 MiB.
  await writeFile(join(sounds, 'big.wav'), '');
  await truncate(join(sounds, 'big.wav'), MAX_SOUND_FILE_BYTES + 1);
  await symlink(join(outside, 'secret.wav'), join(sounds, 'escape.wav'));
  await symlink(join(outside), join(sounds, 'outdir'));
  await symlink('beep.wav', join(sounds, 'alias.wav'));
  await symlink('.env', join(sounds, 'env.wav'));
  await symlink('loop-b.wav', join(sounds, 'loop-a.wav'));
  await symlink('loop-a.wav', join(sounds, 'loop-b.wav'));
  await symlink(sounds, join(root, 'sounds-link'));
  // FIFOs: opened for reading, each would block the opener until a writer shows up.
  execFileSync('mkfifo', [join(sounds, 'pipe.wav'), join(sounds, 'pipe.txt'), join(sounds, '.pipe.wav'), join(outside, 'fifo.wav')]);
  await symlink(join(outside, 'fifo.wav'), join(sounds, 'fifo-escape.wav'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function accepted(requested: string, dir = sounds): Promise<ResolvedSound> {
  const result = await resolveSoundFile(dir, requested);
  if (Result.isFailure(result)) throw new Error(`expected ${requested} to be accepted, got ${result.failure.reason}: ${result.failure.message}`);
  return result.success;
}

async function refused(requested: string, dir = sounds): Promise<SoundFileRefused> {
  const result = await resolveSoundFile(dir, requested);
  if (Result.isSuccess(result)) throw new Error(`expected ${JSON.stringify(requested)} to be refused, got ${result.success.path}`);
  return result.failure;
}

/**
 * Runs `work`, which must settle while no writer exists on `fifo` (a reader blocked in open(2)
 * would hang it); if it has not after 3 s, opens the FIFO for writing to unblock it and fails with
 * "`fifo` `blockedMessage`".
 */
async function settlesUnblocked<T>(fifo: string, work: Promise<T>, blockedMessage: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const blocked = new Promise<'blocked'>((resolve) => {
    timer = setTimeout(() => resolve('blocked'), 3_000);
  });
  const winner = await Promise.race([work, blocked]);
  clearTimeout(timer);
  if (winner === 'blocked') {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    await work.catch(() => undefined);
    throw new Error(`${fifo} ${blockedMessage}`);
  }
  return winner;
}

/**
 * Runs `work` and proves it never opened `fifo`: it must settle while no writer exists, and
 * afterwards no reader may hold the FIFO open (a non-blocking open for writing fails with ENXIO
 * exactly when there is none).
 */
async function withoutOpening<T>(fifo: string, work: Promise<T>): Promise<T> {
  const result = await settlesUnblocked(fifo, work, 'was opened');
  expect(() => openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)).toThrow(expect.objectContaining({ code: 'ENXIO' }));
  return result;
}

/** Like withoutOpening, for code that may open with O_NONBLOCK (never blocks) but must not hang. */
const withoutOpeningBlocked = <T>(fifo: string, work: Promise<T>): Promise<T> => settlesUnblocked(fifo, work, 'blocked the reader');

describe('accepted names', () => {
  test('a plain name resolves to the real path with its size', async () => {
    expect(await accepted('beep.wav')).toEqual({ name: 'beep.wav', path: join(sounds, 'beep.wav'), bytes: BEEP.length });
  });

  test('a relative path inside the directory, and ./ spellings', async () => {
    expect(await accepted('set/chime.ogg')).toMatchObject({ name: 'chime.ogg', path: join(sounds, 'set', 'chime.ogg') });
    expect((await accepted('./beep.wav')).path).toBe(join(sounds, 'beep.wav'));
  });

  test('extensions compare case-insensitively, as the daemon lower-cases them', async () => {
    expect((await accepted('loud.WAV')).name).toBe('loud.WAV');
  });

  test('an absolute path inside the directory, also through a symlinked spelling of it', async () => {
    expect((await accepted(join(sounds, 'beep.wav'))).path).toBe(join(sounds, 'beep.wav'));
    expect((await accepted(join(root, 'sounds-link', 'beep.wav'))).path).toBe(join(sounds, 'beep.wav'));
    // The configured directory may itself be the symlink.
    expect((await accepted('beep.wav', join(root, 'sounds-link'))).path).toBe(join(sounds, 'beep.wav'));
    expect((await accepted(join(root, 'sounds-link', 'beep.wav'), join(root, 'sounds-link'))).path).toBe(join(sounds, 'beep.wav'));
  });

  test('a symlink staying inside resolves to its target, under the requested name', async () => {
    expect(await accepted('alias.wav')).toEqual({ name: 'alias.wav', path: join(sounds, 'beep.wav'), bytes: BEEP.length });
  });

  test('percent-encoded dots are literal characters, never a parent directory', async () => {
    expect((await accepted('%2e%2e/x.wav')).path).toBe(join(sounds, '%2e%2e', 'x.wav'));
    expect((await refused('%2e%2e/beep.wav')).reason).toBe('not-found');
  });
});

describe('refusals, each with its reason', () => {
  const cases: readonly (readonly [string, SoundFileRefusal])[] = [
    ['../../etc/passwd', 'traversal'],
    ['../x.wav', 'traversal'],
    ['a/../../x.wav', 'traversal'],
    ['set/../beep.wav', 'traversal'],
    ['/etc/passwd', 'absolute-outside'],
    ['/etc/../x.wav', 'traversal'],
    ['.hidden.wav', 'hidden'],
    ['.env', 'hidden'],
    ['set/.secret/x.wav', 'hidden'],
    ['notes.txt', 'extension'],
    ['noext', 'extension'],
    ['beep.wav.txt', 'extension'],
    ['escape.wav', 'symlink-escape'],
    ['outdir/secret.wav', 'symlink-escape'],
    ['env.wav', 'hidden'],
    ['loop-a.wav', 'symlink-escape'],
    ['dir.wav', 'not-a-file'],
    ['big.wav', 'too-large'],
    ['missing.wav', 'not-found'],
    ['beep\u0000.wav', 'invalid-name'],
    ['beep.wav\u0000.txt', 'invalid-name'],
    ['line\nbreak.wav', 'invalid-name'],
    ['quote".wav', 'invalid-name'],
    ['back\\slash.wav', 'invalid-name'],
    ['', 'invalid-name'],
    [`${'a'.repeat(300)}.wav`, 'invalid-name'],
  ];

  test.each(cases)('%j → %s', async (requested, reason) => {
    const refusal = await refused(requested);
    expect(refusal).toBeInstanceOf(SoundFileRefused);
    expect(refusal._tag).toBe('SoundFileRefused');
    expect(refusal.reason).toBe(reason);
    expect(refusal.requested).toBe(requested);
    expect(refusal.allowedExtensions).toEqual(SOUND_FILE_EXTENSIONS);
    expect(refusal.message.length).toBeGreaterThan(0);
  });

  test('absolute paths outside the directory, existing or not', async () => {
    expect((await refused(join(outside, 'secret.wav'))).reason).toBe('absolute-outside');
    expect((await refused(join(root, 'x.wav'))).reason).toBe('absolute-outside');
    expect((await refused('/nonexistent/beep.wav')).reason).toBe('absolute-outside');
    // A sibling directory whose name starts like the sounds directory is not inside it.
    expect((await refused(`${sounds}-other/beep.wav`)).reason).toBe('absolute-outside');
  });

  test('no usable sounds directory', async () => {
    expect((await refused('beep.wav', join(root, 'nope'))).reason).toBe('no-sounds-dir');
    expect((await refused('beep.wav', join(sounds, 'beep.wav'))).reason).toBe('no-sounds-dir');
    expect((await refused('beep.wav', '')).reason).toBe('no-sounds-dir');
  });

  test('the directory itself is not a sound file', async () => {
    expect((await refused(sounds)).reason).toBe('not-a-file');
  });
});

describe('a refused file is never opened', () => {
  test('a FIFO with an allowed extension is not-a-file, decided without opening it', async () => {
    const refusal = await withoutOpening(join(sounds, 'pipe.wav'), refused('pipe.wav'));
    expect(refusal.reason).toBe('not-a-file');
  });

  test('a FIFO with another extension, a hidden one, one behind an escaping link, one outside', async () => {
    expect((await withoutOpening(join(sounds, 'pipe.txt'), refused('pipe.txt'))).reason).toBe('extension');
    expect((await withoutOpening(join(sounds, '.pipe.wav'), refused('.pipe.wav'))).reason).toBe('hidden');
    expect((await withoutOpening(join(outside, 'fifo.wav'), refused('fifo-escape.wav'))).reason).toBe('symlink-escape');
    expect((await withoutOpening(join(outside, 'fifo.wav'), refused(join(outside, 'fifo.wav')))).reason).toBe('absolute-outside');
  });

  test('listing a directory holding FIFOs opens none of them', async () => {
    const listed = await withoutOpening(join(sounds, 'pipe.wav'), listSoundFiles(sounds));
    expect(Result.isSuccess(listed) && listed.success.includes('pipe.wav')).toBe(false);
  });
});

describe('readSoundFile', () => {
  /**
   * Writes a small WAV as `name`, resolves it, lets `change` alter the file, then reads the
   * resolution — for a FIFO through withoutOpeningBlocked — and removes the file. Returns the
   * read's refusal reason, false when it succeeded.
   */
  async function refusalAfterChange(name: string, change: (path: string) => Promise<unknown> | unknown, fifo = false): Promise<SoundFileRefusal | false> {
    const path = join(sounds, name);
    await writeFile(path, wav(8));
    const resolved = await accepted(name);
    await change(path);
    const reading = readSoundFile(resolved);
    const read = await (fifo ? withoutOpeningBlocked(path, reading) : reading);
    await rm(path, { force: true });
    return Result.isFailure(read) && read.failure.reason;
  }

  test('returns exactly the bytes of the resolved file', async () => {
    const bytes = await readSoundFile(await accepted('alias.wav'));
    expect(Result.isSuccess(bytes)).toBe(true);
    if (Result.isSuccess(bytes)) expect(Buffer.from(bytes.success).equals(BEEP)).toBe(true);
  });

  test('a file swapped for a symlink after resolution is refused, not followed', async () => {
    const swap = async (path: string): Promise<void> => {
      await unlink(path);
      await symlink(join(outside, 'secret.wav'), path);
    };
    expect(await refusalAfterChange('swap-link.wav', swap)).toBe('symlink-escape');
  });

  test('a file swapped for a FIFO after resolution is refused without blocking', async () => {
    const swap = async (path: string): Promise<void> => {
      await unlink(path);
      execFileSync('mkfifo', [path]);
    };
    expect(await refusalAfterChange('swap-fifo.wav', swap, true)).toBe('not-a-file');
  });

  test('a file grown over the cap after resolution is refused', async () => {
    expect(await refusalAfterChange('grow.wav', (path) => truncate(path, MAX_SOUND_FILE_BYTES + 10))).toBe('too-large');
  });

  test('a file removed after resolution is not-found', async () => {
    expect(await refusalAfterChange('gone.wav', (path) => unlink(path))).toBe('not-found');
  });
});

describe('listSoundFiles', () => {
  test('lists exactly the top-level files play_audio_file accepts, sorted', async () => {
    const listed = await listSoundFiles(sounds);
    expect(Result.isSuccess(listed)).toBe(true);
    if (Result.isSuccess(listed)) expect(listed.success).toEqual(['alias.wav', 'beep.wav', 'loud.WAV']);
  });

  test('a missing directory is a no-sounds-dir failure', async () => {
    const listed = await listSoundFiles(join(root, 'nope'));
    expect(Result.isFailure(listed) && listed.failure.reason).toBe('no-sounds-dir');
  });
});

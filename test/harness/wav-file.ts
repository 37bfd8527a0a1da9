// WAV bytes for the sound-file tests (sound-files.test.ts, sounds-upload.test.ts): a canonical
// 44-byte header — PCM, mono, 8-bit, 16 kHz — in front of the given sample bytes. Enough for the
// resolver and the daemon's upload checks, which read the extension and the size, not the audio.
// Test code only.

/** A 44-byte WAV header followed by `data` (8-bit unsigned samples, 0x80 is silence). */
export function wavFile(data: Buffer): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(16_000, 24);
  header.writeUInt32LE(16_000, 28);
  header.writeUInt16LE(1, 32);
  header.writeUInt16LE(8, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

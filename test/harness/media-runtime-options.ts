// The media runtime's options for a test: the real signalling adapter against `signallingUrl`, the
// emulator as the daemon, no monitors, no sounds directory, events and root reports dropped.
// Shared by the media runtime tests; not a driver default (src/driver.ts builds the real ones).
import type { MediaRuntimeOptions } from '../../src/actors/media-runtime.ts';
import type { DaemonHttpClient } from '../../src/adapters/daemon-http.ts';
import { openMediaLink } from '../../src/adapters/media-link/open-media-link.ts';
import type { Emulator } from '../../src/sim/emulator.ts';

export function testMediaRuntimeOptions(emulator: Emulator, client: DaemonHttpClient, signallingUrl: string): MediaRuntimeOptions {
  const url = new URL(signallingUrl);
  return {
    signallingUrl,
    signallingHost: url.hostname,
    signallingPort: Number(url.port),
    openLink: openMediaLink,
    daemon: () => client,
    daemonHost: emulator.host,
    daemonApiUrl: emulator.url,
    target: 'simulated',
    soundsDir: undefined,
    allowOversizeRaw: false,
    monitors: { audio: false, motion: false, audioThreshold: 0.05, motionThreshold: 0.02 },
    audioSwitches: () => ({ audioInput: true, audioOutput: true }),
    toRoot: () => undefined,
    emitEvent: () => undefined,
  };
}

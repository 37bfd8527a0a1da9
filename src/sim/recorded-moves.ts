// The emulator's recorded-move library and volume control (reachy-daemon-api.md §1.2 recorded-move
// routes, §1.6 volume routes; fixtures/daemon/recorded.txt). The emulator has no Hugging Face hub:
// it serves local datasets (a few emotions under the default dataset id, and `local-test/moves` of
// the fixture) and answers any other dataset as the offline daemon does (plain 500). A move is
// keyframes in the recorded-move format's units (`time` s, head roll/pitch/yaw rad, antennas
// `[right, left]` rad), played by robot-model.ts as linear segments. Volume: 0–100 per device,
// or a host without volume control (a plain 500, as observed on the no-media mockup host).
import { composePose, degToRad as rad, rotationFromRpy } from '../robot/pose-math.ts';
import type { RobotModel } from './robot-model.ts';

export interface Keyframe {
  readonly time: number;
  readonly roll: number;
  readonly pitch: number;
  readonly yaw: number;
  readonly antennas: readonly [number, number];
}

function frame(time: number, rollDeg: number, pitchDeg: number, yawDeg: number, rightDeg: number, leftDeg: number): Keyframe {
  return { time, roll: rad(rollDeg), pitch: rad(pitchDeg), yaw: rad(yawDeg), antennas: [rad(rightDeg), rad(leftDeg)] };
}

/** Local datasets: id → move name → keyframes (the first at time 0). */
export const LOCAL_DATASETS: Readonly<Record<string, Readonly<Record<string, ReadonlyArray<Keyframe>>>>> = Object.freeze({
  'pollen-robotics/reachy-mini-emotions-library': {
    cheerful1: [frame(0, 0, 0, 0, 0, 0), frame(0.4, 0, -10, 0, -30, 30), frame(0.8, 0, -10, 0, 30, -30), frame(1.2, 0, -10, 0, -30, 30), frame(1.6, 0, 0, 0, 0, 0)],
    curious1: [frame(0, 0, 0, 0, 0, 0), frame(0.6, 15, 5, 10, 20, 20), frame(1.4, 15, 5, 10, 20, 20), frame(2.0, 0, 0, 0, 0, 0)],
    // Long enough for a test to stop it midway.
    thinking1: [frame(0, 0, 0, 0, 0, 0), frame(1.5, -10, -5, 25, 10, -10), frame(3.0, 10, -5, -25, -10, 10), frame(4.5, 0, 0, 0, 0, 0)],
  },
  'local-test/moves': {
    wiggle: [frame(0, 0, 0, 0, 0, 0), frame(0.3, 0, 0, 0, 20, -20), frame(0.6, 0, 0, 0, 0, 0)],
  },
});

/** Plays `frames` as linear segments; ends early (rejecting) when `signal` aborts. */
export async function playKeyframes(robot: RobotModel, frames: ReadonlyArray<Keyframe>, signal: AbortSignal): Promise<void> {
  for (let i = 1; i < frames.length; i++) {
    const from = frames[i - 1] as Keyframe;
    const to = frames[i] as Keyframe;
    const head = composePose(rotationFromRpy(to.roll, to.pitch, to.yaw), [0, 0, 0]);
    await robot.goto({ head, antennas: [...to.antennas] as [number, number], duration: to.time - from.time, method: 'linear' }, signal);
  }
}

export type VolumeDevice = 'speaker' | 'microphone';

/** The host's volume control as the daemon sees it (Linux, PulseAudio in the mockup). */
export class SimVolume {
  /** False: a host without PulseAudio/ALSA tools (the daemon answers a plain 500). */
  available: boolean;
  readonly #levels: Record<VolumeDevice, number> = { speaker: 50, microphone: 50 };

  /**
   * The observed no-media mockup host had no audio tools (fixtures: plain 500), so the emulated host
   * has volume control when it emulates media, and tests switch `available` as they need.
   */
  constructor(available: boolean) {
    this.available = available;
  }

  get(device: VolumeDevice): number {
    return this.#levels[device];
  }

  set(device: VolumeDevice, volume: number): void {
    this.#levels[device] = volume;
  }

  reply(device: VolumeDevice): Record<string, unknown> {
    return { volume: this.#levels[device], platform: 'Linux', device: device === 'speaker' ? 'reachymini_audio_sink' : 'reachymini_audio_src' };
  }
}

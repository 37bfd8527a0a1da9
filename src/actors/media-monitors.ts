// The background detectors (issue "media": detectors as background monitors): while enabled and a
// media link is up, the audio monitor analyses the microphone ring every AUDIO_MONITOR_INTERVAL_MS
// and the motion monitor decodes the newest picture every MOTION_MONITOR_INTERVAL_MS; each reports
// only state changes (`audio_event`, `motion_event`). Also answers the on-demand detect_* reads from
// the same detectors; a frozen camera is not "no motion" (FrameTooOld: see `#tooOld`). Owns the
// timers and detector instances; the algorithms live in src/media/detectors, the link in
// src/adapters/media-link, the freshness rule in src/media/frame-freshness.ts, publishing in the
// caller's `onEvent`.
import * as Result from 'effect/Result';
import { AudioActivityDetector, AUDIO_DEFAULT_THRESHOLD, type AudioEvent, type AudioMeasurement } from '../media/detectors/audio-activity.ts';
import { NOISE_MARGIN } from '../media/detectors/audio-activity.ts';
import { stateConfidence } from '../media/detectors/detector-common.ts';
import { MotionDetector, MOTION_DEFAULT_THRESHOLD, type MotionEvent, type MotionMeasurement } from '../media/detectors/motion.ts';
import { DEFAULT_MAX_FRAME_AGE_MS, frameTooOld } from '../media/frame-freshness.ts';
import type { MediaLink } from '../media/media-link.ts';
import type { FrameTooOld } from '../errors.ts';
import { createLogger } from '../logging/logger.ts';

const log = createLogger('media.monitors');

/** Audio analysis cadence: 5 detector frames (10 ms each) per tick keeps the attack (80 ms) responsive. */
export const AUDIO_MONITOR_INTERVAL_MS = 50;
/**
 * Motion cadence: 5 pictures a second. The detector's attack is 3 frames (0.6 s) and release 15
 * (3 s), and lazy decoding costs about one GOP slice per tick (h264-webrtc.md §3.2: ~1.6 ms/frame).
 */
export const MOTION_MONITOR_INTERVAL_MS = 200;

export interface MonitorSettings {
  readonly audio: boolean;
  readonly motion: boolean;
  readonly audioThreshold: number;
  readonly motionThreshold: number;
}

export const DEFAULT_MONITOR_SETTINGS: MonitorSettings = Object.freeze({
  audio: false,
  motion: false,
  audioThreshold: AUDIO_DEFAULT_THRESHOLD,
  motionThreshold: MOTION_DEFAULT_THRESHOLD,
});

export type MonitorEvent = { readonly detector: 'audio'; readonly event: AudioEvent } | { readonly detector: 'motion'; readonly event: MotionEvent };

export interface DetectorReadings {
  readonly audio: (durationMs: number, threshold: number) => Record<string, unknown>;
  readonly motion: (threshold: number, source: string) => Promise<Record<string, unknown> | { readonly error: unknown }>;
}

function audioReading(m: AudioMeasurement, threshold: number, durationMs: number): Record<string, unknown> {
  const effective = Math.max(threshold, m.noise_floor * NOISE_MARGIN);
  const state = m.rms >= effective && m.calibrated ? 'active' : 'inactive';
  return {
    status: 'success',
    kind: state === 'active' ? 'audio_activity_detected' : 'audio_activity_ended',
    source: 'microphone',
    state,
    rms: m.rms,
    threshold: effective,
    requested_threshold: threshold,
    duration_ms: durationMs,
    confidence: stateConfidence(state, m.rms, effective),
    noise_floor: m.noise_floor,
    calibrated: m.calibrated,
    monitor_state: m.state,
  };
}

function motionReading(m: MotionMeasurement, threshold: number, source: string): Record<string, unknown> {
  const state = m.magnitude >= threshold && m.frames > 1 ? 'active' : 'inactive';
  return {
    status: 'success',
    kind: state === 'active' ? 'motion_detected' : 'motion_ended',
    source,
    state,
    magnitude: m.magnitude,
    threshold,
    confidence: stateConfidence(state, m.magnitude, threshold),
    pixel_threshold: m.pixel_threshold,
    noise_sigma: m.noise_sigma,
    global_shift: m.global_shift,
    frames_compared: m.frames,
    monitor_state: m.state,
  };
}

/** Detectors and timers for one media link; `close()` ends open activity with an `ended` event. */
export class LinkMonitors {
  readonly #link: MediaLink;
  readonly #onEvent: (event: MonitorEvent) => void;
  #settings: MonitorSettings;
  #audio: AudioActivityDetector;
  #motion: MotionDetector;
  #audioTimer: NodeJS.Timeout | undefined;
  #motionTimer: NodeJS.Timeout | undefined;
  #lastFrameAt = 0;
  /** `receivedAt` of the newest picture the link gave (fed or not); 0 before the first. */
  #newestAt = 0;
  #motionBusy = false;
  #closed = false;

  constructor(link: MediaLink, settings: MonitorSettings, onEvent: (event: MonitorEvent) => void) {
    this.#link = link;
    this.#onEvent = onEvent;
    this.#settings = settings;
    this.#audio = new AudioActivityDetector({ buffer: link.audioIn, threshold: settings.audioThreshold });
    this.#motion = new MotionDetector({ threshold: settings.motionThreshold });
    this.#schedule();
  }

  /** New settings; a changed threshold starts that detector afresh (ending open activity). */
  apply(settings: MonitorSettings): void {
    const now = Date.now();
    if (settings.audioThreshold !== this.#settings.audioThreshold) {
      this.#report({ detector: 'audio', event: this.#audio.reset(now) });
      this.#audio = new AudioActivityDetector({ buffer: this.#link.audioIn, threshold: settings.audioThreshold });
    }
    if (settings.motionThreshold !== this.#settings.motionThreshold) {
      this.#report({ detector: 'motion', event: this.#motion.reset(now) });
      this.#motion = new MotionDetector({ threshold: settings.motionThreshold });
    }
    if (!settings.audio && this.#settings.audio) this.#report({ detector: 'audio', event: this.#audio.reset(now) });
    if (!settings.motion && this.#settings.motion) this.#report({ detector: 'motion', event: this.#motion.reset(now) });
    this.#settings = settings;
    this.#schedule();
  }

  /** On-demand audio reading over the last `durationMs`, judged against `threshold`. */
  readAudio(durationMs: number, threshold: number): Record<string, unknown> {
    this.#report({ detector: 'audio', event: this.#settings.audio ? null : this.#audio.update(Date.now()) });
    return audioReading(this.#audio.measure(durationMs), threshold, durationMs);
  }

  /** On-demand motion reading: feeds the newest picture unless the monitor already does; FrameTooOld while the camera is frozen. */
  async readMotion(threshold: number, source: string, waitMs: number): Promise<Result.Result<Record<string, unknown>, unknown>> {
    if (!this.#settings.motion) {
      const fed = await this.#feedLatest(waitMs);
      if (Result.isFailure(fed)) return Result.fail(fed.failure);
    }
    const stale = this.#tooOld(Date.now());
    if (stale) return Result.fail(stale);
    return Result.succeed(motionReading(this.#motion.measure(), threshold, source));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#audioTimer);
    clearInterval(this.#motionTimer);
    const now = Date.now();
    if (this.#settings.audio) this.#report({ detector: 'audio', event: this.#audio.reset(now) });
    if (this.#settings.motion) this.#report({ detector: 'motion', event: this.#motion.reset(now) });
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#settings.audio && !this.#audioTimer) {
      this.#audioTimer = setInterval(() => this.#report({ detector: 'audio', event: this.#audio.update(Date.now()) }), AUDIO_MONITOR_INTERVAL_MS);
    } else if (!this.#settings.audio && this.#audioTimer) {
      clearInterval(this.#audioTimer);
      this.#audioTimer = undefined;
    }
    if (this.#settings.motion && !this.#motionTimer) {
      this.#motionTimer = setInterval(() => void this.#feedLatest(0), MOTION_MONITOR_INTERVAL_MS);
    } else if (!this.#settings.motion && this.#motionTimer) {
      clearInterval(this.#motionTimer);
      this.#motionTimer = undefined;
    }
  }

  async #feedLatest(waitMs: number): Promise<Result.Result<void, unknown>> {
    if (this.#motionBusy) return Result.succeed(undefined);
    this.#motionBusy = true;
    try {
      const frame = await this.#link.latestFrame({ waitMs });
      if (Result.isFailure(frame)) return Result.fail(frame.failure);
      const picture = frame.success;
      if (this.#closed) return Result.succeed(undefined);
      this.#newestAt = picture.receivedAt;
      const stale = this.#tooOld(Date.now());
      if (stale) return Result.fail(stale);
      // The same picture twice would read as "no motion": only new pictures are compared.
      if (picture.receivedAt === this.#lastFrameAt) return Result.succeed(undefined);
      this.#lastFrameAt = picture.receivedAt;
      const luma = picture.data.subarray(0, picture.width * picture.height);
      this.#report({ detector: 'motion', event: this.#motion.update({ width: picture.width, height: picture.height, format: 'gray', data: luma }, picture.receivedAt) });
      return Result.succeed(undefined);
    } catch (error) {
      log.warn('motion monitor could not read a frame', { error });
      return Result.fail(error);
    } finally {
      this.#motionBusy = false;
    }
  }

  /**
   * FrameTooOld when the newest picture is older than capture_video_frame's default bound,
   * DEFAULT_MAX_FRAME_AGE_MS (a healthy stream's is tens of ms old; a frozen camera's only ages): the
   * detector then starts afresh, reporting motion_ended if motion was in progress, so neither events
   * nor detect_motion carry the last state on as current. The monitor sees the age at its ticks, so
   * a freeze is noticed within that bound plus one interval. Null while fresh or before any picture.
   */
  #tooOld(now: number): FrameTooOld | null {
    if (this.#newestAt === 0) return null;
    const stale = frameTooOld(this.#newestAt, now, DEFAULT_MAX_FRAME_AGE_MS);
    if (stale) this.#report({ detector: 'motion', event: this.#motion.reset(now) });
    return stale;
  }

  #report(item: { detector: 'audio'; event: AudioEvent | null } | { detector: 'motion'; event: MotionEvent | null }): void {
    if (item.event === null) return;
    this.#onEvent(item as MonitorEvent);
  }
}

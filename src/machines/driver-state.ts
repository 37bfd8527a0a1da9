// The `driver_state` snapshot of `get_status` (reference-driver.md §4): every reference field,
// with the reference's bugs removed (execution_state returns to idle, the interlock is real).
// Owns the field names and initial values only; machines fill them in.

export type ExecutionState = 'idle' | 'commanded' | 'moving' | 'stopping' | 'error';
export type InterlockState = 'safe' | 'tripped';

export interface DriverStateFields {
  readonly rig: 'reachy_mini';
  readonly command_owner: string | null;
  /** Epoch seconds, 0 when no lease was ever granted (reference shape). */
  readonly lease_expires_at: number;
  readonly execution_state: ExecutionState;
  readonly interlock_state: InterlockState;
  readonly current_pose: Record<string, unknown>;
  readonly target_pose: Record<string, unknown>;
  readonly media_ready: boolean;
  readonly video_input_state: string;
  readonly audio_input_state: string;
  readonly audio_output_state: string;
  readonly audio_activity: boolean;
  readonly video_motion_state: string;
  readonly last_audio_event: Record<string, unknown>;
  readonly last_motion_event: Record<string, unknown>;
  readonly last_error: string;
}

export const INITIAL_DRIVER_STATE: DriverStateFields = Object.freeze({
  rig: 'reachy_mini',
  command_owner: null,
  lease_expires_at: 0,
  execution_state: 'idle',
  interlock_state: 'safe',
  current_pose: {},
  target_pose: {},
  media_ready: false,
  video_input_state: 'unknown',
  audio_input_state: 'unknown',
  audio_output_state: 'unknown',
  audio_activity: false,
  video_motion_state: 'unknown',
  last_audio_event: {},
  last_motion_event: {},
  last_error: '',
});

/** Device availability from the execution state (reference §1, minus the stuck-busy bug). */
export function availabilityOf(execution: ExecutionState): 'idle' | 'busy' | 'error' {
  if (execution === 'idle') return 'idle';
  if (execution === 'error') return 'error';
  return 'busy';
}

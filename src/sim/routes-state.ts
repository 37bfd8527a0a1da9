// `/api/state/*` routes (RM:src/reachy_mini/daemon/app/routers/state.py; reachy-daemon-api.md §1.1;
// fixtures/daemon/get1.txt): present head pose (XYZRPY or matrix), bare body yaw, antennas,
// DoA (null: no ReSpeaker) and FullState with its flags — the `with_target_*` flags are parsed
// and silently dropped (quirk §11.2). Also owns the flag parsing the `/ws/full` stream reuses.
// Does not own the state (robot-model.ts) nor its JSON shape (wire-format.ts).
import { okJson, validationFailed, type HttpReply, type ValidationIssue } from './fastapi-errors.ts';
import type { Route } from './route-types.ts';
import { checkQueryBool } from './request-validation.ts';
import { fullStateJson, poseJson, type FullStateFlags } from './wire-format.ts';

/** FullState flags and their defaults, in the order FastAPI validates them. */
const FULL_STATE_FLAG_DEFAULTS = {
  with_control_mode: true,
  with_head_pose: true,
  with_target_head_pose: false,
  with_head_joints: false,
  with_target_head_joints: false,
  with_body_yaw: true,
  with_target_body_yaw: false,
  with_antenna_positions: true,
  with_target_antenna_positions: false,
  with_passive_joints: false,
  with_doa: false,
  use_pose_matrix: false,
} as const;

type FlagName = keyof typeof FULL_STATE_FLAG_DEFAULTS;

/**
 * Parses the FullState query flags. `/ws/full` has no `with_control_mode` (always on), so with
 * `controlModeFlag` false that parameter is ignored.
 */
export function parseFullStateFlags(query: URLSearchParams, controlModeFlag: boolean): { flags: FullStateFlags } | { issues: ValidationIssue[] } {
  const values = {} as Record<FlagName, boolean>;
  const issues: ValidationIssue[] = [];
  for (const [name, fallback] of Object.entries(FULL_STATE_FLAG_DEFAULTS) as [FlagName, boolean][]) {
    if (name === 'with_control_mode' && !controlModeFlag) {
      values[name] = true;
      continue;
    }
    const checked = checkQueryBool(query, name, fallback);
    if (checked.ok) values[name] = checked.value;
    else issues.push(...checked.issues);
  }
  if (issues.length > 0) return { issues };
  return {
    flags: {
      withControlMode: values.with_control_mode,
      withHeadPose: values.with_head_pose,
      withHeadJoints: values.with_head_joints,
      withBodyYaw: values.with_body_yaw,
      withAntennaPositions: values.with_antenna_positions,
      withPassiveJoints: values.with_passive_joints,
      withDoa: values.with_doa,
      usePoseMatrix: values.use_pose_matrix,
    },
  };
}

export const STATE_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    path: '/api/state/present_head_pose',
    needsBackend: true,
    body: 'none',
    handle: ({ query }, daemon): HttpReply => {
      const useMatrix = checkQueryBool(query, 'use_pose_matrix', false);
      if (!useMatrix.ok) return validationFailed(useMatrix.issues);
      return okJson(poseJson(daemon.robot.snapshot().headPose, useMatrix.value));
    },
  },
  {
    method: 'GET',
    path: '/api/state/present_body_yaw',
    needsBackend: true,
    body: 'none',
    handle: (_request, daemon) => okJson(daemon.robot.snapshot().bodyYaw),
  },
  {
    method: 'GET',
    path: '/api/state/present_antenna_joint_positions',
    needsBackend: true,
    body: 'none',
    handle: (_request, daemon) => okJson([...daemon.robot.snapshot().antennas]),
  },
  {
    method: 'GET',
    path: '/api/state/doa',
    needsBackend: true,
    body: 'none',
    handle: () => okJson(null),
  },
  {
    method: 'GET',
    path: '/api/state/full',
    needsBackend: true,
    body: 'none',
    handle: ({ query }, daemon): HttpReply => {
      const parsed = parseFullStateFlags(query, true);
      if ('issues' in parsed) return validationFailed(parsed.issues);
      return okJson(fullStateJson(daemon.robot.snapshot(), parsed.flags));
    },
  },
];

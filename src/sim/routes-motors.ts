// `/api/motors/*` routes (RM:src/reachy_mini/daemon/app/routers/motors.py; reachy-daemon-api.md
// §1.3, quirk §11.8; fixtures/daemon/move2.txt): the mode, and set_mode whose reply quotes the
// Python enum repr (`MotorControlMode.GravityCompensation`), 422 for any other mode. The mockup
// keeps the mode as a flag, so gravity compensation is accepted without the Placo engine.
// Does not own the mode itself (robot-model.ts).
import { okJson, validationFailed, type HttpReply } from './fastapi-errors.ts';
import type { Route } from './route-types.ts';
import { checkMotorMode } from './request-validation.ts';
import type { MotorMode } from './robot-model.ts';

/** Member names of the daemon's `MotorControlMode` enum, as `f"{mode}"` prints them. */
const ENUM_REPR: Readonly<Record<MotorMode, string>> = {
  enabled: 'MotorControlMode.Enabled',
  disabled: 'MotorControlMode.Disabled',
  gravity_compensation: 'MotorControlMode.GravityCompensation',
};

export const MOTOR_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    path: '/api/motors/status',
    needsBackend: true,
    body: 'none',
    handle: (_request, daemon) => okJson({ mode: daemon.robot.motorMode }),
  },
  {
    method: 'POST',
    path: '/api/motors/set_mode/{mode}',
    needsBackend: true,
    body: 'none',
    handle: ({ params }, daemon): HttpReply => {
      const mode = checkMotorMode(params.mode ?? '');
      if (!mode.ok) return validationFailed(mode.issues);
      daemon.robot.setMotorMode(mode.value);
      return okJson({ status: `motors changed to ${ENUM_REPR[mode.value]} mode` });
    },
  },
];

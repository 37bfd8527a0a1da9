// `/api/daemon/*` routes, job status and `/health-check` (RM:.../routers/daemon.py, apps.py;
// reachy-daemon-api.md §1.4; fixtures/daemon/daemon_lifecycle.txt): status, start/stop/restart
// as background jobs (409 while one runs), robot name, hardware id, app lock. Fidelity choice:
// start does NOT copy the mockup-restart bug of §11.4 (a restarted backend is a mockup again);
// use `setFault({ kind: 'daemon-error' })` to get that state. Lifecycle state is sim-daemon.ts's.
import { detail, okJson, validationFailed, type HttpReply } from './fastapi-errors.ts';
import type { Route } from './route-types.ts';
import { checkQueryBool, checkRobotName } from './request-validation.ts';

const BUSY = (): HttpReply => detail(409, 'Daemon is busy.');

export const DAEMON_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    path: '/api/daemon/status',
    needsBackend: false,
    body: 'none',
    handle: (_request, daemon) => okJson(daemon.status()),
  },
  {
    method: 'POST',
    path: '/api/daemon/start',
    needsBackend: false,
    body: 'none',
    handle: ({ query }, daemon): HttpReply => {
      const wakeUp = checkQueryBool(query, 'wake_up', undefined);
      if (!wakeUp.ok) return validationFailed(wakeUp.issues);
      if (daemon.jobs.busy) return BUSY();
      return okJson({ job_id: daemon.jobs.run('daemon-start', () => daemon.startBackend(wakeUp.value)) });
    },
  },
  {
    method: 'POST',
    path: '/api/daemon/stop',
    needsBackend: false,
    body: 'none',
    handle: ({ query }, daemon): HttpReply => {
      const gotoSleep = checkQueryBool(query, 'goto_sleep', undefined);
      if (!gotoSleep.ok) return validationFailed(gotoSleep.issues);
      if (daemon.jobs.busy) return BUSY();
      return okJson({ job_id: daemon.jobs.run('daemon-stop', () => daemon.stopBackend(gotoSleep.value)) });
    },
  },
  {
    method: 'POST',
    path: '/api/daemon/restart',
    needsBackend: false,
    body: 'none',
    handle: (_request, daemon): HttpReply => {
      if (daemon.jobs.busy) return BUSY();
      // Restart reuses the boot parameters and never wakes up (§1.4).
      return okJson({
        job_id: daemon.jobs.run('daemon-restart', async () => {
          await daemon.stopBackend(false);
          await daemon.startBackend(false);
        }),
      });
    },
  },
  {
    method: 'GET',
    path: '/api/apps/job-status/{job_id}',
    needsBackend: false,
    body: 'none',
    handle: ({ params }, daemon): HttpReply => {
      const job = daemon.jobs.get(params.job_id ?? '');
      return job ? okJson(job) : detail(404, 'Job ID not found');
    },
  },
  {
    method: 'GET',
    path: '/api/daemon/robot-name',
    needsBackend: false,
    body: 'none',
    handle: (_request, daemon) => okJson({ name: daemon.robotName }),
  },
  {
    method: 'POST',
    path: '/api/daemon/robot-name',
    needsBackend: false,
    body: 'required',
    handle: ({ body }, daemon): HttpReply => {
      const name = checkRobotName(body, ['body']);
      if (!name.ok) return validationFailed(name.issues);
      daemon.robotName = name.value;
      return okJson({ name: name.value });
    },
  },
  {
    method: 'GET',
    path: '/api/daemon/hardware-id',
    needsBackend: false,
    body: 'none',
    handle: () => okJson({ hardware_id: null }),
  },
  {
    method: 'GET',
    path: '/api/daemon/robot-app-lock-status',
    needsBackend: false,
    body: 'none',
    handle: () => okJson({ state: 'free', holder_name: null }),
  },
  {
    method: 'POST',
    path: '/health-check',
    needsBackend: false,
    body: 'none',
    handle: () => okJson({ status: 'ok' }),
  },
];

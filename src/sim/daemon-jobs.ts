// Background jobs of the daemon routes (`bg_job_register.run_command`; reachy-daemon-api.md §1.4,
// fixtures/daemon/daemon_lifecycle.txt): a uuid per job, `JobInfo` = command, status
// (pending | in_progress | done | failed) and log lines, served by `/api/apps/job-status/{id}`,
// and the busy flag behind the 409 "Daemon is busy.". Owns no daemon state; the job body does.
import { randomUUID } from 'node:crypto';

export type JobStatus = 'pending' | 'in_progress' | 'done' | 'failed';

export interface JobInfo {
  readonly command: string;
  readonly status: JobStatus;
  readonly logs: readonly string[];
}

export class DaemonJobs {
  readonly #jobs = new Map<string, { command: string; status: JobStatus; logs: string[] }>();
  #busy = 0;

  /** True while a start/stop/restart job runs (the route's `busy_lock`). */
  get busy(): boolean {
    return this.#busy > 0;
  }

  run(command: string, body: () => Promise<void>): string {
    const id = randomUUID();
    const job = { command, status: 'in_progress' as JobStatus, logs: [] as string[] };
    this.#jobs.set(id, job);
    this.#busy += 1;
    void body().then(
      () => {
        job.status = 'done';
        job.logs.push(`Job '${command}' completed successfully`);
      },
      (error: unknown) => {
        job.status = 'failed';
        job.logs.push(`Job '${command}' failed: ${error instanceof Error ? error.message : String(error)}`);
      },
    ).finally(() => {
      this.#busy -= 1;
    });
    return id;
  }

  get(id: string): JobInfo | undefined {
    const job = this.#jobs.get(id);
    return job ? { command: job.command, status: job.status, logs: [...job.logs] } : undefined;
  }
}

// What tests ask of processes they started: is a pid alive (signal 0), which children of a process
// run a given entry (Linux's /proc/<pid>/task/<pid>/children and cmdline), and waiting for a pid to
// be gone (polled every 50 ms). Owns nothing but these reads: starting, signalling and reaping the
// processes are the tests' own.
import { readFileSync } from 'node:fs';

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pids of `pid`'s children whose command line contains `fragment`. */
export function childrenRunning(pid: number, fragment: string): number[] {
  const listed = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  if (listed === '') return [];
  return listed
    .split(/\s+/)
    .map(Number)
    .filter((child) => {
      try {
        return readFileSync(`/proc/${child}/cmdline`, 'utf8').includes(fragment);
      } catch {
        return false;
      }
    });
}

/** True once `pid` is gone, false if it is still alive after `timeoutMs`. */
export async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !pidAlive(pid);
}

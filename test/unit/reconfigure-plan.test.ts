// What an apply does with a new daemon host (src/config/reconfigure-plan.ts): on hardware it moves
// the daemon link and the media session (the signalling host follows the daemon's), no restart
// asked for; on a --sim driver the address is left out and named by its settings field as not in
// effect, nothing else restarts for it, and the driver goes on with the address it really uses. A
// policy change left out of an apply keeps the configured policy (and its layers) as it was.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { loadConfig } from '../../src/adapters/config-files.ts';
import { changedPolicyFields, inEffectAfter, reconfigurePlan, withPolicyKept } from '../../src/config/reconfigure-plan.ts';

const env = { REACHY_MINI_DRIVER_SETTINGS_FILE: join(mkdtempSync(join(tmpdir(), 'rmd-plan-')), 'absent.json'), DEVICE_CONNECT_ALLOW_INSECURE: 'true' };
const configOf = (...argv: string[]) => loadConfig({ argv, env });

test('without --sim, a new daemon host moves the daemon link and media; nothing needs a restart', () => {
  const current = configOf('--target', '127.0.0.1:8000');
  const next = configOf('--target', '10.0.0.9:8000');
  expect(next.signallingHost, 'the signalling host follows the daemon host').toBe('10.0.0.9');
  expect(reconfigurePlan(current, next)).toMatchObject({ daemonLink: true, media: true, restartRequired: [], simIgnored: [] });
  expect(inEffectAfter(current, next)).toBe(next);
});

test('with --sim, a new daemon host is not in effect (reachy_target), restarts nothing and is not a restart; the rest applies', () => {
  const current = configOf('--sim', '--target', '127.0.0.1:8000');
  const next = configOf('--sim', '--target', 'https://10.0.0.9:8443', '--approval-timeout', '9');
  expect(reconfigurePlan(current, next)).toEqual({ policy: true, mesh: false, connection: false, daemonLink: false, media: false, simIgnored: ['reachy_target'], restartRequired: [] });
  const after = inEffectAfter(current, next);
  expect(after).toMatchObject({ daemonHost: '127.0.0.1', daemonPort: 8000, daemonTls: false, signallingHost: '127.0.0.1' });
  expect(after.safetyPolicy.approval.timeout_s).toBe(9);
  expect(reconfigurePlan(after, next).simIgnored, 'the next apply still sees it as not in effect').toEqual(['reachy_target']);
});

test('without --sim, an https target (TLS to the daemon) needs a restart, named by its settings field, not an internal key', () => {
  const current = configOf('--target', '127.0.0.1:8000');
  const next = configOf('--target', 'https://127.0.0.1:8443');
  expect(reconfigurePlan(current, next).restartRequired).toEqual(['reachy_target']);
});

test('a policy change left out: its settings fields are named, and what runs keeps the configured policy and its sources, the rest new', () => {
  const current = configOf('--target', '127.0.0.1:8000');
  const next = configOf('--target', '127.0.0.2:8000', '--approval-timeout', '9', '--max-body-speed', '60');
  expect(changedPolicyFields(current, next)).toEqual(['max_body_speed', 'approval_timeout_s']);
  const kept = withPolicyKept(next, current);
  expect(kept.safetyPolicy).toEqual(current.safetyPolicy);
  expect(kept.sources).toMatchObject({ approvalTimeoutS: current.sources.approvalTimeoutS, maxBodySpeed: current.sources.maxBodySpeed, target: 'flag' });
  expect(kept.daemonHost).toBe('127.0.0.2');
  expect(reconfigurePlan(kept, next).policy, 'the next apply tries the policy again').toBe(true);
});

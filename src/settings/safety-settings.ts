// The safety keys of the settings file beyond the reference's fifteen (README "Configuration": speed
// limits, speed policies, dead-man, approval), as the settings app sees them: each optional, kept
// as given and written back only when set, with the bounds the driver applies at start-up
// (src/config/safety-config.ts, src/safety/safety-policy.ts) checked here too, so the page neither
// locks up on a file the driver runs with nor drops these keys when it saves (require_approval: read
// as the driver reads it, checked by the policy's one rule against this device's catalogue). Owns
// those per-key shape and range checks; the driver's config resolution stays the judge of what
// takes effect.
import { approvalNamesListed, approvalText } from '../config/safety-config.ts';
import { APPROVABLE_FUNCTIONS } from '../rpc/catalogue.ts';
import { approvalNameIssues, MAX_APPROVAL_TIMEOUT_S, MAX_DEADMAN_MS, MAX_SPEED_LIMITS, MIN_CONFIGURED_APPROVAL_TIMEOUT_S, MIN_DEADMAN_MS } from '../safety/safety-policy.ts';

export interface SafetySettings {
  readonly max_head_speed?: number;
  readonly max_head_translation_speed?: number;
  readonly max_body_speed?: number;
  readonly max_antenna_speed?: number;
  readonly speed_policy?: 'refuse' | 'stretch';
  readonly realtime_speed_policy?: 'ramp' | 'refuse';
  /** Milliseconds, or `off` / `none`. */
  readonly deadman_ms?: number | 'off' | 'none';
  /** Function names, as a list or `fn,fn` (or `none`). */
  readonly require_approval?: string | readonly string[];
  readonly approval_timeout_s?: number;
}

type Issue = { readonly field: string; readonly message: string };

/** Each speed key and its upper bound (the policy's MAX_SPEED_LIMITS field). */
const SPEED_KEYS = {
  max_head_speed: MAX_SPEED_LIMITS.head_deg_per_s,
  max_head_translation_speed: MAX_SPEED_LIMITS.head_translation_mm_per_s,
  max_body_speed: MAX_SPEED_LIMITS.body_deg_per_s,
  max_antenna_speed: MAX_SPEED_LIMITS.antenna_deg_per_s,
} as const;

export const SAFETY_SETTING_KEYS: ReadonlyArray<keyof SafetySettings> = Object.freeze([
  ...(Object.keys(SPEED_KEYS) as Array<keyof typeof SPEED_KEYS>),
  'speed_policy',
  'realtime_speed_policy',
  'deadman_ms',
  'require_approval',
  'approval_timeout_s',
]);

/** `value` as a number in [min, max] (the driver takes numeric strings too), or an issue. */
function numberIn(field: string, value: unknown, min: number, max: number, issues: Issue[]): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  if (Number.isFinite(n) && n >= min && n <= max) return n;
  issues.push({ field, message: `must be a number in [${min}, ${max}]` });
  return undefined;
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[], issues: Issue[]): T | undefined {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  issues.push({ field, message: `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}` });
  return undefined;
}

/**
 * require_approval read as the driver reads it (src/config/safety-config.ts) and checked by the
 * policy's one rule (src/safety/safety-policy.ts approvalNameIssues: each name a function of this
 * device that may be held, so at most as many as it has): kept as given when the driver runs with it.
 */
function approvalNames(value: unknown, issues: Issue[]): string | readonly string[] | undefined {
  const text = approvalText(value);
  if (text === undefined) {
    issues.push({ field: 'require_approval', message: 'must be a list of function names (or "fn,fn", or "none")' });
    return undefined;
  }
  const refused = approvalNameIssues(approvalNamesListed(text), APPROVABLE_FUNCTIONS, 'require_approval');
  if (refused.length === 0) return typeof value === 'string' ? value : Object.freeze([...(value as string[])]);
  issues.push(...refused.map((i) => ({ field: i.parameter, message: i.problem })));
  return undefined;
}

/** The safety keys present in `record` (absent, null or "" = not set), checked; issues named by key. */
export function safetySettings(record: Readonly<Record<string, unknown>>, issues: Issue[]): SafetySettings {
  const out: Record<string, unknown> = {};
  for (const key of SAFETY_SETTING_KEYS) {
    const value = record[key];
    if (value === undefined || value === null || value === '') continue;
    const checked =
      key in SPEED_KEYS
        ? numberIn(key, value, Number.MIN_VALUE, SPEED_KEYS[key as keyof typeof SPEED_KEYS], issues)
        : key === 'speed_policy'
          ? oneOf(key, value, ['refuse', 'stretch'] as const, issues)
          : key === 'realtime_speed_policy'
            ? oneOf(key, value, ['ramp', 'refuse'] as const, issues)
            : key === 'deadman_ms'
              ? value === 'off' || value === 'none' ? value : numberIn(key, value, MIN_DEADMAN_MS, MAX_DEADMAN_MS, issues)
              : key === 'require_approval'
                ? approvalNames(value, issues)
                : numberIn(key, value, MIN_CONFIGURED_APPROVAL_TIMEOUT_S, MAX_APPROVAL_TIMEOUT_S, issues);
    if (checked !== undefined) out[key] = checked;
  }
  return Object.freeze(out) as SafetySettings;
}

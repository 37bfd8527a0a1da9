// The built-in expressions of play_expression (issue 12 part 2; the prior art's nod, shake and
// happy, plus sad): short series of head/antenna poses in goto_pose's units (degrees, millimetres;
// head offsets 0, body untouched) that need no Hugging Face hub. Each starts with a step back to
// the neutral pose, slow enough from anywhere in the mechanical range, and every step stays within
// the default speed limits (src/safety/safety-policy.ts; min-jerk peaks at 1.875 × travel / duration)
// so the envelope and speed checks that apply to goto_pose pass unchanged. Data only; no I/O.

/** One step: the pose reached at its end (absent fields are 0) over `duration_s`. */
export interface ExpressionStep {
  readonly pitch?: number;
  readonly roll?: number;
  readonly yaw?: number;
  readonly antennas_left?: number;
  readonly antennas_right?: number;
  readonly duration_s: number;
}

/**
 * Back to neutral first: the farthest head axis (translation 50 mm, yaw 45°) needs ≥ 0.47 s at the
 * default 200 mm/s and 200 °/s; antennas ±80° need ≥ 0.5 s at 600 °/s. 0.8 s leaves a margin.
 */
export const NEUTRAL_STEP_S = 0.8;
const NEUTRAL: ExpressionStep = { duration_s: NEUTRAL_STEP_S };

export const EXPRESSIONS: Readonly<Record<string, ReadonlyArray<ExpressionStep>>> = Object.freeze({
  // Pitch 15° down, 10° up, down again: 25° in 0.35 s peaks at 134 °/s.
  nod: [NEUTRAL, { pitch: 15, duration_s: 0.3 }, { pitch: -10, duration_s: 0.35 }, { pitch: 15, duration_s: 0.35 }, { duration_s: 0.3 }],
  // Yaw ±20°: 40° in 0.45 s peaks at 167 °/s.
  shake: [NEUTRAL, { yaw: 20, duration_s: 0.3 }, { yaw: -20, duration_s: 0.45 }, { yaw: 20, duration_s: 0.45 }, { duration_s: 0.3 }],
  // Head up a little, antennas wiggling ±35°: 70° in 0.3 s peaks at 438 °/s.
  happy: [
    NEUTRAL,
    { pitch: -8, antennas_left: 35, antennas_right: -35, duration_s: 0.3 },
    { pitch: -8, antennas_left: -35, antennas_right: 35, duration_s: 0.3 },
    { pitch: -8, antennas_left: 35, antennas_right: -35, duration_s: 0.3 },
    { duration_s: 0.4 },
  ],
  // Head down and tilted, antennas drooping, then back: 20° in 0.8 s.
  sad: [NEUTRAL, { pitch: 20, roll: 8, antennas_left: -40, antennas_right: -40, duration_s: 0.8 }, { pitch: 20, roll: 8, antennas_left: -40, antennas_right: -40, duration_s: 0.6 }, { duration_s: 0.8 }],
});

export const EXPRESSION_NAMES: ReadonlyArray<string> = Object.keys(EXPRESSIONS);

/** The steps of `name` as goto_pose targets (every axis explicit, for the envelope check). */
export function expressionTargets(name: string): Array<Record<string, number | string>> {
  return (EXPRESSIONS[name] ?? []).map((s) => ({
    kind: 'goto_pose',
    x_mm: 0,
    y_mm: 0,
    z_mm: 0,
    roll: s.roll ?? 0,
    pitch: s.pitch ?? 0,
    yaw: s.yaw ?? 0,
    antennas_left: s.antennas_left ?? 0,
    antennas_right: s.antennas_right ?? 0,
    duration_s: s.duration_s,
  }));
}

/** How long `name` takes at its planned durations (s). */
export function expressionDurationS(name: string): number {
  return (EXPRESSIONS[name] ?? []).reduce((sum, s) => sum + s.duration_s, 0);
}

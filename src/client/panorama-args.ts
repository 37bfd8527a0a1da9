// The `panorama` command line (reference-driver.md §6.3 flags and defaults): its own flags are
// taken out of argv here and turned into scan options; everything else (connection flags,
// --tenant, --json, --log-level…) is left for the driver's configuration (src/config/config.ts).
// Owns only parsing and validation; throws PanoramaUsageError (exit 2) for a bad command line.
import { parseArgs } from 'node:util';
import { defaultBodyYawSteps, defaultPitchSteps, defaultYawSteps, recommendedStepsFor360, type PanoramaScanOptions } from './panorama-scan.ts';

export class PanoramaUsageError extends Error {}

/** The reference CLI's defaults (§6.3), which differ from its library's for settle and body move time. */
export const CLI_DEFAULTS = {
  output: './panorama-out',
  waitTimeoutS: 60,
  yawSteps: 5,
  pitchSteps: 3,
  settleS: 0.5,
  bodyYawSteps: 5,
  bodyMoveS: 0.8,
  encoding: 'jpeg',
  maxEdge: 640,
  quality: 82,
  bodyDriftToleranceDeg: 3.0,
  owner: 'panorama',
} as const;

const OPTIONS = {
  output: { type: 'string' },
  'wait-timeout': { type: 'string' },
  'yaw-steps': { type: 'string' },
  'pitch-steps': { type: 'string' },
  'settle-s': { type: 'string' },
  'body-yaw-steps': { type: 'string' },
  'full-360': { type: 'boolean' },
  'body-move-s': { type: 'string' },
  encoding: { type: 'string' },
  'max-edge': { type: 'string' },
  quality: { type: 'string' },
  'no-align-head-home': { type: 'boolean' },
  'home-settle-s': { type: 'string' },
  'no-verify-body': { type: 'boolean' },
  'body-drift-tolerance-deg': { type: 'string' },
  owner: { type: 'string' },
} as const;

export interface PanoramaArgs {
  readonly output: string;
  readonly waitTimeoutS: number;
  readonly scan: Omit<PanoramaScanOptions, 'signal' | 'onProgress'>;
}

/** Splits `panorama …` argv into the panorama's own flags and the rest (for the configuration). */
export function splitPanoramaArgv(argv: readonly string[]): { own: string[]; rest: string[] } {
  const { tokens } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: false, tokens: true });
  const taken = new Set<number>();
  for (const token of tokens) {
    if (token.kind !== 'option' || !(token.name in OPTIONS)) continue;
    taken.add(token.index);
    if (OPTIONS[token.name as keyof typeof OPTIONS].type === 'string' && token.inlineValue !== true && token.value !== undefined) taken.add(token.index + 1);
  }
  return { own: argv.filter((_, i) => taken.has(i)), rest: argv.filter((_, i) => !taken.has(i)) };
}

function number(text: string | undefined, name: string, fallback: number, min: number, max: number, integer = false): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new PanoramaUsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** Frames beyond this would take hours; a typo such as `--yaw-steps 500` is refused instead. */
const MAX_STEPS = 60;

/** The scan options of the panorama's own flags. */
export function parsePanoramaArgs(own: readonly string[]): PanoramaArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: [...own], options: OPTIONS, allowPositionals: false, strict: true }).values;
  } catch (error) {
    throw new PanoramaUsageError((error as Error).message.split('\n')[0] ?? 'invalid arguments');
  }
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const full = values['full-360'] === true ? recommendedStepsFor360() : null;
  const yawCount = full ? full.headSteps : number(str('yaw-steps'), 'yaw-steps', CLI_DEFAULTS.yawSteps, 2, MAX_STEPS, true);
  const bodyCount = full ? full.bodySteps : number(str('body-yaw-steps'), 'body-yaw-steps', CLI_DEFAULTS.bodyYawSteps, 1, MAX_STEPS, true);
  const encoding = str('encoding') ?? CLI_DEFAULTS.encoding;
  if (encoding !== 'jpeg' && encoding !== 'thumbnail') throw new PanoramaUsageError(`--encoding must be jpeg or thumbnail, got ${JSON.stringify(encoding)}`);
  const owner = str('owner') ?? CLI_DEFAULTS.owner;
  if (!/^[A-Za-z0-9._:@/-]{1,64}$/.test(owner)) throw new PanoramaUsageError(`--owner must be 1–64 letters, digits or . _ : @ / -, got ${JSON.stringify(owner)}`);
  const homeSettle = str('home-settle-s');
  return {
    output: str('output') ?? CLI_DEFAULTS.output,
    waitTimeoutS: number(str('wait-timeout'), 'wait-timeout', CLI_DEFAULTS.waitTimeoutS, 0, 3600),
    scan: {
      yawSteps: defaultYawSteps(yawCount),
      pitchSteps: defaultPitchSteps(number(str('pitch-steps'), 'pitch-steps', CLI_DEFAULTS.pitchSteps, 1, MAX_STEPS, true)),
      bodyYawSteps: defaultBodyYawSteps(bodyCount),
      bodyMoveDurationS: number(str('body-move-s'), 'body-move-s', CLI_DEFAULTS.bodyMoveS, 0, 30),
      rollDeg: 0,
      settleS: number(str('settle-s'), 'settle-s', CLI_DEFAULTS.settleS, 0, 30),
      encoding,
      maxEdge: number(str('max-edge'), 'max-edge', CLI_DEFAULTS.maxEdge, 16, 4096, true),
      quality: number(str('quality'), 'quality', CLI_DEFAULTS.quality, 1, 100, true),
      owner,
      alignHeadHomeAtStart: values['no-align-head-home'] !== true,
      homeSettleS: homeSettle === undefined ? undefined : number(homeSettle, 'home-settle-s', 0, 0, 30),
      verifyBodyPose: values['no-verify-body'] !== true,
      bodyDriftToleranceDeg: number(str('body-drift-tolerance-deg'), 'body-drift-tolerance-deg', CLI_DEFAULTS.bodyDriftToleranceDeg, 0, 180),
    },
  };
}

// Recorded moves, expressions and volume (issue 12 part 2; reachy-daemon-api.md §1.2 recorded-move
// routes, §1.6 volume routes): list_moves and get/set_volume become `rpc.read` daemon calls
// (src/actors/daemon-calls.ts answers them); play_move and play_expression are ordinary tracked
// motion (`rpc.motion`: the root's gate, the motion machine's fence, the executor). A recorded
// move's poses are the dataset's: they are not envelope-checked (the target names no axes); an
// expression's steps are, each like a goto_pose. Owns the agent-facing text and the parameters.
import { degToRad as rad } from '../robot/pose-math.ts';
import { EXPRESSION_NAMES, EXPRESSIONS, expressionDurationS, expressionTargets } from '../robot/expressions.ts';
import { defineFunction } from './function-def.ts';
import { defineParams, enumParam, integerParam, stringParam } from './params.ts';
import { headMatrix, moveTimeoutMs, MOTION_LABELS, motionEvent, ownerParam, READ_LABELS, waitParam } from './robot-functions.ts';

/** The daemon's default dataset (the SDK's `play_recorded_move`, daemon-api §3). */
export const DEFAULT_DATASET = 'pollen-robotics/reachy-mini-emotions-library';
/** Move names as the issue fixes them. */
export const MOVE_NAME_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
/** Dataset ids: a Hugging Face `owner/name` (or a local path of such parts); no empty or `..` parts. */
export const DATASET_PATTERN = /^(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._-]{1,96}(\/[A-Za-z0-9._-]{1,96}){0,3}$/;
/**
 * A recorded move's length is the dataset's (the emotions are 2–10 s); the driver does not know it
 * before it ends, so a waiting call is bounded by this, and the daemon's move_completed answers it.
 */
export const RECORDED_MOVE_MAX_S = 60;

const dataset = stringParam({ description: `Recorded-move dataset: a Hugging Face dataset id (owner/name). Default ${DEFAULT_DATASET}.`, default: DEFAULT_DATASET, maxLength: 200, pattern: DATASET_PATTERN, patternText: 'owner/name of letters, digits and . _ -' });
const device = enumParam(['speaker', 'microphone'], { description: 'Which volume: the speaker (output) or the microphone (input).', default: 'speaker' });

export const listMoves = defineFunction({
  name: 'list_moves',
  description: `List the moves of a recorded-move dataset (the daemon loads it from the Hugging Face hub or its cache). Returns {dataset, moves:[names]}. Without hub access and no cached copy: Unsupported (the daemon's words included); an unknown dataset: CommandRejected. Read-only.`,
  labels: READ_LABELS,
  params: defineParams({ dataset }),
  toEvent: (p, call) => ({ type: 'rpc.read' as const, requestId: call.requestId, function: 'list_moves' as const, params: { dataset: p.dataset } }),
});

export const playMove = defineFunction({
  name: 'play_move',
  description: `Play a recorded move of a dataset (default ${DEFAULT_DATASET}) on the daemon at 100 Hz with its sound. The poses and speeds are the dataset's: the driver cannot check them, so while the operator's safety envelope is narrower than the mechanical ranges or a speed limit lower than its default it is refused (UncheckedMove); otherwise it plays unchecked (use play_expression or goto_pose for checked motion). Gated like every motion: needs the robot awake, the interlock safe and the lease free or yours; stop_motion stops it. move_name: letters, digits and . _ - (1–128). Returns the move uuid; wait=true answers when it ended (bounded by ${RECORDED_MOVE_MAX_S} s). Unknown move: CommandRejected; no hub access: Unsupported.`,
  labels: MOTION_LABELS,
  timeoutMs: (p) => moveTimeoutMs(RECORDED_MOVE_MAX_S, p.wait),
  params: defineParams({
    dataset,
    move_name: stringParam({ description: 'Name of the move in the dataset (see list_moves).', maxLength: 128, pattern: MOVE_NAME_PATTERN, patternText: 'letters, digits and . _ -' }),
    owner: ownerParam,
    wait: waitParam,
  }),
  toEvent: (p, call) =>
    motionEvent(call, p.owner, { command: { op: 'recorded', dataset: p.dataset, move: p.move_name }, target: { kind: 'recorded_move', dataset: p.dataset, move_name: p.move_name }, wait: p.wait, power: 'awake' }),
});

/** One expression step as the daemon's goto body (head offsets 0; antennas `[right, left]` rad; body untouched). */
function gotoBody(step: (typeof EXPRESSIONS)[string][number]): Record<string, unknown> {
  return {
    head_pose: { m: headMatrix(step.roll ?? 0, step.pitch ?? 0, step.yaw ?? 0, 0, 0, 0) },
    antennas: [rad(step.antennas_right ?? 0), rad(step.antennas_left ?? 0)],
    duration: step.duration_s,
    interpolation: 'minjerk',
  };
}

export const playExpression = defineFunction({
  name: 'play_expression',
  description: `Play a built-in expression (${EXPRESSION_NAMES.join(', ')}): a short series of head and antenna gotos (~2 s) that needs no Hugging Face hub. Every step is checked like goto_pose (the safety envelope, the speed limits); a stop ends the series. Needs the robot awake, the interlock safe and the lease free or yours. Answers once the last step started (wait=false, with its uuid) or ended (wait=true).`,
  labels: MOTION_LABELS,
  timeoutMs: (p) => moveTimeoutMs(expressionDurationS(p.name), true),
  params: defineParams({
    name: enumParam(EXPRESSION_NAMES as unknown as readonly [string, ...string[]], { description: 'Which expression.' }),
    owner: ownerParam,
    wait: waitParam,
  }),
  toEvent: (p, call) =>
    motionEvent(call, p.owner, {
      command: { op: 'sequence', steps: (EXPRESSIONS[p.name] ?? []).map(gotoBody) },
      target: { kind: 'expression', name: p.name, steps: expressionTargets(p.name) },
      wait: p.wait,
      power: 'awake',
    }),
});

export const getVolume = defineFunction({
  name: 'get_volume',
  description: 'The speaker or microphone volume (0–100) as the daemon reads it from its host. Returns {device, volume, platform, host_device}. A host without volume control: Unsupported. Read-only.',
  labels: READ_LABELS,
  params: defineParams({ device }),
  toEvent: (p, call) => ({ type: 'rpc.read' as const, requestId: call.requestId, function: 'get_volume' as const, params: { device: p.device } }),
});

export const setVolume = defineFunction({
  name: 'set_volume',
  description: 'Set the speaker or microphone volume (integer 0–100) on the daemon\'s host; setting the speaker also plays a short test sound. Returns {device, volume, platform, host_device}. A host without volume control: Unsupported. Never moves the robot.',
  labels: { direction: 'write', safety: 'informational' },
  params: defineParams({ volume: integerParam({ description: 'Volume in percent.', minimum: 0, maximum: 100, unit: 'percent' }), device }),
  toEvent: (p, call) => ({ type: 'rpc.read' as const, requestId: call.requestId, function: 'set_volume' as const, params: { device: p.device, volume: p.volume } }),
});

export const MOVE_FUNCTIONS = [listMoves, playMove, playExpression, getVolume, setVolume];

// "Did you mean …?" for the command line: the closest known name to a mistyped command or
// function name, by edit distance (insert, delete, substitute, swap of neighbours). Pure; owns only
// the distance and the cut-off. Used by src/cli/command-line.ts (commands) and
// src/client/cli-commands.ts (functions a device answers -32601 for). README "Command line".

/** A suggestion must be this close: 2 edits catches `devics`, `wakeup`, `get_stauts` without guessing wildly. */
export const MAX_SUGGESTION_DISTANCE = 2;
/** Short names need a tighter bound, or every 3-letter typo "means" every other 3-letter name. */
const SHORT_NAME_LENGTH = 4;

/** Optimal string alignment distance (Damerau–Levenshtein without repeated edits of one substring). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidate within the cut-off (case-insensitive, `-` and `_` alike), or undefined. */
export function closestName(input: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/-/g, '_');
  const wanted = norm(input);
  const limit = wanted.length <= SHORT_NAME_LENGTH ? 1 : MAX_SUGGESTION_DISTANCE;
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const candidate = norm(name);
    const distance = candidate === wanted ? 0 : candidate.replace(/_/g, '') === wanted.replace(/_/g, '') ? 1 : editDistance(wanted, candidate);
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

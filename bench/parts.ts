// `npm run bench -- --only startup,capture`: which parts of the bench run. Without `--only` every
// part runs; names are those bench/run.ts passes to `wants` (an unknown name is a usage error that
// lists them). Owns only this argv reading, so each bench file adds its part with one line.
const ONLY_FLAG = '--only';

function requested(argv: readonly string[]): Set<string> | null {
  const names: string[] = [];
  argv.forEach((arg, i) => {
    if (arg === ONLY_FLAG) names.push(...(argv[i + 1] ?? '').split(','));
    else if (arg.startsWith(`${ONLY_FLAG}=`)) names.push(...arg.slice(ONLY_FLAG.length + 1).split(','));
  });
  const set = new Set(names.map((n) => n.trim()).filter(Boolean));
  return set.size > 0 ? set : null;
}

/** `wants(name)` is true when `name` should run; `check(known)` throws on a name no part has. */
export function benchParts(argv: readonly string[] = process.argv.slice(2)): { wants(name: string): boolean; check(known: readonly string[]): void } {
  const only = requested(argv);
  return {
    wants: (name) => only === null || only.has(name),
    check(known) {
      const unknown = only ? [...only].filter((n) => !known.includes(n)) : [];
      if (unknown.length > 0) throw new Error(`unknown bench part ${unknown.join(', ')}; parts: ${known.join(', ')}`);
    },
  };
}

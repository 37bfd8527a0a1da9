// Structural comparison of JSON documents for the fidelity tests: the "shape" of a value is its
// JSON type, the sorted keys of objects and the length and element shapes of arrays, so two
// replies match when a client parsing one would parse the other. Also a tolerant numeric
// comparison for state values measured on the real daemon (its FK adds ~1e-4 of noise).

export type Shape = string | readonly Shape[] | { readonly [key: string]: Shape };

export function shapeOf(value: unknown): Shape {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.map(shapeOf);
  if (typeof value === 'object') {
    const out: Record<string, Shape> = {};
    for (const key of Object.keys(value as object).sort()) out[key] = shapeOf((value as Record<string, unknown>)[key]);
    return out;
  }
  return typeof value;
}

/** Keys whose values legitimately differ between runs (clock readings, random ids). */
const VOLATILE_KEYS = new Set(['timestamp', 'uuid', 'job_id']);

/** Paths where `actual` and `expected` differ by more than `tolerance` (numbers) or at all. */
export function numericDiff(actual: unknown, expected: unknown, tolerance: number, path = '$'): string[] {
  if (typeof expected === 'number' && typeof actual === 'number') {
    return Math.abs(actual - expected) <= tolerance ? [] : [`${path}: ${actual} vs ${expected}`];
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length) return [`${path}: length ${actual.length} vs ${expected.length}`];
    return expected.flatMap((item, i) => numericDiff(actual[i], item, tolerance, `${path}[${i}]`));
  }
  if (expected !== null && typeof expected === 'object' && actual !== null && typeof actual === 'object') {
    return Object.keys(expected).flatMap((key) =>
      VOLATILE_KEYS.has(key)
        ? []
        : numericDiff((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], tolerance, `${path}.${key}`),
    );
  }
  return Object.is(actual, expected) || actual === expected ? [] : [`${path}: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`];
}

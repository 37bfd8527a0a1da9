// The packaged dist/ never holds two copies of one library (scripts/dist-bundled.ts): every
// dependency that imports a bundled library is bundled too, or named as allowed with its reason.
// Read from the installed packages' own manifests, so a dependency that starts importing a bundled
// library (or a library newly bundled) fails here before it splits classes in an installed driver.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { BUNDLED, SEPARATE_COPY_ALLOWED } from '../../scripts/dist-bundled.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Manifest {
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}

function manifest(path: string): Manifest {
  return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
}

/** Our dependencies left external that import a bundled library (runtime or peer dependency). */
function externalsImportingBundled(): string[] {
  const ours = Object.keys(manifest(`${ROOT}package.json`).dependencies ?? {});
  return ours.filter((name) => {
    if (BUNDLED.includes(name)) return false;
    const theirs = manifest(`${ROOT}node_modules/${name}/package.json`);
    return Object.keys({ ...theirs.dependencies, ...theirs.peerDependencies }).some((dep) => BUNDLED.includes(dep));
  });
}

describe('dist/ bundles a library together with everything that imports it', () => {
  test('no external dependency loads its own copy of a bundled library, but those allowed', () => {
    expect(externalsImportingBundled().filter((name) => !SEPARATE_COPY_ALLOWED.includes(name))).toEqual([]);
  });

  test('the JetStream client shares the bundled NATS client (its "no responders" check is an instanceof)', () => {
    expect(BUNDLED).toContain('@nats-io/jetstream');
    expect(BUNDLED).toContain('@nats-io/nats-core');
  });

  test('the check itself finds a library importing a bundled one', () => {
    // @statelyai/inspect imports xstate and ws: found, then let through only by its allowance.
    expect(externalsImportingBundled()).toContain('@statelyai/inspect');
  });

  test('every allowance is still needed and names a dependency', () => {
    const found = externalsImportingBundled();
    for (const name of SEPARATE_COPY_ALLOWED) expect(found).toContain(name);
  });
});

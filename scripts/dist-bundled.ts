// Which libraries the packaged dist/ bundles (scripts/build-dist.ts) and the one rule that choice must
// keep: a library that imports a bundled one is bundled too. Left an import of the installed package,
// it would load its own copy of the bundled library from node_modules, and objects made by one copy
// fail the other's `instanceof` (JetStream's "no responders" check against the bundled NATS client
// did, and the audit publisher never fell back to core NATS; test/unit/dist-bundled.test.ts guards
// it). Owns the list and the exceptions; not the build itself.

/**
 * Libraries bundled (with whatever they import): those a `run` loads, each in the chunk of the code
 * that imports it (a lazily imported one stays lazy). Every other dependency — native addons (sharp,
 * node-av, node-datachannel, @roamhq/wrtc, @evan/opus) and the settings app's and MCP bridge's
 * libraries — is left an import of the installed package.
 */
export const BUNDLED: ReadonlyArray<string> = ['effect', 'undici', 'ws', 'xstate', '@nats-io/nats-core', '@nats-io/transport-node', '@nats-io/services', '@nats-io/jetstream'];

/**
 * External libraries allowed to import a bundled one, each with why two copies do no harm:
 * @statelyai/inspect (only with --inspect) takes xstate's `toObserver`, a plain function, and opens
 * its own `ws` socket; nothing it makes meets the driver's copies' `instanceof`.
 */
export const SEPARATE_COPY_ALLOWED: ReadonlyArray<string> = ['@statelyai/inspect'];

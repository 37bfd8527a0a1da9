// The configuration's one error type: bad configuration the CLI prints on one line (exit 2).
// Its own module so the config layers (config.ts, safety-config.ts) share it without a cycle.

/** Bad configuration: the CLI prints the message on one line and exits 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly _tag = 'ConfigError';
}

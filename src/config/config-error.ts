// The configuration's one error type: bad configuration the CLI prints on one line (exit 2), with
// the reason and keys the settings app turns into advice. Its own module so the config layers
// (config.ts, safety-config.ts) share it without a cycle. Owns nothing else.

/**
 * Which rule refused the configuration and which config keys it involves, for callers that word
 * the advice their own way (the settings page names fields, not environment variables).
 */
export interface ConfigProblem {
  readonly reason: 'credentials_missing' | 'portal_credentials_missing' | 'tls_ca_missing' | 'device_id_mismatch' | 'credentials_unreadable';
  readonly keys: ReadonlyArray<string>;
}

/** Bad configuration: the CLI prints the message on one line and exits 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly _tag = 'ConfigError';
  readonly problem: ConfigProblem | undefined;
  constructor(message: string, problem?: ConfigProblem) {
    super(message);
    this.problem = problem;
  }
}

// A value that must never be printed: JWTs, nkey seeds, tokens. `reveal()` is the only way out;
// JSON, string conversion and util.inspect all show `[redacted]`. Owns nothing else; where secrets
// live (the configuration's `credentials`) is config.ts's.
import { inspect } from 'node:util';

export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}

// The client's signing key (issue 13 part 2): the user nkey seed of the caller's `.creds` (or
// NATS_NKEY_SEED), with its user JWT, signs every `invoke` and `broadcast` (src/client/mesh-client.ts;
// a broadcast's signature covers its envelope too: src/protocol/caller-signature.ts) so a driver
// with --trusted-callers knows who calls. Owns turning the credentials' seed into a key pair;
// the seed stays inside it (never logged, never put on the wire). No I/O.
import type { LoadedCredentials } from '../config/credentials.ts';
import { ed25519SignerOf, type SigningKey } from '../protocol/caller-signature.ts';
import { createLogger } from '../logging/logger.ts';

const log = createLogger('client');

export interface CallerSigner {
  readonly pair: SigningKey;
  /** The user JWT, sent along so a driver trusting the issuing account (signing) key accepts the key. */
  readonly jwt: string | undefined;
}

/** The signer of these credentials, or undefined when they have no user seed (an unsigned caller). */
export function callerSignerOf(credentials: LoadedCredentials | undefined): CallerSigner | undefined {
  const seed = credentials?.seed.reveal().trim();
  if (!credentials || !seed || !seed.startsWith('SU')) return undefined;
  try {
    const jwt = credentials.jwt.reveal().trim();
    return { pair: ed25519SignerOf(seed), jwt: jwt === '' ? undefined : jwt };
  } catch (error) {
    log.warn('the credentials seed is not a valid user nkey seed; calls go unsigned', { error: (error as Error).message });
    return undefined;
  }
}

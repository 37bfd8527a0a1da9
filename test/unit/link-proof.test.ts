// The settings-link proofs (src/settings/link-proof.ts) without a server: the two sides' proofs
// differ (a server proof sent back is no client proof), each covers both nonces and the port; a
// server nonce is stateless (issuing any number stores nothing), names the client's nonce and the
// port, redeems once, not after LINK_CHALLENGE_TTL_MS (an injected clock, no waiting), not in
// another server instance; at most MAX_REDEEMED_LINK_NONCES redeemed ones are kept at once.
import { expect, test } from 'vitest';
import { clientProofOf, createLinkChallenges, isServerLinkNonce, LINK_CHALLENGE_TTL_MS, MAX_REDEEMED_LINK_NONCES, newLinkNonce, proofMatches, serverProofOf } from '../../src/settings/link-proof.ts';
import { newRandomToken } from '../../src/settings/settings-auth.ts';

const token = newRandomToken();

test('the server\'s and the client\'s proofs differ, and each changes with either nonce, the port or the token', () => {
  const exchange = { clientNonce: newLinkNonce(), serverNonce: newLinkNonce(), port: 8842 };
  const server = serverProofOf(token, exchange);
  expect(clientProofOf(token, exchange)).not.toBe(server);
  expect(proofMatches(server, serverProofOf(token, { ...exchange }))).toBe(true);
  for (const other of [{ ...exchange, port: 8843 }, { ...exchange, clientNonce: newLinkNonce() }, { ...exchange, serverNonce: newLinkNonce() }]) {
    expect(proofMatches(server, serverProofOf(token, other))).toBe(false);
  }
  expect(proofMatches(server, serverProofOf(newRandomToken(), exchange))).toBe(false);
  expect(proofMatches(undefined, server)).toBe(false);
  expect(server).not.toContain(token);
});

test('a server nonce redeems once with the client\'s proof, after any number of other challenges; a wrong proof is refused and spends nothing', () => {
  const challenges = createLinkChallenges(token, () => 0);
  const clientNonce = newLinkNonce();
  const first = challenges.challenge(clientNonce, 8842);
  expect(isServerLinkNonce(first.serverNonce)).toBe(true);
  const exchange = { clientNonce, serverNonce: first.serverNonce, port: 8842 };
  expect(first.proof).toBe(serverProofOf(token, exchange));
  for (let i = 0; i < 1000; i++) challenges.challenge(newLinkNonce(), 8842);
  expect(challenges.redeem(exchange, first.proof)).toEqual({ ok: false, _tag: 'LinkProofMismatch' });
  expect(challenges.redeem(exchange, clientProofOf(token, exchange))).toEqual({ ok: true });
  expect(challenges.redeem(exchange, clientProofOf(token, exchange))).toEqual({ ok: false, _tag: 'LinkNonceSpent' });
});

test('a server nonce names its client nonce and port, is this instance\'s only, and expires', () => {
  let now = 0;
  const challenges = createLinkChallenges(token, () => now);
  const clientNonce = newLinkNonce();
  const { serverNonce } = challenges.challenge(clientNonce, 8842);
  const unknown = { ok: false, _tag: 'LinkNonceUnknown' };
  for (const other of [{ clientNonce: newLinkNonce(), serverNonce, port: 8842 }, { clientNonce, serverNonce, port: 8843 }, { clientNonce, serverNonce: `${serverNonce.slice(0, 20)}${serverNonce[20] === 'A' ? 'B' : 'A'}${serverNonce.slice(21)}`, port: 8842 }]) {
    expect(challenges.redeem(other, clientProofOf(token, other))).toEqual(unknown);
  }
  const exchange = { clientNonce, serverNonce, port: 8842 };
  expect(createLinkChallenges(token, () => now).redeem(exchange, clientProofOf(token, exchange))).toEqual(unknown);
  now += LINK_CHALLENGE_TTL_MS;
  expect(challenges.redeem(exchange, clientProofOf(token, exchange))).toEqual({ ok: false, _tag: 'LinkNonceExpired' });
});

test(`at most ${MAX_REDEEMED_LINK_NONCES} redeemed nonces are kept: more links within their lifetime are refused, none once they expired`, () => {
  let now = 0;
  const challenges = createLinkChallenges(token, () => now);
  const redeemOne = () => {
    const clientNonce = newLinkNonce();
    const exchange = { clientNonce, serverNonce: challenges.challenge(clientNonce, 1).serverNonce, port: 1 };
    return challenges.redeem(exchange, clientProofOf(token, exchange));
  };
  const results = Array.from({ length: MAX_REDEEMED_LINK_NONCES }, redeemOne);
  expect(results.every((r) => r.ok)).toBe(true);
  expect(redeemOne()).toEqual({ ok: false, _tag: 'TooManyLinks' });
  now += LINK_CHALLENGE_TTL_MS;
  expect(redeemOne()).toEqual({ ok: true });
});

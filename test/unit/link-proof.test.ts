// The settings-link proofs (src/settings/link-proof.ts) without a server: the two sides' proofs
// differ (a server proof sent back is no client proof), each covers both nonces and the port, a
// pending challenge redeems once, not after LINK_CHALLENGE_TTL_MS (an injected clock, no waiting),
// and at most MAX_LINK_CHALLENGES are kept.
import { expect, test } from 'vitest';
import { clientProofOf, createLinkChallenges, isLinkNonce, LINK_CHALLENGE_TTL_MS, MAX_LINK_CHALLENGES, newLinkNonce, proofMatches, serverProofOf } from '../../src/settings/link-proof.ts';
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

test('a challenge redeems once with the client\'s proof; a wrong proof spends it; none redeems after its time', () => {
  let now = 0;
  const challenges = createLinkChallenges(token, () => now);
  const clientNonce = newLinkNonce();
  const first = challenges.challenge(clientNonce, 8842);
  expect(isLinkNonce(first.serverNonce)).toBe(true);
  expect(first.proof).toBe(serverProofOf(token, { clientNonce, serverNonce: first.serverNonce, port: 8842 }));
  const proofFor = (serverNonce: string) => clientProofOf(token, { clientNonce, serverNonce, port: 8842 });
  expect(challenges.redeem(first.serverNonce, proofFor(first.serverNonce))).toBe(true);
  expect(challenges.redeem(first.serverNonce, proofFor(first.serverNonce))).toBe(false);
  const second = challenges.challenge(clientNonce, 8842);
  expect(challenges.redeem(second.serverNonce, second.proof)).toBe(false);
  expect(challenges.redeem(second.serverNonce, proofFor(second.serverNonce))).toBe(false);
  const late = challenges.challenge(clientNonce, 8842);
  now += LINK_CHALLENGE_TTL_MS;
  expect(challenges.redeem(late.serverNonce, proofFor(late.serverNonce))).toBe(false);
});

test(`at most ${MAX_LINK_CHALLENGES} challenges are pending: the oldest is dropped`, () => {
  const challenges = createLinkChallenges(token, () => 0);
  const clientNonce = newLinkNonce();
  const issued = Array.from({ length: MAX_LINK_CHALLENGES + 1 }, () => challenges.challenge(clientNonce, 1).serverNonce);
  const redeem = (serverNonce: string) => challenges.redeem(serverNonce, clientProofOf(token, { clientNonce, serverNonce, port: 1 }));
  expect(redeem(issued[0] ?? '')).toBe(false);
  expect(issued.slice(1).every(redeem)).toBe(true);
});

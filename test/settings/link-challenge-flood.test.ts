// The settings-link handshake against a flood of challenges, over real HTTP to a real server on
// port 0: anyone on the machine may ask for challenges (no login), but that stores nothing, so 100
// of them between a real client's challenge and its redemption do not stop it getting its link.
// When the server does refuse a proven client, `settings-link` says the server's real reason (its
// error_tag), not "needs proof of the app token".
import { request } from 'undici';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { requestLoginLink } from '../../src/adapters/settings-http/settings-link-client.ts';
import { clientProofOf, MAX_REDEEMED_LINK_NONCES, newLinkNonce, serverProofOf } from '../../src/settings/link-proof.ts';
import { call, startHarness, type Harness } from './settings-harness.ts';

/** What a flooding process sends: challenges for nonces of its own, no login, nothing else. */
const FLOOD = 100;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

async function challengeOf(clientNonce: string): Promise<string> {
  const answer = await call(h.server.url, 'POST', '/api/login-link/challenge', { json: { client_nonce: clientNonce } });
  expect(answer.json.proof).toBe(serverProofOf(h.token(), { clientNonce, serverNonce: answer.json.server_nonce, port: h.server.port }));
  return answer.json.server_nonce as string;
}

async function flood(): Promise<number[]> {
  const one = async () => {
    const res = await request(`${h.server.url}/api/login-link/challenge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_nonce: newLinkNonce() }) });
    await res.body.dump();
    return res.statusCode;
  };
  // One after another on kept-alive connections, as a flooding loop does (the server limits sockets, not requests).
  const statuses: number[] = [];
  for (let i = 0; i < FLOOD; i++) statuses.push(await one());
  process.stdout.write(`  (another process) ${FLOOD} × POST /api/login-link/challenge → ${[...new Set(statuses)].join(', ')}\n`);
  return statuses;
}

test(`${FLOOD} unauthenticated challenges between a client's challenge and its redemption do not stop its link`, async () => {
  const clientNonce = newLinkNonce();
  const serverNonce = await challengeOf(clientNonce);
  expect((await flood()).every((s) => s === 200)).toBe(true);
  const proof = clientProofOf(h.token(), { clientNonce, serverNonce, port: h.server.port });
  const minted = await call(h.server.url, 'POST', '/api/login-link', { json: { client_nonce: clientNonce, server_nonce: serverNonce, proof } });
  expect(minted.status).toBe(200);
  const link = new URL(minted.json.url as string);
  expect((await call(h.server.url, 'GET', link.pathname + link.search)).status).toBe(303);
});

test('a proven server that refuses the link request: settings-link says the server\'s reason and tag, not that it lacks proof of the token', async () => {
  // Fill the server's redeemed-nonce bound (only a token holder can) so the next proven request is refused.
  for (let i = 0; i < MAX_REDEEMED_LINK_NONCES; i++) {
    const clientNonce = newLinkNonce();
    const serverNonce = await challengeOf(clientNonce);
    const proof = clientProofOf(h.token(), { clientNonce, serverNonce, port: h.server.port });
    const answer = await request(`${h.server.url}/api/login-link`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_nonce: clientNonce, server_nonce: serverNonce, proof }) });
    await answer.body.dump();
  }
  const answer = await requestLoginLink(h.configDir);
  process.stdout.write(`  settings-link → ${JSON.stringify(answer)}\n`);
  expect(answer.ok).toBe(false);
  if (answer.ok) return;
  expect(answer._tag).toBe('Refused');
  expect(answer.error).toMatch(/proved itself but refused the link request \(TooManyLinks: more than \d+ login links were given in the last 30 s/);
  expect(answer.error).not.toMatch(/needs proof of the app token/);
});

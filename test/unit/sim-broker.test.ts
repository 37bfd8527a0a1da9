// `--sim` broker choice: the default URL is used when something answers there; otherwise a private
// loopback nats-server is started (a real one here), or, with none installed, a ConfigError names
// both fixes. Configured URLs are never replaced.
import { expect, test } from 'vitest';
import { loadConfig } from '../../src/adapters/config-files.ts';
import { ConfigError } from '../../src/config/config.ts';
import { brokerAnswers, chooseBrokers, findNatsServer, startPrivateBroker } from '../../src/adapters/private-nats-server.ts';

const env = { REACHY_MINI_DRIVER_SETTINGS_FILE: '/nonexistent/s.json', PATH: process.env.PATH ?? '' };
const simDefault = loadConfig({ argv: ['--sim'], env });

test('uses the default broker when it answers', async () => {
  const choice = await chooseBrokers(simDefault, { answers: async () => true, findBinary: () => undefined, start: async () => { throw new Error('must not start'); } });
  expect(choice).toEqual({ urls: ['nats://127.0.0.1:4222'] });
});

test('starts a private loopback nats-server when nothing answers', async () => {
  const choice = await chooseBrokers(simDefault, { answers: async () => false, findBinary: findNatsServer, start: startPrivateBroker });
  try {
    expect(choice.urls[0]).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(choice.urls[0]).not.toBe('nats://127.0.0.1:4222');
    expect(await brokerAnswers(choice.urls[0]!)).toBe(true);
  } finally {
    await choice.broker?.stop();
  }
  expect(await brokerAnswers(choice.urls[0]!)).toBe(false);
});

test('without nats-server it refuses with a message naming both fixes', async () => {
  const attempt = chooseBrokers(simDefault, { answers: async () => false, findBinary: () => undefined, start: startPrivateBroker });
  await expect(attempt).rejects.toBeInstanceOf(ConfigError);
  await expect(attempt).rejects.toThrow(/apt-get install nats-server.*MESSAGING_URLS/);
});

test('configured URLs are kept even when nothing answers', async () => {
  const configured = loadConfig({ argv: ['--sim', '--messaging-url', 'nats://127.0.0.1:1'], env });
  const choice = await chooseBrokers(configured, { answers: async () => false, findBinary: () => '/bin/false', start: async () => { throw new Error('must not start'); } });
  expect(choice).toEqual({ urls: ['nats://127.0.0.1:1'] });
});

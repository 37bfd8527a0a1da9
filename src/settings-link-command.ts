// `reachy-mini-driver settings-link`: prints a fresh one-time login link of the running settings
// app (every URL it listens on), for when the printed one was used, expired or scrolled away.
// Reads --config-dir like the app does (loadSettingsServerConfig); the handshake
// itself is src/adapters/settings-http/settings-link-client.ts. Exit 0 with the link on stdout,
// 1 when no app answers or what answers does not prove it holds the token within the handshake's
// deadline (why on stderr, no link), 2 on bad flags.
import { ConfigError, loadSettingsServerConfig } from './config/config.ts';
import { requestLoginLink } from './adapters/settings-http/settings-link-client.ts';

export async function runSettingsLink(argv: ReadonlyArray<string>, env: Readonly<Record<string, string | undefined>>, out: (line: string) => void, err: (line: string) => void): Promise<number> {
  let server;
  try {
    server = loadSettingsServerConfig({ argv: argv.filter((a) => a !== 'settings-link'), env });
  } catch (error) {
    if (error instanceof ConfigError) {
      err(`reachy-mini-driver settings-link: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const answer = await requestLoginLink(server.configDir);
  if (!answer.ok) {
    err(`reachy-mini-driver settings-link: ${answer.error}`);
    return 1;
  }
  out(`one-time login link (works once, for ${Math.round(answer.expiresInS / 60)} minutes; any earlier unused link stops working):`);
  for (const url of answer.urls) out(`  ${url}`);
  return 0;
}

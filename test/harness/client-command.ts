// The client subcommands (`devices`, `functions`, `call`, `events`, `panorama`) run in-process through
// runClientCommand against a broker URL (tenant `default`, infra discovery unless `extra` says
// otherwise), with every printed line captured: stdout, stderr, and both in the order printed (what
// one terminal shows). Owns only that capture; the broker and the fakes on it are the test's.
import { runClientCommand, type ClientCommandArgs } from '../../src/client/cli-commands.ts';

export interface CapturedClientCommand {
  readonly code: number;
  /** Lines printed on stdout (`out`). */
  readonly out: string[];
  /** Lines printed on stderr (`err`): errors, hints and notices. */
  readonly err: string[];
  /** Both, in the order printed. */
  readonly lines: string[];
}

export async function runCapturedClientCommand(url: string, command: ClientCommandArgs['command'], positional: string[], extra: Partial<ClientCommandArgs> = {}): Promise<CapturedClientCommand> {
  const out: string[] = [];
  const err: string[] = [];
  const lines: string[] = [];
  const code = await runClientCommand({
    command,
    positional,
    connectOptions: { servers: url },
    tenant: 'default',
    discoveryMode: 'infra',
    out: (line) => (out.push(line), lines.push(line)),
    err: (line) => (err.push(line), lines.push(line)),
    ...extra,
  });
  return { code, out, err, lines };
}

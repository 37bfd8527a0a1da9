// Colour on the terminal, and only there: the `error`/`warning` prefix of the CLI's stderr lines is
// red/yellow when stderr is a TTY, never when NO_COLOR is set (https://no-color.org, any non-empty
// value) or TERM=dumb; FORCE_COLOR (non-empty, not `0`) turns it on for a pipe unless NO_COLOR is
// set. Pure: the caller passes the environment and whether the stream is a TTY. stdout is never
// coloured (it carries tables and JSON). README "Command line".

export interface StyleEnv {
  readonly NO_COLOR?: string | undefined;
  readonly FORCE_COLOR?: string | undefined;
  readonly TERM?: string | undefined;
}

export function colourWanted(env: StyleEnv, isTty: boolean): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return isTty && env.TERM !== 'dumb';
}

const RED = '\u001b[31m';
const YELLOW = '\u001b[33m';
const RESET = '\u001b[0m';

/** `word` in red (errors) or yellow (hints), or as it is when colour is off. */
export function paint(word: string, colour: 'red' | 'yellow', on: boolean): string {
  return on ? `${colour === 'red' ? RED : YELLOW}${word}${RESET}` : word;
}

// What the driver prints once it runs: the exact client commands to try next, with the device id
// it really uses, the options another terminal needs to reach the same mesh (tenant, broker URL
// when it came from a flag or the environment), and how the client finds a private `--sim` broker.
// Pure text; src/cli.ts prints it on stdout. test/integration/first-flow.test.ts runs these very
// commands, so they cannot drift from the product. README "First steps".

export interface NextStepsInput {
  readonly deviceId: string;
  readonly tenant: string;
  /** Where the tenant came from (config `sources.tenant`): anything but the default needs `--tenant`. */
  readonly tenantSource: string | undefined;
  readonly urls: readonly string[];
  /** Where the URLs came from (config `sources.messagingUrls`); `flag`/`env` must be repeated by the client. */
  readonly urlsSource: string | undefined;
  readonly sim: boolean;
  /** The private broker's URL and where it is recorded (or why it could not be). */
  readonly privateBroker?: { readonly url: string; readonly recordedAt?: string; readonly notRecorded?: string };
}

/** How a person runs the installed binary: through npx, from the clone or an install folder. */
export const CLIENT_PREFIX = 'npx reachy-mini-driver';
/** A gentle first move: a small head turn, well inside every limit. */
export const FIRST_LOOK = '{"yaw": 20}';

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The options a client in another terminal must add to reach this driver. */
export function clientOptions(input: NextStepsInput): string {
  const options: string[] = [];
  if (!input.privateBroker && (input.urlsSource === 'flag' || input.urlsSource === 'env')) options.push(`--messaging-url ${shellQuote(input.urls.join(','))}`);
  if (input.tenant !== 'default' && (input.tenantSource === 'flag' || input.tenantSource === 'env')) options.push(`--tenant ${shellQuote(input.tenant)}`);
  return options.length > 0 ? ' ' + options.join(' ') : '';
}

/** The client commands, one per line, exactly as a person types them. */
export function nextCommands(input: NextStepsInput): string[] {
  const opts = clientOptions(input);
  const id = shellQuote(input.deviceId);
  return [
    `${CLIENT_PREFIX} devices${opts}`,
    `${CLIENT_PREFIX} functions ${id}${opts}`,
    `${CLIENT_PREFIX} call ${id} wake_up '{"wait": true}'${opts}`,
    `${CLIENT_PREFIX} call ${id} look_at_world '${FIRST_LOOK}'${opts}`,
    `${CLIENT_PREFIX} call ${id} get_status${opts}`,
  ];
}

/** The whole start-up hint: the commands, then how the client reaches a private broker. */
export function nextStepsText(input: NextStepsInput): string {
  const lines = ['', 'Try it from another terminal:', ...nextCommands(input).map((c) => `  ${c}`)];
  const broker = input.privateBroker;
  if (broker?.recordedAt) {
    lines.push(
      '',
      `The client commands find this private broker through ${broker.recordedAt} (removed when the driver stops).`,
      `Elsewhere (another user, a container), point them at it: MESSAGING_URLS=${broker.url} ${CLIENT_PREFIX} devices`,
    );
  } else if (broker) {
    lines.push('', `The broker could not be recorded (${broker.notRecorded ?? 'unknown reason'}): run the client commands with MESSAGING_URLS=${broker.url}`);
  }
  lines.push('', 'Ctrl-C stops the driver.');
  return lines.join('\n') + '\n';
}

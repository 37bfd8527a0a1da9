// The driver under the settings app (`reachy-mini-driver app`, or `run --settings`): the driver
// starts as soon as the configuration is valid (at launch, before the server listens: a start that
// fails there is thrown), and the settings server runs even while it is not (no credentials uploaded);
// `apply` (or a save) reconfigures the running driver, which restarts only the affected actors. Owns
// that orchestration (one apply at a time, the configuration in effect, stopping) and the one-time
// login link on stdout; the server (src/adapters/settings-http/) owns HTTP and files, the page's
// wording src/settings/settings-advice.ts; the driver owns the machines.
import { loadConfig } from './adapters/config-files.ts';
import { ConfigError, loadSettingsServerConfig, type DriverConfig, type LoadConfigInput } from './config/config.ts';
import { createLiveView } from './actors/live-view.ts';
import { adviceForConfigError, adviceForRestart, adviceForPolicyConflict, leftOutAnswer } from './settings/settings-advice.ts';
import { createLogger, setLogLevel } from './logging/logger.ts';
import { messageOf } from './errors.ts';
import { chooseBrokers, type BrokerChoiceDeps, type PrivateBroker } from './adapters/private-nats-server.ts';
import { startDriver, startPolicy, type RunningDriver } from './driver.ts';
import { oneAtATime } from './one-at-a-time.ts';
import type { SettingsAuditChange } from './adapters/settings-http/settings-audit-change.ts';
import { startSettingsServer, type SettingsServer } from './adapters/settings-http/settings-server.ts';

const log = createLogger('app');

/** Settings changes kept for the audit while no driver runs (a handful of saves; more is a page left looping). */
const UNAUDITED_MAX = 100;

/**
 * How long stopping waits for an apply under way (a driver start or a reconfigure) before it stops
 * without it. Each step of an apply has its own deadline (broker reach 2 s, the duplicate-id probe
 * 2.5 s, the motion settle), so an apply still running after this is stuck on something that never
 * answers. The whole stop must end inside the dashboard's 10 s before SIGKILL (launcher.py
 * STOP_GRACE_S): motion stop 2 s (SHUTDOWN_STOP_WAIT_MS) + this + the audit drain 2 s + closing ≈ 1 s.
 */
export const APPLY_WAIT_AT_STOP_MS = 4_000;

export interface AppHandle {
  readonly settings: SettingsServer;
  driver(): RunningDriver | undefined;
  stop(): Promise<void>;
}

/** What a test may replace: how the --sim broker is chosen (the real probe, binary and nats-server by default). */
export interface AppModeDeps {
  readonly brokers?: BrokerChoiceDeps;
}

/**
 * The driver's first start, on the brokers `chooseBrokers` picks. A start that fails stops the
 * private broker it started (a retried apply starts its own) and then fails as before.
 */
async function firstStart(config: DriverConfig, inspect: ReturnType<typeof createLiveView>['observer'], deps: AppModeDeps): Promise<{ readonly driver: RunningDriver; readonly broker: PrivateBroker | undefined }> {
  const choice = await chooseBrokers(config, deps.brokers);
  try {
    return { driver: await startDriver(config, { messagingUrls: choice.urls, inspect }), broker: choice.broker };
  } catch (error) {
    await choice.broker?.stop();
    throw error;
  }
}

/**
 * Waits for `applyOver` at most APPLY_WAIT_AT_STOP_MS; past that, says once what was still under
 * way, why it may hang and what to check, and returns (the stop goes on without it).
 */
async function applyOverOrGiveUp(applyOver: Promise<unknown>, underWay: () => string | undefined): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), APPLY_WAIT_AT_STOP_MS)));
  const over = await Promise.race([applyOver.then(() => true), expired]).finally(() => clearTimeout(timer));
  if (over) return;
  log.warn('stopping without waiting any longer for the settings apply under way', {
    waited_ms: APPLY_WAIT_AT_STOP_MS,
    cause: `${underWay() ?? 'the apply'} has not finished: something it dials (the daemon, a broker) may accept connections and never answer`,
    fix: 'check the Reachy daemon address and the messaging URLs (Validate on the settings page) and that they answer; a start that ends later stops what it started',
  });
}

/**
 * Applies the saved settings once (starting the driver when they are valid), then starts the
 * settings server with the status, the configuration in effect and the live view, and prints every
 * URL it listens on and the one-time login link on `out`.
 */
export async function startWithSettings(input: LoadConfigInput, out: (line: string) => void, deps: AppModeDeps = {}): Promise<AppHandle> {
  const server = loadSettingsServerConfig(input);
  let running: RunningDriver | undefined;
  let broker: PrivateBroker | undefined;
  let configError: string | null = null;
  /** What the running driver uses: set only when a start or an apply succeeded (the page never shows an unapplied save as in effect). */
  let inEffect: DriverConfig | undefined;
  /** Set once stop() began: applies queued after it answer AppStopping. */
  let stopping = false;
  /** What the apply under way is doing, for the log line of a stop that does not wait for it. */
  let underWay: string | undefined;
  const liveView = createLiveView();
  // Changes saved before the driver runs (the first credentials upload) are audited once it starts.
  const unaudited: SettingsAuditChange[] = [];
  const audit = (change: SettingsAuditChange): void => {
    if (running) running.recordChange({ ...change, owner: 'settings' });
    else if (unaudited.length < UNAUDITED_MAX) unaudited.push({ ...change, fields: { ...change.fields, saved_at: new Date().toISOString() } });
  };

  // One start or apply of the saved settings: a failure, and the parts an apply left out, are worded
  // in the page's fields (src/settings/settings-advice.ts).
  const applyOnce = async (): Promise<Record<string, unknown>> => {
    if (stopping) return { ok: false, error: 'the settings app is stopping', issues: [], error_tag: 'AppStopping', started: false };
    let config;
    try {
      config = loadConfig(input);
      startPolicy(config);
    } catch (error) {
      // Anything else that stops the configuration loading (a file that cannot be read) keeps the page up too: it is where it gets fixed.
      if (!(error instanceof ConfigError)) {
        log.error('the configuration could not be read; the driver waits for valid settings', { error: messageOf(error) });
        configError = `the configuration could not be read: ${messageOf(error)}`;
        return { ok: false, error: configError, issues: [], error_tag: 'ConfigUnreadable', started: false };
      }
      log.warn('configuration not usable yet; the driver waits for valid settings', { error: error.message });
      running?.recordChange({ kind: 'reconfigure_refused', reason: error.message, owner: 'settings', fields: { error_tag: error._tag } });
      const advice = adviceForConfigError(error);
      // Shown on the page's Live status: worded for the page, like the apply result.
      configError = advice.error;
      return { ok: false, error: advice.error, issues: advice.issues, error_tag: error._tag, started: false };
    }
    configError = null;
    // What `run` says at start (a credentials file others can read, insecure mode…), said for each accepted configuration.
    setLogLevel(config.logLevel);
    for (const warning of config.warnings) log.warn(warning);
    if (!running) {
      underWay = 'starting the driver';
      const started = await firstStart(config, liveView.observer, deps).finally(() => (underWay = undefined));
      // The app stopped while this start ran (and did not wait for it): what it started is stopped here.
      if (stopping) {
        log.info('the driver started after the settings app began stopping: stopping it');
        await started.driver.stop();
        await started.broker?.stop();
        return { ok: false, error: 'the settings app stopped while the driver started', issues: [], error_tag: 'AppStopping', started: false };
      }
      ({ driver: running, broker } = started);
      for (const change of unaudited.splice(0)) running.recordChange({ ...change, owner: 'settings' });
      inEffect = config;
      return { ok: true, started: true, restarted: ['mesh', 'daemon_link'] };
    }
    underWay = 'applying the saved settings to the running driver';
    const result = await running.reconfigure(config).finally(() => (underWay = undefined));
    if (!result.ok) {
      const error = result.error;
      // Nothing changed: the driver stays on the robot that has not settled (its message says so, for the page).
      if (error._tag === 'StopUnconfirmed') return { ok: false, error: error.message, issues: [], error_tag: error._tag, started: false };
      // Nothing changed: another device already answers with the new id there, or none of the new brokers can be reached (the message says what to do).
      if (error._tag === 'DuplicateDeviceId' || error._tag === 'BrokerUnreachable') return { ok: false, error: error.message, issues: [], error_tag: error._tag, started: false };
      // Nothing changed: the saved envelope and the supervisor's range in force leave an axis with no range.
      if (error._tag === 'PolicyConflict') return { ok: false, ...adviceForPolicyConflict(error), error_tag: error._tag, axis: error.axis, started: false };
      const advice = adviceForRestart(error.fields);
      return { ok: false, error: advice.error, issues: advice.issues, error_tag: error._tag, restart_required: error.fields, started: false };
    }
    // What the driver runs with: without the parts left out (the page marks their saved values not in effect).
    inEffect = running.config;
    const leftOut = result.notInEffect;
    if (!leftOut || leftOut.length === 0) return { ok: true, started: false, restarted: result.restarted };
    return { ok: true, started: false, restarted: result.restarted, ...leftOutAnswer(leftOut) };
  };
  // One apply at a time: two at once (a double click, two tabs, a save during an upload) each saw no
  // driver and started one, and the first was never stopped. The second now waits for the first and
  // then applies to the driver it started (nothing left to change: `restarted: []`).
  const applySaved = oneAtATime<void, Record<string, unknown>>(applyOnce);

  const status = (): Record<string, unknown> =>
    running ? { ...running.statusSnapshot(), config_error: configError } : { mesh: 'not started', daemon_link: 'not started', config_error: configError };

  await applySaved();
  let stopped: Promise<void> | undefined;
  const settings = await startSettingsServer({
    host: server.host,
    port: server.port,
    configDir: server.configDir,
    settingsFile: server.settingsFile,
    argv: input.argv,
    env: input.env,
    status,
    apply: applySaved,
    allowedHosts: server.allowedHosts,
    inEffect: () => (running ? inEffect : undefined),
    dialedDaemon: () => running?.robot.daemonBaseUrl,
    liveView,
    onAudit: audit,
  });
  out('settings app listening on:');
  for (const url of settings.urls) out(`  ${url}`);
  out('one-time login link (open one of these in a browser; it works once, for an hour):');
  for (const url of settings.urls) out(`  ${url}${settings.loginPath}`);
  out(`a new login link: npx reachy-mini-driver settings-link · live view of the state machines (after logging in): ${settings.url}/live.html`);
  return {
    settings,
    driver: () => running,
    stop: () => (stopped ??= stopApp()),
  };

  /**
   * Motion first (the robot must not go on moving while the stop waits), then the page, then an
   * apply under way, waited for at most APPLY_WAIT_AT_STOP_MS (a start that ends later stops what
   * it started itself), then the driver and the private broker.
   */
  async function stopApp(): Promise<void> {
    stopping = true;
    await running?.robot.stopMotionForShutdown();
    await settings.close();
    // Queued behind the apply under way (answering AppStopping at once): settles when that one is over.
    await applyOverOrGiveUp(applySaved(), () => underWay);
    await running?.stop();
    await broker?.stop();
  }
}

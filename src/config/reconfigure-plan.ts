// What a new configuration changes for a running driver, compared over the WHOLE configuration:
// which live parts restart (mesh, daemon link, media: a new daemon host moves media, its signalling
// host follows), whether the configured safety policy changed (applied live, through the root), and
// which changed fields need a process restart (RestartRequired, by settings-file name when they
// have one). A --sim driver always uses its emulator: a new daemon address is left out and listed
// as not in effect (`simIgnored`), the rest applies (`inEffectAfter` is what then runs). Pure: no
// I/O; the driver applies the plan. Issue "Reconfigure says applied when it did not".
import { createHash } from 'node:crypto';
import { CONFIG_KEYS, type DriverConfig } from './config.ts';

export interface ReconfigurePlan {
  /** The configured safety policy changed: its changed fields are written on the live policy, through the root (audited like set_safety_policy). */
  readonly policy: boolean;
  readonly mesh: boolean;
  readonly daemonLink: boolean;
  readonly media: boolean;
  /** Settings fields naming a daemon address that a --sim driver cannot take (it always uses its emulator): left out, the rest applies. */
  readonly simIgnored: ReadonlyArray<string>;
  /** Changed fields a running driver cannot take (empty: the plan can be applied live). */
  readonly restartRequired: ReadonlyArray<string>;
}

type Key = keyof DriverConfig;

/** Fields the running driver applies by restarting the mesh connection. */
const MESH_KEYS: ReadonlyArray<Key> = ['deviceId', 'tenant', 'messagingUrls', 'discoveryMode', 'deviceTtlS', 'registerTimeoutS', 'registerJitterS', 'tls', 'credentials', 'credentialsPath', 'portal', 'allowInsecure'];
/** Fields applied by retargeting the daemon link. */
const DAEMON_KEYS: ReadonlyArray<Key> = ['daemonHost', 'daemonPort', 'transportMode'];
/**
 * Where the daemon is, all read from settings `reachy_target` (the signalling host defaults to the
 * daemon's, TLS follows an https target): never where a --sim driver goes, it keeps its emulator.
 */
const DAEMON_ADDRESS_KEYS: ReadonlyArray<Key> = ['daemonHost', 'daemonPort', 'daemonTls', 'signallingHost'];
/** Their layers in `sources` (the settings page shows where the value in effect came from). */
const DAEMON_ADDRESS_SOURCES: ReadonlyArray<string> = ['target', 'host', 'apiPort', 'daemonTls', 'signallingHost'];
/** The settings field behind DAEMON_ADDRESS_KEYS, named in the not-in-effect report. */
const DAEMON_ADDRESS_FIELD = 'reachy_target';
/** Fields applied by restarting the media session (it reconnects to the signalling host and port). */
const MEDIA_KEYS: ReadonlyArray<Key> = ['daemonHost', 'signallingHost', 'signallingPort', 'soundsDir', 'allowOversizeRaw', 'monitors'];
/** Fields the root applies live as one safety policy document (rateLimits is part of it). */
const POLICY_KEYS: ReadonlyArray<Key> = ['safetyPolicy', 'rateLimits'];
/** Bookkeeping of how the config was read, not behaviour: never a reason to restart anything. */
const META_KEYS: ReadonlyArray<Key> = ['command', 'positional', 'argv', 'sources', 'warnings', 'searchPath', 'settingsFile', 'json', 'reachyPrefix'];

/** Comparable form of a field; credentials by a hash of their content, never the content. */
function comparable(config: DriverConfig, key: Key): string {
  if (key === 'credentials') {
    const c = config.credentials;
    return c ? createHash('sha256').update(c.jwt.reveal()).update(c.seed.reveal()).digest('hex') : '';
  }
  if (key === 'daemonToken') return config.daemonToken ? createHash('sha256').update(config.daemonToken.reveal()).digest('hex') : '';
  return JSON.stringify(config[key]) ?? 'undefined';
}

function changed(current: DriverConfig, next: DriverConfig, keys: ReadonlyArray<Key>): ReadonlyArray<Key> {
  return keys.filter((key) => comparable(current, key) !== comparable(next, key));
}

/** The settings-file name of a config key when it has one (`sim` → `simulate`; the daemon address → `reachy_target`), else the key. */
function displayName(key: Key): string {
  if (DAEMON_ADDRESS_KEYS.includes(key)) return DAEMON_ADDRESS_FIELD;
  return CONFIG_KEYS.find((row) => row.key === key)?.settings ?? key;
}

/**
 * The configuration a driver runs with once `next` is applied: `next` itself, except that a --sim
 * driver keeps its daemon address (and the layers it came from), so the page shows the saved one
 * as not in effect, and the next apply compares against the address really in use.
 */
export function inEffectAfter(current: DriverConfig, next: DriverConfig): DriverConfig {
  if (!current.sim) return next;
  const kept = Object.fromEntries(DAEMON_ADDRESS_KEYS.map((key) => [key, current[key]]));
  const keptSources = Object.fromEntries(DAEMON_ADDRESS_SOURCES.flatMap((key) => (current.sources[key] === undefined ? [] : [[key, current.sources[key]]])));
  return { ...next, ...kept, sources: Object.freeze({ ...next.sources, ...keptSources }) };
}

export function reconfigurePlan(current: DriverConfig, next: DriverConfig): ReconfigurePlan {
  // A --sim driver compares without its daemon address: the emulator stays, whatever is saved.
  const ignored = new Set<Key>(current.sim ? DAEMON_ADDRESS_KEYS : []);
  const live = new Set<Key>([...MESH_KEYS, ...DAEMON_KEYS, ...MEDIA_KEYS, ...POLICY_KEYS, ...META_KEYS, ...ignored]);
  const all = Object.keys({ ...current, ...next }) as Key[];
  const restartRequired = [...new Set(changed(current, next, all.filter((key) => !live.has(key))).map(displayName))];
  const considered = (keys: ReadonlyArray<Key>) => keys.filter((key) => !ignored.has(key));
  return {
    policy: changed(current, next, ['safetyPolicy']).length > 0,
    mesh: changed(current, next, MESH_KEYS).length > 0,
    daemonLink: changed(current, next, considered(DAEMON_KEYS)).length > 0,
    simIgnored: changed(current, next, [...ignored]).length > 0 ? [DAEMON_ADDRESS_FIELD] : [],
    media: !current.noMedia && changed(current, next, considered(MEDIA_KEYS)).length > 0,
    restartRequired,
  };
}

// What a new configuration changes for a running driver, compared over the WHOLE configuration:
// which live parts restart (the mesh connection, the daemon link, the media session), whether the
// configured safety policy changed (its changed fields are applied live, through the root), and
// which changed fields cannot be applied without a process restart (reported as RestartRequired, by their
// settings-file name when they have one). A driver on its embedded emulator (--sim) always uses
// it: a new daemon address is listed as not in effect there (`simIgnored`), a new transport still
// restarts the link to the emulator. Pure: no I/O; the driver applies the plan. Issue
// "Reconfigure says applied when it did not".
import { createHash } from 'node:crypto';
import { CONFIG_KEYS, type DriverConfig } from './config.ts';

export interface ReconfigurePlan {
  /** The configured safety policy changed: its changed fields are written on the live policy, through the root (audited like set_safety_policy). */
  readonly policy: boolean;
  readonly mesh: boolean;
  readonly daemonLink: boolean;
  readonly media: boolean;
  /** Settings fields naming a daemon address that a --sim driver cannot take (it always uses its emulator). */
  readonly simIgnored: ReadonlyArray<string>;
  /** Changed fields a running driver cannot take (empty: the plan can be applied live). */
  readonly restartRequired: ReadonlyArray<string>;
}

type Key = keyof DriverConfig;

/** Fields the running driver applies by restarting the mesh connection. */
const MESH_KEYS: ReadonlyArray<Key> = ['deviceId', 'tenant', 'messagingUrls', 'discoveryMode', 'deviceTtlS', 'registerTimeoutS', 'registerJitterS', 'tls', 'credentials', 'credentialsPath', 'portal', 'allowInsecure'];
/** Fields applied by retargeting the daemon link. */
const DAEMON_KEYS: ReadonlyArray<Key> = ['daemonHost', 'daemonPort', 'transportMode'];
/** Where the daemon is (settings `reachy_target`): never where a --sim driver goes, it keeps its emulator. */
const DAEMON_ADDRESS_KEYS: ReadonlyArray<Key> = ['daemonHost', 'daemonPort'];
/** Fields applied by restarting the media session. */
const MEDIA_KEYS: ReadonlyArray<Key> = ['daemonHost', 'signallingPort', 'soundsDir', 'allowOversizeRaw', 'monitors'];
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

/** The settings-file name of a config key when it has one (`sim` → `simulate`), else the key. */
function displayName(key: string): string {
  return CONFIG_KEYS.find((row) => row.key === key)?.settings ?? key;
}

export function reconfigurePlan(current: DriverConfig, next: DriverConfig): ReconfigurePlan {
  const live = new Set<Key>([...MESH_KEYS, ...DAEMON_KEYS, ...MEDIA_KEYS, ...POLICY_KEYS, ...META_KEYS]);
  const all = Object.keys({ ...current, ...next }) as Key[];
  const restartRequired = changed(current, next, all.filter((key) => !live.has(key))).map(displayName);
  return {
    policy: changed(current, next, ['safetyPolicy']).length > 0,
    mesh: changed(current, next, MESH_KEYS).length > 0,
    daemonLink: changed(current, next, current.sim ? ['transportMode'] : DAEMON_KEYS).length > 0,
    simIgnored: current.sim && changed(current, next, DAEMON_ADDRESS_KEYS).length > 0 ? ['reachy_target'] : [],
    media: !current.noMedia && changed(current, next, MEDIA_KEYS).length > 0,
    restartRequired,
  };
}

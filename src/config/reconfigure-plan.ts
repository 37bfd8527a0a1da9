// What a new configuration changes for a running driver, compared over the WHOLE configuration
// (reconfigurePlan): which live parts restart (mesh, and whether its broker connection itself
// changes; daemon link; media), whether the configured safety policy changed (applied live, through
// the root), and which changed fields need a process restart (by settings-file name). Also what then
// runs: a --sim driver keeps its emulator (`inEffectAfter`), a policy change left out keeps the
// configured policy (`withPolicyKept`). Pure: no I/O; the driver applies the plan. Issue
// "Reconfigure says applied when it did not".
import { createHash } from 'node:crypto';
import { CONFIG_KEYS, type DriverConfig } from './config.ts';

export interface ReconfigurePlan {
  /** The configured safety policy changed: its changed fields are written on the live policy, through the root (audited like set_safety_policy). */
  readonly policy: boolean;
  readonly mesh: boolean;
  /** The broker connection itself changes (brokers, TLS files, credentials): the apply first checks that the new one can be reached. */
  readonly connection: boolean;
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
/** Of MESH_KEYS, those that change what the mesh connects to and how (not only what it says there). */
const CONNECTION_KEYS: ReadonlyArray<Key> = ['messagingUrls', 'tls', 'credentials'];
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
/**
 * Fields applied by restarting the media session (it reconnects to the signalling host and port): a
 * new daemon host moves media too, its signalling host follows.
 */
const MEDIA_KEYS: ReadonlyArray<Key> = ['daemonHost', 'signallingHost', 'signallingPort', 'soundsDir', 'allowOversizeRaw', 'monitors'];
/** Fields the root applies live as one safety policy document (rateLimits is part of it). */
const POLICY_KEYS: ReadonlyArray<Key> = ['safetyPolicy', 'rateLimits'];
/**
 * The configured safety policy by the keys it is configured with (their layers in `sources`, their
 * settings-file names in CONFIG_KEYS): how each reads from a configuration.
 */
const POLICY_PARTS: ReadonlyArray<{ readonly key: string; readonly read: (c: DriverConfig) => unknown }> = [
  { key: 'envelopeFile', read: (c) => c.safetyPolicy.envelope },
  { key: 'maxHeadSpeed', read: (c) => c.safetyPolicy.speed.head_deg_per_s },
  { key: 'maxHeadTranslationSpeed', read: (c) => c.safetyPolicy.speed.head_translation_mm_per_s },
  { key: 'maxBodySpeed', read: (c) => c.safetyPolicy.speed.body_deg_per_s },
  { key: 'maxAntennaSpeed', read: (c) => c.safetyPolicy.speed.antenna_deg_per_s },
  { key: 'speedPolicy', read: (c) => c.safetyPolicy.speed.goto_policy },
  { key: 'realtimeSpeedPolicy', read: (c) => c.safetyPolicy.speed.realtime_policy },
  { key: 'rateLimits', read: (c) => c.safetyPolicy.rate_limits },
  { key: 'deadmanMs', read: (c) => c.safetyPolicy.deadman_ms },
  { key: 'requireApproval', read: (c) => c.safetyPolicy.approval.functions },
  { key: 'approvalTimeoutS', read: (c) => c.safetyPolicy.approval.timeout_s },
];
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

/** The settings-file names (CONFIG_KEYS; the key where none) of the safety-policy fields configured differently in `current` and `next`. */
export function changedPolicyFields(current: DriverConfig, next: DriverConfig): ReadonlyArray<string> {
  const differs = (read: (c: DriverConfig) => unknown) => JSON.stringify(read(current)) !== JSON.stringify(read(next));
  return POLICY_PARTS.filter((part) => differs(part.read)).map((part) => CONFIG_KEYS.find((row) => row.key === part.key)?.settings ?? part.key);
}

/**
 * `after` with the safety policy configured as in `kept` (and the layers it came from): what runs
 * when an apply's policy change was refused while the rest of it was applied, so the page shows the
 * saved policy fields as not in effect and the next apply tries them again.
 */
export function withPolicyKept(after: DriverConfig, kept: DriverConfig): DriverConfig {
  const sources: Record<string, (typeof kept.sources)[string]> = { ...after.sources };
  for (const { key } of POLICY_PARTS) {
    const source = kept.sources[key];
    if (source === undefined) delete sources[key];
    else sources[key] = source;
  }
  return { ...after, safetyPolicy: kept.safetyPolicy, rateLimits: kept.rateLimits, sources: Object.freeze(sources) };
}

/**
 * The plan for applying `next` to a driver running `current`: `restartRequired` names what only a
 * process restart takes (the driver answers RestartRequired); a --sim driver's new daemon address is
 * left out as not in effect (`simIgnored`), the rest applies.
 */
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
    connection: changed(current, next, CONNECTION_KEYS).length > 0,
    daemonLink: changed(current, next, considered(DAEMON_KEYS)).length > 0,
    simIgnored: changed(current, next, [...ignored]).length > 0 ? [DAEMON_ADDRESS_FIELD] : [],
    media: !current.noMedia && changed(current, next, considered(MEDIA_KEYS)).length > 0,
    restartRequired,
  };
}

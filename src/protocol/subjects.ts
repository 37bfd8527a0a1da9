// NATS subject names of the Device Connect protocol (device-connect-protocol.md §1).
// Owns only the naming rules: every subject the driver or its client touches is built here,
// so a typo cannot create a silent second namespace. No I/O.

export const SUBJECT_PREFIX = 'device-connect';

/** `device_id` rule of the Python runtime, minus `.` (a dot breaks one-token `*` wildcards, §1). */
export const DEVICE_ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}$/;
/** Tenants are one subject token too. */
export const TENANT_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,127}$/;
/** Event names accepted by the registry (`EVENT_NAME_PATTERN`, §1). */
export const EVENT_NAME_PATTERN = /^[A-Za-z0-9_-]+$/;

export const subjects = {
  cmd: (tenant: string, deviceId: string) => `${SUBJECT_PREFIX}.${tenant}.${deviceId}.cmd`,
  event: (tenant: string, deviceId: string, name: string) => `${SUBJECT_PREFIX}.${tenant}.${deviceId}.event.${name}`,
  /** Every event of one device (`*` for all devices) — what the MCP bridge subscribes to. */
  events: (tenant: string, deviceId: string) => `${SUBJECT_PREFIX}.${tenant}.${deviceId}.event.>`,
  heartbeat: (tenant: string, deviceId: string) => `${SUBJECT_PREFIX}.${tenant}.${deviceId}.heartbeat`,
  presence: (tenant: string, deviceId: string) => `${SUBJECT_PREFIX}.${tenant}.${deviceId}.presence`,
  allPresence: (tenant: string) => `${SUBJECT_PREFIX}.${tenant}.*.presence`,
  probe: (tenant: string) => `${SUBJECT_PREFIX}.${tenant}.discovery.probe`,
  registry: (tenant: string) => `${SUBJECT_PREFIX}.${tenant}.registry`,
  discovery: (tenant: string) => `${SUBJECT_PREFIX}.${tenant}.discovery`,
  broadcast: (tenant: string) => `${SUBJECT_PREFIX}.${tenant}.broadcast`,
  asyncReply: (tenant: string, deviceId: string, correlationId: string) =>
    `${SUBJECT_PREFIX}.${tenant}.${deviceId}.event.async_reply.${correlationId}`,
  /** Privileged operations (interlock trip/reset, lease revoke); broker ACLs restrict who may publish. */
  supervisor: (tenant: string, deviceId: string) => `${SUBJECT_PREFIX}.${tenant}.${deviceId}.supervisor`,
  /** Append-only safety trail, for a broker-side stream to keep. */
  audit: (tenant: string, deviceId: string) => `${SUBJECT_PREFIX}.${tenant}.${deviceId}.audit`,
  deviceOnline: (tenant: string) => `${SUBJECT_PREFIX}.${tenant}.device.online`,
  deviceOffline: (tenant: string) => `${SUBJECT_PREFIX}.${tenant}.device.offline`,
} as const;

/** Device id carried by a per-device subject (token 3), or undefined for other subjects. */
export function deviceIdOfSubject(subject: string): string | undefined {
  const tokens = subject.split('.');
  return tokens[0] === SUBJECT_PREFIX && tokens.length >= 4 ? tokens[2] : undefined;
}

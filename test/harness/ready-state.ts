// What a test waits for before its first motion command: the driver's daemon link and the robot's
// power, as get_status reports them, in one string (`connected/awake`). Awake alone is not enough:
// the driver reads power over HTTP, and a motion command before the daemon's websocket link is up
// is answered DaemonUnavailable "connecting" (seen under load in CI). Owns that reading only; the
// polling stays with each test (expect.poll or waitFor).

/** `<connection_state>/<power_state>` from a get_status result (`undefined/undefined` before the driver answers). */
export function linkAndPower(result: unknown): string {
  const state = (result as { driver_state?: { connection_state?: unknown; power_state?: unknown } } | undefined)?.driver_state;
  return `${String(state?.connection_state)}/${String(state?.power_state)}`;
}

// The one monotonic clock the driver's deadlines run on (leases, approvals, the dead-man): a robot
// without a real-time clock steps its wall clock when NTP syncs, and a deadline read on that clock
// would end (or stretch) at once. Owns that choice only; wall-clock times stay for what people read.
/** Milliseconds on a clock that never steps (`performance.now()`); only differences mean anything. */
export const monotonicMs = (): number => performance.now();

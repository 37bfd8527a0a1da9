// The driver's version, reported as identity.firmware_version and in the micro-service INFO.
// Kept in sync with package.json by test/unit/version.test.ts. Owns only the constant
// (device-connect-protocol.md §2.5, the registration's identity block).
export const DRIVER_VERSION = '0.1.0';

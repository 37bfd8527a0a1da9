// The driver's version, reported as identity.firmware_version and in the micro-service INFO.
// Kept in sync with package.json by test/unit/version.test.ts.
export const DRIVER_VERSION = '0.1.0';

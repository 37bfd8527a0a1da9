// The rule every text value of the settings file meets, whatever its key: no control characters
// (NUL, newlines, escapes name no file, host or broker, and would break the log lines and paths
// they end up in). One source for both readers of the file: the driver's settings layer
// (config-layers.ts `settingString`) and the settings page's schema (src/settings/settings-schema.ts),
// so the page accepts exactly the text the driver reads. Owns that rule only: what each key means
// and its own checks (paths resolved against the driver's working directory, targets, broker URLs,
// the identity patterns) stay with config.ts. Spec: reference-driver.md §10 (the settings file).

/** Text without C0 control characters or DEL. */
export const SETTINGS_TEXT_PATTERN = /^[^\u0000-\u001f\u007f]*$/;

/** The rule in words, for the driver's error and the page's issue alike. */
export const SETTINGS_TEXT_RULE = 'a string without control characters';

export function isSettingsText(value: string): boolean {
  return SETTINGS_TEXT_PATTERN.test(value);
}

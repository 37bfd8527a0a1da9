// Drives the settings page (src/settings/static) in Debian's Chromium against the real settings
// server: login link, save, validation issues, validate, credentials upload, live status, apply,
// the --sim daemon address marked not used, phone-width layout and the logged-out banner. Owns nothing but temp dirs; never downloads a
// browser (playwright-core with executablePath=/usr/bin/chromium).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium, requireChromium } from '../harness/debian-chromium.ts';
import { createAccount, createUser, encodeUser, fmtCreds } from '@nats-io/jwt';
import { startSettingsServer } from '../../src/adapters/settings-http/settings-server.ts';


type Status = Record<string, unknown>;

let dir: string;
let configDir: string;
let settingsFile: string;
let server: Awaited<ReturnType<typeof startSettingsServer>>;
let context: BrowserContext;
let page: Page;
let status: Status = {
  mesh: 'registering',
  daemon_link: { state: 'connected', since: '2025-01-01T00:00:00Z' },
  power: 'asleep',
  interlock: { state: 'clear' },
  lease: { state: 'free' },
  media: 'disabled',
  last_error: null,
};
const applyCalls: unknown[] = [];
const pageErrors: string[] = [];
let secrets: { jwt: string; seed: string };

/** Evaluates a browser-side expression (a string: the project's tsconfig has no DOM lib). */
async function inPage<T>(expression: string): Promise<T> {
  return (await page.evaluate(expression)) as T;
}

async function messageText(selector: string): Promise<string> {
  return (await page.locator(selector).textContent()) ?? '';
}

beforeAll(async () => {
  requireChromium();
  dir = mkdtempSync(join(tmpdir(), 'settings-page-'));
  configDir = join(dir, 'config');
  settingsFile = join(configDir, 'device_connect_app.json');
  server = await startSettingsServer({
    configDir,
    settingsFile,
    host: '127.0.0.1',
    port: 0,
    argv: ['--sim'],
    env: {},
    status: () => status,
    apply: async () => {
      applyCalls.push(Date.now());
      return { ok: true, message: 'driver restarted with the saved settings' };
    },
  });
  context = await launchChromium(join(dir, 'chromium-profile'));
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(server.loginUrl);
  await page.waitForURL(`${server.url}/`);
  await page.locator('#form-message', { hasText: 'Settings loaded.' }).waitFor();
});

afterAll(async () => {
  await context?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('settings page in Chromium', () => {
  test('the page has the reference title, heading, fields and sections, each with a label', async () => {
    expect(await page.title()).toBe('Device Connect Driver');
    expect(await page.locator('h1').textContent()).toBe('Reachy Mini — Device Connect');
    expect(await page.locator('summary').textContent()).toBe('Advanced (non-portal broker)');
    const transport = await inPage<string[]>(`[...document.querySelectorAll('#transport_mode option')].map((o) => o.value)`);
    expect(transport.sort()).toEqual(['auto', 'http', 'websocket']);
    const unlabelled = await inPage<string[]>(`[...document.querySelectorAll('input, select')].filter((e) => e.labels.length === 0).map((e) => e.id)`);
    expect(unlabelled).toEqual([]);
    expect(await page.locator('main').textContent()).toContain('flags > environment > settings file > defaults');
    // Source badges come from /api/effective.
    await expect.poll(() => messageText('#tenant-source')).toMatch(/^(flag|env|settings|credentials|default|derived)$/);
  });

  test('editing the tenant and saving writes the settings file and reports success', async () => {
    const appliedBefore = applyCalls.length;
    await page.fill('#tenant', 'lab-tenant');
    await page.click('#save-button');
    // PUT /api/settings saves and then runs the apply callback; the page reports both.
    await expect.poll(() => messageText('#form-message')).toBe('Saved and applied: driver restarted with the saved settings.');
    expect(applyCalls.length).toBe(appliedBefore + 1);
    const onDisk = JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
    expect(onDisk.tenant).toBe('lab-tenant');
    await expect.poll(() => messageText('#tenant-source')).toBe('settings');
  });

  test('with --sim the Reachy daemon field says the emulator is used, not the address shown; the address stays editable', async () => {
    await expect.poll(() => messageText('#reachy_target-source')).toBe('not in effect');
    expect(await messageText('#reachy_target-effective')).toMatch(/^not used while simulation is on: the driver will run on its embedded emulator/);
    // The field holds the configured address (not the emulator's `sim`); a default is no saved value left out.
    expect(await page.inputValue('#reachy_target')).toBe('reachy-mini.local:8000');
    expect(await messageText('#effective-message')).not.toMatch(/Some saved values are not in effect/);
  });

  test('the camera and microphone policy: chosen in its select, saved as media_policy', async () => {
    const choices = await inPage<string[]>(`[...document.querySelectorAll('#media_policy option')].map((o) => o.value)`);
    expect(choices).toEqual(['allow', 'supervisor', 'deny']);
    await page.selectOption('#media_policy', 'supervisor');
    await page.click('#save-button');
    await expect.poll(() => messageText('#form-message')).toBe('Saved and applied: driver restarted with the saved settings.');
    expect((JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, unknown>).media_policy).toBe('supervisor');
    await expect.poll(() => messageText('#media_policy-source')).toBe('settings');
  });

  test('a refused save shows the issue next to its field, and server text is never parsed as HTML', async () => {
    await page.fill('#device_id', '<img src=x onerror="window.__xss=1">');
    await page.click('#save-button');
    await expect.poll(() => messageText('#form-message')).toMatch(/^Not saved/);
    await expect.poll(() => page.locator('#device_id-error').isVisible()).toBe(true);
    expect((await messageText('#device_id-error')).length).toBeGreaterThan(0);
    expect(await page.getAttribute('#device_id', 'aria-invalid')).toBe('true');
    expect(await inPage<unknown>('window.__xss')).toBeUndefined();
    expect(await page.locator('img').count()).toBe(0);
    const onDisk = JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
    // Only changed keys are saved; the refused value never reached the file.
    expect(String(onDisk.device_id ?? '')).not.toContain('<img');
    await page.fill('#device_id', '');
  });

  test('Validate shows the result', async () => {
    await page.click('#validate-button');
    await expect.poll(() => messageText('#form-message')).toMatch(/^(Valid|Not valid)/);
    expect(await page.locator('#device_id-error').isVisible()).toBe(false);
  });

  test('uploading a .creds file shows the stored path and fingerprint, never the secrets, and applies it', async () => {
    const appliedBefore = applyCalls.length;
    const user = createUser();
    const jwt = await encodeUser('reachy', user, createAccount());
    secrets = { jwt, seed: new TextDecoder().decode(user.getSeed()) };
    const credsPath = join(dir, 'device.creds');
    writeFileSync(credsPath, fmtCreds(jwt, user));
    await page.setInputFiles('#upload-file', credsPath);
    await page.click('#upload-button');
    await expect.poll(() => messageText('#upload-message')).toBe('Credentials stored and applied: driver restarted with the saved settings.');
    expect(applyCalls.length).toBe(appliedBefore + 1);
    const storedPath = await messageText('#upload-path');
    const fingerprint = await messageText('#upload-fingerprint');
    expect(storedPath).toContain(configDir);
    expect(storedPath.endsWith('device.creds')).toBe(true);
    expect(existsSync(storedPath)).toBe(true);
    expect(fingerprint.length).toBeGreaterThan(8);
    // The page reloads the settings after the upload message (refresh), so the field fills a moment later.
    await expect.poll(() => page.inputValue('#nats_credentials_file')).toBe(storedPath);
    const html = await page.content();
    expect(html).not.toContain(secrets.seed);
    expect(html).not.toContain(secrets.jwt);
    expect(await inPage<number>(`document.getElementById('upload-progress').value`)).toBe(100);
  });

  test('a file that is too large is refused before it is sent', async () => {
    const big = join(dir, 'big.json');
    writeFileSync(big, `{"pad":"${'x'.repeat(300 * 1024)}"}`);
    await page.setInputFiles('#upload-file', big);
    await page.click('#upload-button');
    await expect.poll(() => messageText('#upload-message')).toMatch(/too large.*256 KiB/);
  });

  test('the live status panel follows the status callback', async () => {
    await expect.poll(() => messageText('#status-list dd[data-key="mesh"]')).toBe('registering');
    status = { ...status, mesh: 'registered', power: 'awake', last_error: 'daemon timeout' };
    await expect.poll(() => messageText('#status-list dd[data-key="mesh"]'), { timeout: 6000 }).toBe('registered');
    expect(await messageText('#status-list dd[data-key="power"]')).toBe('awake');
    expect(await messageText('#status-list dd[data-key="last_error"]')).toBe('daemon timeout');
  });

  test('the safety envelope: refused per axis under its table, saved with only the axes filled in, configured apart from in force', async () => {
    await page.fill('#device_id', '');
    await page.fill('#envelope-head_pitch_deg-min', '10');
    await page.fill('#envelope-head_pitch_deg-max', '-10');
    await page.click('#save-button');
    await expect.poll(() => messageText('#form-message')).toMatch(/^Not saved/);
    await expect.poll(() => page.locator('#safety_envelope-error').isVisible()).toBe(true);
    expect(await messageText('#safety_envelope-error')).toMatch(/head_pitch_deg min must not be above max/);
    const applied = applyCalls.length;
    await page.fill('#envelope-head_pitch_deg-min', '-10');
    await page.fill('#envelope-head_pitch_deg-max', '30');
    await page.click('#save-button');
    await expect.poll(() => applyCalls.length).toBe(applied + 1);
    expect(JSON.parse(readFileSync(settingsFile, 'utf8')).safety_envelope).toEqual({ head_pitch_deg: { min: -10, max: 30 } });
    await expect.poll(() => messageText('#safety_envelope-effective')).toBe('configured: head_pitch_deg -10 … 30 (from the settings file); the envelope in force is under Live status');
    expect(await messageText('#safety_envelope-source')).toBe('settings');
    // The live status shows the envelope in force (the supervisor may have changed it since).
    status = { ...status, safety_envelope: { head_pitch_deg: { min: -20, max: 20 } } };
    await expect.poll(() => messageText('#status-list dd[data-key="safety_envelope"]'), { timeout: 6000 }).toBe('head_pitch_deg -20 … 20');
    // Both boxes blank: the key is left out (the mechanical ranges).
    await page.fill('#envelope-head_pitch_deg-min', '');
    await page.fill('#envelope-head_pitch_deg-max', '');
    await page.click('#save-button');
    await expect.poll(() => applyCalls.length).toBe(applied + 2);
    expect('safety_envelope' in JSON.parse(readFileSync(settingsFile, 'utf8'))).toBe(false);
    await expect.poll(() => messageText('#safety_envelope-effective')).toBe('configured: the mechanical ranges (the built-in default); the envelope in force is under Live status');
  });

  test('Apply calls the apply callback and reports it', async () => {
    const before = applyCalls.length;
    await page.click('#apply-button');
    await expect.poll(() => messageText('#form-message')).toBe('Applied: driver restarted with the saved settings.');
    expect(applyCalls.length).toBe(before + 1);
  });

  test('keyboard: Tab reaches the controls in order and focus is visible', async () => {
    await page.focus('#tenant');
    await page.keyboard.press('Tab');
    expect(await inPage<string>('document.activeElement.id')).toBe('reachy_target');
    const outline = await inPage<string>('getComputedStyle(document.activeElement).outlineStyle');
    expect(outline).not.toBe('none');
  });

  test('at phone width (375×740) there is no horizontal scrollbar', async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    await page.click('summary');
    const widths = await inPage<{ scroll: number; client: number }>('({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })');
    expect(widths.scroll).toBeLessThanOrEqual(widths.client);
    const shot = join(tmpdir(), `settings-page-375-${process.pid}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    expect(readFileSync(shot).length).toBeGreaterThan(1000);
    console.log(`settings page screenshot: ${shot}`);
  });

  test('without the session cookie the page says how to log in', async () => {
    await context.clearCookies();
    await page.reload();
    await page.locator('#auth-banner').waitFor({ state: 'visible' });
    expect(await messageText('#auth-banner')).toContain("login link printed in the driver's log");
    expect(pageErrors).toEqual([]);
  });
});

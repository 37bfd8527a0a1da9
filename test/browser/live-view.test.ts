// The settings app of a real running driver (`run --settings --sim`, real nats-server, real
// emulator) in Debian's Chromium with the outside network unreachable (every name but loopback
// fails to resolve, and any request to another origin is recorded and aborted): the settings page
// is pre-filled with the values of the mode actually running, a save writes only the changed field,
// a save the driver cannot apply shows "not in effect" and Live status agrees; the live view
// (/live.html) loads with no external resource and shows the interlock trip after an
// emergency_stop over NATS, live; a used login link shows a page, not JSON. Never downloads a browser (playwright-core + /usr/bin/chromium).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import type { NatsConnection } from '@nats-io/nats-core';
import { startWithSettings, type AppHandle } from '../../src/app-mode.ts';
import { launchChromium, requireChromium } from '../harness/debian-chromium.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { fakeRegistry, openClient, rpc } from '../harness/mesh-peer.ts';

/** The robot LAN without the internet: no name but loopback resolves. */
const OFFLINE_ARGS = ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'];

let dir: string;
let settingsFile: string;
let nats: NatsServerHandle;
let nc: NatsConnection;
let app: AppHandle;
let context: BrowserContext;
let page: Page;
const outside: string[] = [];
const pageErrors: string[] = [];

async function text(selector: string): Promise<string> {
  return (await page.locator(selector).first().textContent()) ?? '';
}

beforeAll(async () => {
  requireChromium();
  dir = mkdtempSync(join(tmpdir(), 'live-view-'));
  const configDir = join(dir, 'config');
  settingsFile = join(configDir, 'settings.json');
  mkdirSync(configDir, { recursive: true, mode: 0o700 });
  // Saved before the start: media off (a field a running driver can only change at its next start).
  writeFileSync(settingsFile, JSON.stringify({ no_media: true }, null, 2) + '\n', { mode: 0o600 });
  nats = await startNatsServer();
  nc = await openClient(nats.url);
  fakeRegistry(nc);
  await nc.flush();
  const lines: string[] = [];
  app = await startWithSettings(
    {
      argv: ['run', '--settings', '--sim', '--sim-time-scale', '0.05', '--messaging-url', nats.url, '--settings-port', '0', '--config-dir', configDir, '--settings-file', settingsFile],
      env: { HOME: dir, REACHY_AUDIT_LOG: 'none', DEVICE_CONNECT_REGISTER_JITTER: '0', PATH: process.env.PATH ?? '' },
    },
    (line) => lines.push(line),
  );
  expect(app.driver()).toBeDefined();
  expect(lines.join('\n')).toContain('/live.html');
  context = await launchChromium(join(dir, 'chromium-profile'), OFFLINE_ARGS);
  const origin = new URL(app.settings.url).origin;
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin + '/') || url.startsWith('data:')) return route.continue();
    outside.push(url);
    return route.abort('internetdisconnected');
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(app.settings.loginUrl);
  await page.waitForURL(`${app.settings.url}/`);
  await page.locator('#form-message', { hasText: 'Settings loaded.' }).waitFor();
}, 60_000);

afterAll(async () => {
  await context?.close();
  await app?.stop();
  await nc?.close();
  await nats?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('settings page of a running --sim driver', () => {
  test('the form shows the values of the mode actually running, not the app-mode defaults', async () => {
    expect(await page.isChecked('#simulate')).toBe(true);
    expect(await text('#simulate-source')).toBe('flag');
    expect(await page.inputValue('#transport_mode')).toBe('auto');
    expect(await page.inputValue('#device_id')).toBe('reachy-mini-sim-1');
    expect(await page.isChecked('#no_media')).toBe(true);
    expect(await page.isChecked('#allow_insecure')).toBe(true);
    expect(await text('#allow_insecure-source')).toBe('derived');
  });

  test('Save with nothing changed writes nothing', async () => {
    const before = readFileSync(settingsFile, 'utf8');
    await page.click('#save-button');
    await expect.poll(() => text('#form-message')).toBe('Nothing to save: no field was changed.');
    expect(readFileSync(settingsFile, 'utf8')).toBe(before);
  });

  test('a save the driver cannot apply: the file has only that change, the field says "not in effect", Live status agrees', async () => {
    await page.uncheck('#no_media');
    await page.click('#save-button');
    await expect.poll(() => text('#form-message')).toMatch(/^Saved, but not applied: “Disable SDK media” can only change when the driver restarts/);
    expect(await text('#form-message')).not.toMatch(/[A-Z]{4,}_[A-Z_]+|--[a-z]/);
    // Only the changed key; untouched boxes (allow_insecure, simulate…) were not written as false.
    expect(JSON.parse(readFileSync(settingsFile, 'utf8'))).toEqual({ no_media: false });
    await expect.poll(() => text('#no_media-source')).toBe('not in effect');
    expect(await text('#no_media-effective')).toContain('the driver uses true');
    expect(await page.isChecked('#no_media')).toBe(false);
    await expect.poll(() => text('#status-list dd[data-key="media"]')).toBe('disabled');
    expect(await text('#no_media-error')).toContain('takes effect when the driver restarts');
  });
});

describe('offline live view', () => {
  test('loads with no external resource and shows every machine with its state', async () => {
    await page.goto(`${app.settings.url}/live.html`);
    await expect.poll(() => text('#live-status')).toMatch(/^live/);
    for (const machine of ['interlock', 'motion', 'power', 'lease', 'connection', 'mesh']) {
      await expect.poll(() => page.locator(`[data-actor="${machine}"]`).count(), { message: machine }).toBe(1);
    }
    expect(await text('[data-actor="interlock"] .state')).toBe('safe');
  });

  test('an emergency_stop over NATS shows the interlock tripped, live, with the event listed', async () => {
    const reply = await rpc(nc, 'device-connect.default.reachy-mini-sim-1.cmd', { jsonrpc: '2.0', id: 'estop-1', method: 'emergency_stop', params: { reason: 'live view test' } });
    expect(reply.error).toBeUndefined();
    await expect.poll(() => text('[data-actor="interlock"] .state'), { timeout: 5_000 }).toBe('tripped');
    expect(await page.locator('#live-events li').count()).toBeGreaterThan(0);
    const html = await page.content();
    expect(html).not.toContain(readFileSync(join(dir, 'config', 'settings-token'), 'utf8').trim());
  });

  test('a used login link opened in a logged-out browser shows a page saying how to get a new one', async () => {
    await context.clearCookies();
    await page.goto(app.settings.loginUrl);
    await page.locator('#used-link').waitFor();
    expect(await text('h2')).toBe('This login link cannot be used');
    expect(await text('#used-link pre')).toBe('npx reachy-mini-driver settings-link');
  });

  test('nothing outside the settings server was requested and the pages ran without errors', () => {
    expect(outside).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

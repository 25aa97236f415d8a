import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { BACKENDS, codeAt } from 'bastion/testing';
import { createUser } from './helpers/session-checks.js';
import { nextClientIp, openSession, startListeningApp, useBrowser, type BrowserSession } from './helpers/chromium.js';

// Two-factor sign-in in real Chromium, every page watched (CSP, console, errors): a member sets
// up an authenticator app from /settings/security (the key read off the page, the code computed
// as an app would, with otpauth), saves the recovery codes, signs out, and signs in with the
// password and then a code. Screenshots of each new page at desktop and phone width.

const browser = useBrowser();
const STEP = 30_000;

async function submit(session: BrowserSession, page: Page, button: string, expectPath: (path: string) => boolean): Promise<void> {
  await Promise.all([page.waitForURL((url) => expectPath(url.pathname), { waitUntil: 'load' }), page.click(button)]);
  await session.settle(page);
}

for (const backend of BACKENDS) {
  test(`[${backend}] a member sets up an authenticator app, saves the recovery codes, signs out and signs in with password and code`, async (t) => {
    const target = await startListeningApp(t, backend);
    const user = await createUser(target.runtime);
    const session = await openSession(t, browser(), target, { clientIp: nextClientIp() });
    const page = await session.newPage();

    await session.visit(page, '/login');
    await page.fill('input[name=email]', user.email);
    await page.fill('input[name=password]', user.password);
    await submit(session, page, 'form.stack button[type=submit]', (p) => p === '/');

    await session.visit(page, '/settings');
    await submit(session, page, 'a[href="/settings/security"]', (p) => p === '/settings/security');
    assert.match((await page.locator('.security-page').textContent()) ?? '', /Off\./);
    await session.screenshot(page, 'two-factor-security-off');

    await submit(session, page, 'form[action="/settings/security/totp/start"] button', (p) => p === '/settings/security/totp');
    // The QR code is an SVG drawn on the server, shown through img-src data: (the CSP unchanged).
    assert.ok(
      await page.locator('img.qr-code').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0),
      'the QR code image loaded',
    );
    const secret = ((await page.locator('.totp-secret').textContent()) ?? '').replaceAll(' ', '');
    assert.match(secret, /^[A-Z2-7]{32}$/);
    await session.screenshot(page, 'two-factor-enrol');
    await page.fill('input[name=code]', codeAt(secret, Date.now()));
    await submit(session, page, 'form.stack button[type=submit]', (p) => p === '/settings/security/totp');
    assert.equal(await page.locator('h1').textContent(), 'Your recovery codes');
    assert.equal(await page.locator('.recovery-codes li').count(), 10);
    await session.screenshot(page, 'two-factor-recovery-codes');

    await submit(session, page, 'a[href="/settings/security"]', (p) => p === '/settings/security');
    assert.match((await page.locator('.security-page').textContent()) ?? '', /On\.[\s\S]*10 of your recovery codes are left/);
    await session.screenshot(page, 'two-factor-security-on');

    await submit(session, page, 'form[action="/logout"] button', (p) => p === '/');
    await session.visit(page, '/login');
    await page.fill('input[name=email]', user.email);
    await page.fill('input[name=password]', user.password);
    await submit(session, page, 'form.stack button[type=submit]', (p) => p === '/login/two-factor');
    await session.screenshot(page, 'two-factor-login');
    // The step after the one the enrolment took (within the ±1 window): a code is taken once.
    await page.fill('input[name=code]', codeAt(secret, Date.now() + STEP));
    await submit(session, page, 'form.stack button[type=submit]', (p) => p === '/');
    assert.equal(await page.locator(`.nav-links a[href="/profile/${user.username}"]`).count(), 1, 'signed in with password and code');
    session.assertClean('the two-factor journey');
  });
}

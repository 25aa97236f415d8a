import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { BACKENDS, REAUTH_WINDOW_MS } from 'bastion/testing';
import { createUser } from './helpers/session-checks.js';
import { nextClientIp, openSession, startListeningApp, useBrowser, type BrowserSession } from './helpers/chromium.js';

// Re-authentication in real Chromium, JavaScript on and every page watched (CSP, console): a
// member whose sign-in is over 10 minutes old revokes an API token from /settings, is asked to
// confirm their identity (the way back is the page the form was on, from the browser's own
// Referer), mistypes, confirms, submits again, and the token is gone. Screenshots of the
// /reauthenticate page at desktop and phone width.

const browser = useBrowser();

async function submit(session: BrowserSession, page: Page, button: string, expectPath: (path: string) => boolean): Promise<void> {
  await Promise.all([page.waitForURL((url) => expectPath(url.pathname), { waitUntil: 'load' }), page.click(button)]);
  await session.settle(page);
}

for (const backend of BACKENDS) {
  test(`[${backend}] a stale sign-in revoking an API token is asked for its password first, comes back to /settings and revokes on the second submit`, async (t) => {
    const clock = { ms: Date.now() };
    const target = await startListeningApp(t, backend, {}, { now: () => clock.ms });
    const member = await createUser(target.runtime);
    const token = await target.app.apiTokens.issue(member.id);
    const session = await openSession(t, browser(), target, { clientIp: nextClientIp() });
    const page = await session.newPage();

    await session.visit(page, '/login');
    await page.fill('input[name=email]', member.email);
    await page.fill('input[name=password]', member.password);
    await submit(session, page, 'form.stack button[type=submit]', (p) => p === '/');

    clock.ms += REAUTH_WINDOW_MS + 60_000;
    await session.visit(page, '/settings');
    await submit(session, page, 'form[action="/settings/tokens/revoke"] button[type=submit]', (p) => p === '/reauthenticate');
    assert.equal(new URL(page.url()).search, '?next=%2Fsettings&resubmit=1', 'the way back is the form’s own page');
    assert.equal(await page.locator('h1').textContent(), 'Confirm your identity');
    assert.match(
      (await page.locator('.notice').textContent()) ?? '',
      /Your form was not sent\. Confirm your identity, then submit it again\./,
    );
    assert.notEqual(await target.app.apiTokens.authenticate(token), null, 'nothing revoked yet');
    await session.screenshot(page, 'reauth-prompt');

    await page.fill('input[name=password]', 'not my password at all');
    await submit(session, page, 'form.stack button[type=submit]', (p) => p === '/reauthenticate');
    assert.match((await page.locator('.errors').textContent()) ?? '', /The password is incorrect\./);
    // The refusal is a 422 page, which Chromium reports on its console: that one, and nothing else.
    const problems = session.fresh();
    assert.deepEqual(
      problems.map((p) => p.detail.includes('status of 422')),
      [true],
      JSON.stringify(problems),
    );
    session.problems.splice(0, session.problems.length);
    await session.screenshot(page, 'reauth-wrong-password');

    await page.fill('input[name=password]', member.password);
    await submit(session, page, 'form.stack button[type=submit]', (p) => p === '/settings');
    await submit(session, page, 'form[action="/settings/tokens/revoke"] button[type=submit]', (p) => p === '/settings');
    assert.match((await page.locator('.notice').first().textContent()) ?? '', /The API token was revoked\./);
    assert.equal(await target.app.apiTokens.authenticate(token), null);
  });
}

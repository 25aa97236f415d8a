import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ParsedMail } from 'mailparser';
import type { Page } from 'playwright-core';
import { BACKENDS, outboxMailsTo, recordMailFailure } from 'bastion/testing';
import { ApiClient, nextClientIp, openSession, startListeningApp, useBrowser, type BrowserSession } from './helpers/chromium.js';

// The reset journey in real Chromium: sign-in page → "Forgot password?" → the mail (read from
// the development outbox, DATA_DIR/outbox/*.eml, where the app writes without SMTP_URL) → its
// link → the token-free form → a new password → signed in. Every page is watched for CSP
// violations and errors; screenshots of the new pages at desktop and phone width.

const browser = useBrowser();

async function submit(session: BrowserSession, page: Page, button: string, expectPath: (path: string) => boolean): Promise<void> {
  await Promise.all([page.waitForURL((url) => expectPath(url.pathname), { waitUntil: 'load' }), page.click(button)]);
  await session.settle(page);
}

const isResetMail = (mail: ParsedMail): boolean => /\/password\/reset\/[\w-]{43}/.test(String(mail.text));

for (const backend of BACKENDS) {
  test(`[${backend}] in Chromium: forgot → mail → reset link → token-free form → new password → signed in`, async (t) => {
    const target = await startListeningApp(t, backend);
    const owner = await new ApiClient(target.baseUrl).register('resetter');
    const session = await openSession(t, browser(), target, { clientIp: nextClientIp() });
    const page = await session.newPage();

    await session.visit(page, '/login');
    await submit(session, page, 'a[href="/password/forgot"]', (p) => p === '/password/forgot');
    await session.screenshot(page, 'reset-forgot');
    await page.fill('input[name=email]', owner.email);
    await submit(session, page, 'form.stack button[type=submit]', (p) => p === '/password/forgot');
    assert.match(await page.locator('.notice').innerText(), /a link to choose a new password is on its way/);
    await session.screenshot(page, 'reset-sent');

    await target.app.passwordResets.settled();
    // The API's sign-up mailed a confirmation link first: the reset mail is the one with a reset link.
    const resets = (await outboxMailsTo(target.app, owner.email)).filter(isResetMail);
    assert.equal(resets.length, 1, 'one reset mail in the outbox');
    const mail = resets[0]!;
    const link = /(http:\/\/127\.0\.0\.1:\d+\/password\/reset\/[\w-]{43})/.exec(String(mail.text))?.[1];
    assert.ok(link, 'the mail carries the reset link to this site');

    const opened = await page.goto(link, { waitUntil: 'load' });
    await session.settle(page);
    assert.equal(new URL(page.url()).pathname, '/password/reset', 'the browser ends on the token-free page');
    assert.equal(opened?.status(), 200);
    const held = (await session.context.cookies(target.baseUrl + '/password/reset')).find((c) => c.name === 'reset');
    assert.ok(held?.httpOnly, 'the token waits in an HttpOnly cookie');
    assert.equal(await page.evaluate(() => document.cookie.includes('reset=')), false, 'script cannot read it');
    await session.screenshot(page, 'reset-form');

    const newPassword = 'a sentence nobody else knows 2027';
    await page.fill('input[name=password]', newPassword);
    await submit(session, page, 'form.stack button[type=submit]', (p) => p === '/');
    assert.equal(await page.locator(`.nav-links a[href="/profile/${owner.username}"]`).count(), 1, 'signed in after the reset');

    // The same link again: one message, a way to ask for another.
    await page.goto(link, { waitUntil: 'load' });
    await session.settle(page);
    assert.match(await page.locator('.errors').innerText(), /This link is invalid or has expired/);
    await session.screenshot(page, 'reset-invalid');

    const login = await new ApiClient(target.baseUrl).request('POST', '/api/users/login', {
      user: { email: owner.email, password: newPassword },
    });
    assert.equal(login.status, 200, 'the new password works');
    session.assertClean('the reset journey');
  });

  test(`[${backend}] in Chromium: an admin sends a user a reset mail from /admin and reads /admin/mail`, async (t) => {
    const target = await startListeningApp(t, backend);
    const client = new ApiClient(target.baseUrl);
    const admin = await client.register('admin');
    const user = await client.register('forgetful');
    await target.runtime.db.kysely.updateTable('users').set({ role: 'admin' }).where('username', '=', admin.username).execute();
    // One given-up mail for the page to show (the real failure path is proved in admin-reset-mail.test.ts).
    await recordMailFailure(target.runtime.db, {
      mailId: 'f0e1d2c3',
      template: 'password-reset',
      recipient: user.email,
      attempts: 5,
      reason: 'retries-exhausted',
      error: 'ECONNECTION',
    });

    const session = await openSession(t, browser(), target, { clientIp: nextClientIp() });
    const page = await session.newPage();
    await session.visit(page, '/login');
    await page.fill('input[name=email]', admin.email);
    await page.fill('input[name=password]', admin.password);
    await submit(session, page, 'form.stack button[type=submit]', (p) => p === '/');
    await session.visit(page, `/admin?q=${user.username}`);
    await submit(session, page, 'form[action$="/reset-mail"] button[type=submit]', (p) => p === '/admin');
    assert.match(await page.locator('.notice').innerText(), /A password reset mail was queued/);
    await session.screenshot(page, 'admin-reset-mail');
    await target.app.passwordResets.settled();
    assert.equal((await outboxMailsTo(target.app, user.email)).filter(isResetMail).length, 1, 'the mail went out');

    await session.visit(page, '/admin/mail');
    const row = page.locator('table.admin-mail tbody tr');
    assert.equal(await row.count(), 1);
    assert.match(
      await row.innerText(),
      new RegExp(`password-reset[\\s\\S]*${user.email.replace(/[.+]/g, '\\$&')}[\\s\\S]*retries-exhausted`),
    );
    await session.screenshot(page, 'admin-mail');
    session.assertClean('the admin pages');
  });
}
